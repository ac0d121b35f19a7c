-- String operations and string.format.
local s = "The quick brown fox jumps over the lazy dog"
print(#s, s:upper(), s:lower():sub(5, 9))
print(s:find("fox"), s:find("o", 20, true), s:match("(%a+) dog"))
print(("x"):rep(5, "-"), s:reverse():sub(1, 8), s:byte(1), string.char(72, 105))
local words = {}
for w in s:gmatch("%a+") do words[#words + 1] = w end
print(#words, table.concat(words, "|", 2, 4))
print(string.format("%5d|%-5d|%05.1f|%x|%X|%o|%e", 42, 42, 3.14159, 255, 255, 8, 12345.678))
print(string.format("%q", 'a "quoted"\nline\0end'))
print(string.format("%s %10.3s %-6s|", "str", "abcdef", "ab"))
print(string.format("%g %g %g %.3f", 1e20, 0.1, 100, 2 / 3))
print(string.format("%i %c%c %%", -7, 76, 117))
print(tostring(1 / 0), tostring(-1 / 0), tostring(0 / 0) == tostring(0 / 0), math.maxinteger, math.mininteger)
print(10 // 3, 10.0 // 3, -7 // 2, -7 % 3, 7 % -3, 2 ^ 10, 7 / 2, 3 | 5, 6 & 3, 1 << 10, ~0)
print(tonumber("0x1F"), tonumber("  12  "), tonumber("1e3"), tonumber("z", 36), tonumber("abc"))
print(("%d items"):format(3), ("abc"):len(), #"\u{48}\u{49}")
local parts = {}
for k, v in string.gmatch("a=1, b=22, c=333", "(%w+)=(%w+)") do parts[#parts + 1] = k .. ":" .. v end
print(table.concat(parts, ";"))
print(utf8.char(72, 228, 8364), utf8.len("h\u{E4}\u{20AC}"))
local packed = string.pack("i4 i8 z", 7, -1, "zs")
print(#packed, string.unpack("i4 i8 z", packed))
