-- goto: continue-style loops, breaking out of nested loops, backward jumps.
local odds = {}
for i = 1, 15 do
  if i % 2 == 0 then goto continue end
  odds[#odds + 1] = i
  ::continue::
end
print("continue", table.concat(odds, ","))

local pos
for i = 1, 10 do
  for j = 1, 10 do
    if i * j == 42 then pos = i .. "," .. j goto done end
  end
end
::done::
print("nested exit", pos)

local n, steps = 0, 0
::top::
n = n + 3
steps = steps + 1
if n < 100 then goto top end
print("backward", n, steps)

-- goto inside while with a local in the loop body.
local i, acc = 0, {}
while i < 10 do
  i = i + 1
  local sq = i * i
  if sq % 3 == 0 then goto skip end
  acc[#acc + 1] = sq
  ::skip::
end
print("while skip", table.concat(acc, " "))
