-- pcall nested inside coroutines, yields across pcall, errors killing coroutines, and
-- coroutine.close.
local co = coroutine.create(function()
  local results = {}
  for i = 1, 4 do
    local ok, v = pcall(function()
      local got = coroutine.yield(i)
      if got % 2 == 0 then error("even " .. got, 0) end
      return got * 10
    end)
    results[#results + 1] = tostring(ok) .. ":" .. tostring(v)
  end
  return table.concat(results, " ")
end)
local ok, v = coroutine.resume(co)
local seen = {}
while coroutine.status(co) ~= "dead" do
  seen[#seen + 1] = v
  ok, v = coroutine.resume(co, v + 1)
end
print("yield across pcall", table.concat(seen, ","), v)

-- An error that escapes a coroutine.
local dying = coroutine.create(function(x)
  coroutine.yield(x)
  error({reason = "boom"})
end)
print(coroutine.resume(dying, 5))
local ok2, e2 = coroutine.resume(dying)
print("escaped", ok2, type(e2), e2.reason, coroutine.status(dying))

-- pcall inside pcall inside a coroutine inside pcall.
print(pcall(function()
  local c = coroutine.wrap(function()
    local a = {pcall(function()
      local b = {pcall(error, "inner", 0)}
      coroutine.yield(table.concat({tostring(b[1]), b[2]}, "/"))
      error("outer", 0)
    end)}
    coroutine.yield(tostring(a[1]) .. "/" .. a[2])
    return "finished"
  end)
  return c(), c(), c()
end))

-- wrap propagates errors to the caller.
local w = coroutine.wrap(function() error("from wrap", 0) end)
print(pcall(w))

-- coroutine.close runs pending to-be-closed variables.
local log = {}
local cc = coroutine.create(function()
  local r <close> = setmetatable({}, {__close = function() log[#log + 1] = "closed" end})
  coroutine.yield(1)
  log[#log + 1] = "not reached"
end)
coroutine.resume(cc)
print("close", coroutine.close(cc), coroutine.status(cc), table.concat(log, ","))

-- Many coroutines alive at once, resumed round-robin.
local cos = {}
for i = 1, 20 do
  cos[i] = coroutine.create(function()
    local s = 0
    for j = 1, i do s = s + j; coroutine.yield(s) end
    return s
  end)
end
local total, alive = 0, #cos
while alive > 0 do
  alive = 0
  for i = 1, #cos do
    if coroutine.status(cos[i]) ~= "dead" then
      local _, v = coroutine.resume(cos[i])
      total = total + (v or 0)
      alive = alive + 1
    end
  end
end
print("round robin", total)
