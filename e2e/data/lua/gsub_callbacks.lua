-- string.gsub with function and table replacements (Lua called back from C), patterns with
-- captures, anchors, frontier patterns and balanced matches.
local text = "alpha=1 beta=22 gamma=333 delta=4444"
local doubled, n = text:gsub("(%a+)=(%d+)", function(k, v) return k:upper() .. "=" .. (tonumber(v) * 2) end)
print(doubled, n)
print(text:gsub("%d+", {["1"] = "one", ["22"] = "twenty-two"}))
print(text:gsub("(%a+)", "<%1>", 2))
print(("hello world"):gsub("o", "0"), ("abc"):gsub("", "-"))
print(("  trim me  "):gsub("^%s+", ""):gsub("%s+$", ""))
local count = 0
local r = ("x = f(a, g(b, c)) + h(d)"):gsub("%b()", function(s) count = count + 1 return "(" .. #s .. ")" end)
print(r, count)
print(("THE (quick) fox"):gsub("%f[%a]%a+", function(w) return w:sub(1, 1):upper() .. w:sub(2):lower() end))

-- A callback that itself calls gsub, recursion through callbacks.
local function expand(s, depth)
  if depth == 0 then return s end
  return (s:gsub("%[(.-)%]", function(inner) return expand(inner:rep(2), depth - 1) end))
end
print(expand("a[b[c]]d", 3))

-- A callback that returns false/nil keeps the match.
print(("1 2 3 4 5 6"):gsub("%d", function(d) if tonumber(d) % 2 == 0 then return nil end return "odd" end))

-- Template substitution with a loop in the callback.
local vars = {name = "Lua", n = 3}
local tpl = "Hello ${name}! ${n} stars: ${stars}"
print((tpl:gsub("%${(%w+)}", function(k)
  if k == "stars" then local s = "" for _ = 1, vars.n do s = s .. "*" end return s end
  return tostring(vars[k])
end)))
print(pcall(string.gsub, "abc", "(", "x"))
