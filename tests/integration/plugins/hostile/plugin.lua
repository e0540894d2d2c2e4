-- Test fixture (test_harden_plugins.py): routes doing in one C call, or in
-- few instructions, work that the instruction count did not see before
-- issue 12. Each must end (500, or its answer) quickly, the server serving
-- others meanwhile.
local R = {}

-- Patterns: the issue's bomb, as a function and as a method, and the
-- surveys plugin's old trim on a long run of spaces.
R.bomb = function() return string.find(string.rep("a", 3000), ".-.-.-b") end
R["bomb-method"] = function() return (("a"):rep(3000)):match(".-.-.-b") end
R["bomb-gmatch"] = function() for _ in ("a"):rep(3000):gmatch(".-.-.-b") do end end
R.trim = function() return ((" "):rep(1 << 20) .. "x"):gsub("%s+$", "") end
R["bomb-pcall"] = function()
  for _ = 1, 100 do pcall(string.find, ("a"):rep(3000), ".-.-.-b") end
end

-- C functions that loop without allocating in proportion.
R["rep-empty"] = function() return ("").rep("", math.maxinteger) end
R.concat = function()
  local t = setmetatable({}, {__index = table.concat})
  return table.concat(t, "", 1, 1 << 50)
end
R.insert = function()
  local t = setmetatable({}, {__len = function() return 1 << 40 end})
  table.insert(t, 1, "x")
end
R.move = function() table.move({}, 1, 1 << 50, 2) end
R.unpack = function()
  for _ = 1, 1e6 do select("#", table.unpack({}, 1, 900000)) end
end
R.utf8 = function()
  local s = ("é"):rep(1 << 20)
  for _ = 1, 1e6 do utf8.len(s) end
end
R.tonumber = function()
  local s = (" "):rep(1 << 22) .. "1"
  for _ = 1, 1e6 do tonumber(s) end
end
R.arith = function()
  local s = ("0"):rep(1 << 22) .. "1"
  for _ = 1, 1e6 do local _ = s + 1 end
end
-- (max(x), not count(*): a plugin reads no table without a column but a
-- core table a read model shows, and SQLite reports count(*) of a common
-- table expression as such a read.)
R.sql = function()
  return relais.db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
                         .. " SELECT max(x) AS n FROM c")
end
R.gc = function()
  local keep = {}
  for i = 1, 200000 do keep[i] = {i} end
  for _ = 1, 1e6 do collectgarbage() end
end
-- No count sees a comparison of two long strings: the CPU time bound does.
R.compare = function()
  local a, b = ("x"):rep(1 << 21) .. "a", ("x"):rep(1 << 21) .. "b"
  local n = 0
  for _ = 1, 1e7 do if a < b then n = n + 1 end end
  return n
end

-- The C functions other issues added to the relais table pay for what they
-- read: each call scans a 4 MiB string (or a table of half a million
-- entries), so a loop runs out of its instructions within a few calls, long
-- before the CPU time bound would stop it. (Made in the route: other
-- routes keep their memory.)
local function big() return ("7"):rep(1 << 22) end
local function list()
  local t = {}
  for i = 1, 500000 do t[i] = i end
  return t
end
R["sender-ok"] = function()
  local s = big()
  for _ = 1, 1e6 do relais.sms.sender_ok(s) end
end
R.fold = function()
  local s = big()
  for _ = 1, 1e6 do relais.fold(s) end
end
R["config-check"] = function()
  local s, l = big(), list()
  for _ = 1, 1e6 do
    relais.config_check({n = 500000, s = s}, {n = {type = "integer", one_of = l},
                                              s = {type = "string"}})
  end
end
R["config-check-keys"] = function()
  local l = list()
  for _ = 1, 1e6 do pcall(relais.config_check, l, {}) end
end

for name, fn in pairs(R) do
  relais.route("GET", "/hostile/" .. name, function()
    fn()
    return {status = 200, body = "finished " .. name}
  end)
end

-- SQL functions outside the allowed list, core tables: refused.
relais.route("GET", "/hostile/sql/{what}", function(req)
  local q = {
    tokenizer = "SELECT hex(fts3_tokenizer('simple')) AS v",
    extension = "SELECT load_extension('/nonexistent') AS v",
    tokens = "SELECT count(*) AS v FROM api_tokens",
    registry = "SELECT count(*) AS v FROM plugin_objects",
  }
  local rows, err = relais.db.query(q[req.params.what])
  return {status = rows and 200 or 403, json = {rows = rows, err = err}}
end)

relais.route("GET", "/hostile/ok", function()
  -- Ordinary pattern work, through the counted functions.
  local words = {}
  for w in ("Bonjour, le monde!"):gmatch("%a+") do words[#words + 1] = w:lower() end
  local s = ("  x = 1  "):match("^%s*(.-)%s*$"):gsub("%s", "")
  return {status = 200, body = "hostile alive " .. table.concat(words, " ") .. " " .. s}
end)

-- A reply header of the route's choice: the framing ones are refused.
relais.route("GET", "/hostile/header/{name}", function(req)
  return {status = 200, body = "hello world", headers = {[req.params.name] = "5"}}
end)
