-- Closures and upvalues: counters, shared upvalues, closures in loops, memoisation.
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
for _ = 1, 7 do inc() end
print("counter", get())

local fns = {}
for i = 1, 5 do fns[i] = function() return i * 10 end end
local s = {}
for i = 1, 5 do s[i] = fns[i]() end
print("loop closures", table.concat(s, ","))

local function memo(f)
  local cache, hits = {}, 0
  return function(x)
    if cache[x] then hits = hits + 1 return cache[x] end
    local v = f(x)
    cache[x] = v
    return v
  end, function() return hits end
end
local slowsq = function(x) local r = 0 for _ = 1, x do r = r + x end return r end
local fast, hits = memo(slowsq)
local t = 0
for i = 1, 100 do t = t + fast(i % 10) end
print("memo", t, hits())

local function compose(...)
  local fs = {...}
  return function(x)
    for i = #fs, 1, -1 do x = fs[i](x) end
    return x
  end
end
local h = compose(function(x) return x + 1 end, function(x) return x * 2 end, math.abs)
print("compose", h(-5), h(7))

local function curry(f, a) return function(...) return f(a, ...) end end
print("curry", curry(string.rep, "ab")(3))
