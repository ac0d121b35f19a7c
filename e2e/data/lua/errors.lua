-- Errors: error with strings and tables, pcall/xpcall, levels, rethrow, error in metamethods,
-- runtime errors from the VM.
local function thrower(kind)
  if kind == 1 then error("plain message") end
  if kind == 2 then error({code = 42, why = "table error"}) end
  if kind == 3 then error("no position", 0) end
  if kind == 4 then local t = nil; return t.field end
  if kind == 5 then return 1 + {} end
  if kind == 6 then error() end
  return "no error"
end
for k = 1, 7 do
  local ok, e = pcall(thrower, k)
  if type(e) == "table" then e = "table code=" .. e.code .. " why=" .. e.why end
  print(k, ok, tostring(e))
end

local function handler(e) return "handled: " .. tostring(e):gsub("^.-:%d+: ", "") end
print(xpcall(thrower, handler, 1))
print(xpcall(function() return "fine", 2 end, handler))

-- Rethrow through several levels, collecting a trail.
local trail = {}
local function level(n)
  if n == 0 then error({depth = 0}) end
  local ok, e = pcall(level, n - 1)
  trail[#trail + 1] = n
  e.depth = e.depth + 1
  error(e)
end
local ok, e = pcall(level, 5)
print("rethrow", ok, e.depth, table.concat(trail, ","))

-- Error objects with metatables.
local E = {__tostring = function(self) return "E<" .. self.msg .. ">" end}
local ok2, e2 = pcall(function() error(setmetatable({msg = "custom"}, E)) end)
print("custom", ok2, tostring(e2), getmetatable(e2) == E)

-- Errors inside metamethods and inside table.sort comparators.
local bad = setmetatable({}, {__index = function(_, k) error("no key " .. k) end})
print(pcall(function() return bad.missing end))
print(select("#", pcall(error)))
local ok3, e3 = pcall(table.sort, {3, 2, 1}, function(a, b) error("cmp fails") end)
print("sort error", ok3, (e3:gsub("^.-:%d+: ", "")))
print("assert", pcall(assert, false, "assert msg"), pcall(assert, 1 == 1, "unused"))
print("tostring nil concat", pcall(function() return "a" .. nil end))
