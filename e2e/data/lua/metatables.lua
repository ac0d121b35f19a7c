-- Metatables: arithmetic and comparison metamethods, __index/__newindex, __call, __len,
-- __concat, __tostring, __close, inheritance, proxies.
local V = {}
V.__index = V
local function vec(x, y) return setmetatable({x = x, y = y}, V) end
V.__add = function(a, b) return vec(a.x + b.x, a.y + b.y) end
V.__mul = function(a, k) return vec(a.x * k, a.y * k) end
V.__eq = function(a, b) return a.x == b.x and a.y == b.y end
V.__lt = function(a, b) return a:len2() < b:len2() end
V.__le = function(a, b) return a:len2() <= b:len2() end
V.__tostring = function(a) return "(" .. a.x .. "," .. a.y .. ")" end
V.__concat = function(a, b) return tostring(a) .. tostring(b) end
V.__unm = function(a) return vec(-a.x, -a.y) end
V.__len = function() return 2 end
function V:len2() return self.x * self.x + self.y * self.y end
local a, b = vec(1, 2), vec(3, 4)
print(tostring(a + b), tostring(a * 3), a == vec(1, 2), a < b, b <= a, a .. b, tostring(-a), #a)

-- Inheritance chain through __index.
local Animal = {}
Animal.__index = Animal
function Animal.new(name, sound) return setmetatable({name = name, sound = sound}, Animal) end
function Animal:speak() return self.name .. " says " .. self.sound end
local Dog = setmetatable({}, {__index = Animal})
Dog.__index = Dog
function Dog.new(name) local d = Animal.new(name, "woof") return setmetatable(d, Dog) end
function Dog:fetch() return self.name .. " fetches" end
local d = Dog.new("rex")
print(d:speak(), d:fetch(), getmetatable(d) == Dog)

-- A proxy that logs reads and writes, with defaults.
local log = {}
local function proxy(t)
  return setmetatable({}, {
    __index = function(_, k) log[#log + 1] = "get " .. tostring(k) return t[k] or 0 end,
    __newindex = function(_, k, v) log[#log + 1] = "set " .. tostring(k) rawset(t, k, v) end,
  })
end
local p = proxy({})
p.a = 1
p.b = p.a + p.c
print(p.a, p.b, table.concat(log, ","))

local callable = setmetatable({}, {__call = function(self, x, y) return x * y end})
print("call", callable(6, 7))

do
  local closed = {}
  do
    local x <close> = setmetatable({}, {__close = function() closed[#closed + 1] = "x" end})
    local y <close> = setmetatable({}, {__close = function() closed[#closed + 1] = "y" end})
  end
  print("close order", table.concat(closed, ","))
end

local weak = setmetatable({}, {__mode = "k"})
print("weak mode", getmetatable(weak).__mode)
