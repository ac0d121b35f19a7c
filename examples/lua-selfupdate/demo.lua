-- A small workload for the live self-update demo: a sieve, a coroutine pipeline, protected
-- calls that raise errors (setjmp/longjmp inside Lua), closures and string building.
-- It prints the same lines whether or not the interpreter's stacks are being unwound and
-- rebuilt underneath it.

local function sieve(n)
  local composite, count = {}, 0
  for i = 2, n do
    if not composite[i] then
      count = count + 1
      for j = i * i, n, i do composite[j] = true end
    end
  end
  return count
end

local function pipeline(n)
  local producer = coroutine.wrap(function()
    for i = 1, n do coroutine.yield(i * i % 97) end
  end)
  local sum = 0
  for _ = 1, n do sum = sum + producer() end
  return sum
end

local function risky(i)
  if i % 7 == 0 then error({ code = i }) end
  return i
end

local function protected(n)
  local ok, failed = 0, 0
  for i = 1, n do
    local good = pcall(risky, i)
    if good then ok = ok + 1 else failed = failed + 1 end
  end
  return ok, failed
end

local function words(n)
  local parts = {}
  for i = 1, n do parts[#parts + 1] = string.format("%x", i * 2654435761 % 4294967296) end
  return #table.concat(parts, ",")
end

for round = 1, 5 do
  local primes = sieve(200000 + round * 1000)
  local piped = pipeline(20000)
  local ok, failed = protected(20000)
  local len = words(20000)
  print(string.format("round %d: primes=%d pipeline=%d pcall ok=%d failed=%d text=%d",
    round, primes, piped, ok, failed, len))
end
