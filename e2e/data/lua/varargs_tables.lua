-- Varargs, multiple returns, select, table.pack/unpack, table library functions, integer and
-- float arithmetic, math library (deterministic parts only).
local function stats(...)
  local n = select("#", ...)
  local s, mn, mx = 0, math.huge, -math.huge
  for i = 1, n do
    local v = select(i, ...)
    s = s + v
    mn, mx = math.min(mn, v), math.max(mx, v)
  end
  return n, s, mn, mx
end
print(stats(3, 1, 4, 1, 5, 9, 2, 6))
local packed = table.pack(stats(10, 20))
print(packed.n, table.unpack(packed, 1, packed.n))
print(select(-2, "a", "b", "c"), select(2, "a", "b", "c"))

local t = {}
for i = 1, 10 do table.insert(t, i * 3) end
table.insert(t, 1, 0)
print(table.remove(t), table.remove(t, 1), #t, table.concat(t, ","))
print(table.concat(table.move({1, 2, 3, 4, 5}, 2, 4, 1), ","))
print(table.unpack({1, 2, nil, 4}, 1, 4))

print(math.floor(-3.5), math.ceil(-3.5), math.fmod(7, 3), math.abs(-2 ^ 63), math.tointeger(5.0), math.type(1), math.type(1.0), math.type("1"))
print(math.ult(1, -1), 7 // 0.0, -7 // 0.0, math.pi - math.pi % 0.001, string.format("%.10f", math.sqrt(2)))
print(3 == 3.0, math.maxinteger + 1 == math.mininteger, 2 ^ 53 + 1, 1e15 + 0.5, 5 // 2 * 2 + 5 % 2)
print(pcall(function() return 1 // 0 end))

local big = {}
for i = 1, 1000 do big[i] = i end
local s = 0
for i = #big, 1, -1 do s = s + big[i] % 13 end
print("big", #big, s)
local nested = {a = {b = {c = {d = "deep"}}}}
print(nested.a.b.c.d, rawlen({1, 2, 3}), rawequal(nested, nested), next({}))
