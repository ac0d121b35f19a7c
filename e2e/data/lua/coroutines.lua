-- Coroutines: generators, passing values in and out, wrap, status, nested coroutines.
local function gen(n)
  return coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i * i) end
    return "done"
  end)
end
local g = gen(5)
local got = {}
for _ = 1, 6 do got[#got + 1] = tostring(g()) end
print("wrap", table.concat(got, " "))

local co = coroutine.create(function(a, b)
  local c = coroutine.yield(a + b)
  local d, e = coroutine.yield(c * 2)
  return d + e, "end"
end)
print("resume1", coroutine.resume(co, 1, 2))
print("resume2", coroutine.resume(co, 10))
print("resume3", coroutine.resume(co, 3, 4))
print("status", coroutine.status(co))
print("resume dead", coroutine.resume(co))

-- A producer/consumer pipeline through a filter, all coroutines.
local function producer()
  return coroutine.create(function()
    for i = 1, 30 do coroutine.yield(i) end
  end)
end
local function filter(src)
  return coroutine.create(function()
    while true do
      local ok, v = coroutine.resume(src)
      if not v then return end
      if v % 3 ~= 0 then coroutine.yield(v * 10) end
    end
  end)
end
local f = filter(producer())
local total, count = 0, 0
while true do
  local ok, v = coroutine.resume(f)
  if not v then break end
  total, count = total + v, count + 1
end
print("pipeline", count, total)

-- Nested: a coroutine that runs another to completion on each step.
local outer = coroutine.wrap(function()
  for i = 1, 3 do
    local inner = coroutine.wrap(function() for j = 1, i do coroutine.yield(j) end end)
    local s = 0
    for _ = 1, i do s = s + inner() end
    coroutine.yield(s)
  end
end)
print("nested", outer(), outer(), outer())
print("isyieldable main", coroutine.isyieldable())
