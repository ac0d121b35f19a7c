-- table.sort with Lua comparators (called back from C), stable-ised sorts, sorting records.
local rnd = 12345
local function rand(n) rnd = (rnd * 1103515245 + 12345) % 2147483648 return rnd % n end

local v = {}
for i = 1, 500 do v[i] = rand(1000) end
table.sort(v)
print("ascending", v[1], v[250], v[500])
local calls = 0
table.sort(v, function(a, b) calls = calls + 1 return a > b end)
print("descending", v[1], v[250], v[500], calls > 0)

local people = {}
local names = {"ann", "bob", "cy", "dee", "eve", "fay", "gus"}
for i = 1, 40 do people[i] = {name = names[rand(#names) + 1], age = 20 + rand(30), id = i} end
table.sort(people, function(a, b)
  if a.name ~= b.name then return a.name < b.name end
  if a.age ~= b.age then return a.age > b.age end
  return a.id < b.id
end)
local out = {}
for i = 1, 40, 5 do out[#out + 1] = people[i].name .. people[i].age .. "#" .. people[i].id end
print("records", table.concat(out, " "))

-- A comparator that itself loops and calls other Lua functions.
local function digitsum(n) local s = 0 while n > 0 do s = s + n % 10; n = n // 10 end return s end
local w = {}
for i = 1, 200 do w[i] = rand(100000) end
table.sort(w, function(a, b)
  local da, db = digitsum(a), digitsum(b)
  if da ~= db then return da < db end
  return a < b
end)
print("digitsum", w[1], w[100], w[200])

-- Sorting strings, and the keys of a hash table (pairs order is not deterministic).
local t = {}
for i = 1, 30 do t["k" .. rand(1000)] = i end
local keys = {}
for k in pairs(t) do keys[#keys + 1] = k end
table.sort(keys)
print("keys", #keys, keys[1], keys[#keys])
print("invalid order", pcall(table.sort, {3, 1, 2, 5, 4, 7, 6, 9, 8, 10, 12, 11}, function(a, b) return true end))
