-- Numeric and generic for loops, while and repeat, nested loops with break.
local sum = 0
for i = 1, 1000 do sum = sum + i * i % 7 end
print("numeric for", sum)

local down = {}
for i = 10, 1, -3 do down[#down + 1] = i end
print("step -3", table.concat(down, ","))

local fsum = 0
for x = 0.0, 1.0, 0.125 do fsum = fsum + x end
print("float for", fsum)

local n, steps = 27, 0
while n ~= 1 do
  if n % 2 == 0 then n = n // 2 else n = 3 * n + 1 end
  steps = steps + 1
end
print("collatz 27", steps)

local k = 0
repeat
  local sq = k * k
  k = k + 1
until sq > 200
print("repeat", k)

local found
for i = 1, 50 do
  for j = i, 50 do
    if i * j == 391 then found = i .. "x" .. j; break end
  end
  if found then break end
end
print("found", found)

local arr = {}
for i = 1, 20 do arr[i] = (i * 37) % 11 end
local acc = 0
for idx, v in ipairs(arr) do acc = acc * 3 + v * idx; acc = acc % 1000003 end
print("ipairs", acc)
