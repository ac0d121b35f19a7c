-- Recursion: fib, mutual recursion, Ackermann, tail calls, deep non-tail recursion.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print("fib(20)", fib(20))

local is_even, is_odd
function is_even(n) if n == 0 then return true end return is_odd(n - 1) end
function is_odd(n) if n == 0 then return false end return is_even(n - 1) end
print("even(301)", is_even(301), "odd(301)", is_odd(301))

local function ack(m, n)
  if m == 0 then return n + 1 end
  if n == 0 then return ack(m - 1, 1) end
  return ack(m - 1, ack(m, n - 1))
end
print("ack(2,3)", ack(2, 3))

local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + n) end
print("tail 100000", loop(100000, 0))

local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
print("depth 150", depth(150))

local function perms(a, n, out)
  n = n or #a
  if n <= 1 then out[#out + 1] = table.concat(a) return end
  for i = 1, n do
    a[n], a[i] = a[i], a[n]
    perms(a, n - 1, out)
    a[n], a[i] = a[i], a[n]
  end
end
local out = {}
perms({"a", "b", "c", "d"}, nil, out)
table.sort(out)
print("perms", #out, out[1], out[#out], out[13])
