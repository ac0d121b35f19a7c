-- A small object system and data structures: a priority queue (binary heap) driving a
-- simulation, a linked list and a string builder.
local Heap = {}
Heap.__index = Heap
function Heap.new(cmp) return setmetatable({n = 0, cmp = cmp or function(a, b) return a < b end}, Heap) end
function Heap:push(v)
  self.n = self.n + 1
  local i = self.n
  self[i] = v
  while i > 1 do
    local p = i // 2
    if self.cmp(self[i], self[p]) then self[i], self[p] = self[p], self[i]; i = p else break end
  end
end
function Heap:pop()
  if self.n == 0 then return nil end
  local top = self[1]
  self[1] = self[self.n]
  self[self.n] = nil
  self.n = self.n - 1
  local i = 1
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= self.n and self.cmp(self[l], self[m]) then m = l end
    if r <= self.n and self.cmp(self[r], self[m]) then m = r end
    if m == i then break end
    self[i], self[m] = self[m], self[i]
    i = m
  end
  return top
end

-- Event simulation: events ordered by time, then by id.
local h = Heap.new(function(a, b) if a.t ~= b.t then return a.t < b.t end return a.id < b.id end)
local id = 0
local function schedule(t, kind) id = id + 1; h:push({t = t, id = id, kind = kind}) end
for i = 1, 10 do schedule(i * 7 % 13, "start") end
local log, processed = {}, 0
while true do
  local e = h:pop()
  if not e then break end
  processed = processed + 1
  if e.kind == "start" and e.t < 40 then schedule(e.t + e.id % 5 + 1, e.id % 2 == 0 and "start" or "stop") end
  if processed % 7 == 0 then log[#log + 1] = e.t .. e.kind:sub(1, 2) end
end
print("events", processed, table.concat(log, " "))

-- Linked list with reversal.
local list = nil
for i = 1, 10 do list = {v = i, next = list} end
local rev = nil
while list do local nx = list.next; list.next = rev; rev = list; list = nx end
local vals = {}
local node = rev
while node do vals[#vals + 1] = node.v; node = node.next end
print("list", table.concat(vals, ","))

local SB = {}
SB.__index = SB
function SB.new() return setmetatable({parts = {}}, SB) end
function SB:add(...) for _, p in ipairs({...}) do self.parts[#self.parts + 1] = tostring(p) end return self end
function SB:build(sep) return table.concat(self.parts, sep or "") end
print(SB.new():add("a", 1, true):add(2.5):build("+"))
