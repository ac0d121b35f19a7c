-- Benchmark (not a test): call-heavy Lua (recursive fib, closures, method calls, string building).
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local Acc = {}
Acc.__index = Acc
function Acc:add(x) self.v = (self.v + x) % 1000000007 return self end
local a = setmetatable({v = 0}, Acc)
for i = 1, 2000000 do a:add(i) end
local parts = {}
for i = 1, 100000 do parts[#parts + 1] = string.format("%d:%x", i, i * 7) end
local s = table.concat(parts, ","):len()
print(fib(30), a.v, s)
