-- Fixture: writes what it owns; only the allowed SQL functions.
local db = relais.db
local function refused(what, r, e)
  e = tostring(e)
  assert(r == nil and (e:find("not authorized") or e:find("prohibited")),
         what .. ": " .. tostring(r) .. " " .. e)
end
assert(db.exec("INSERT INTO owner_items (name, enrollment_id) VALUES ('a', NULL)") == 1)
assert(db.query("SELECT name FROM owner_names")[1].name == "a", "own view")
assert(db.exec("DELETE FROM owner_items WHERE name = 'a'") == 1)
assert(db.query("SELECT what FROM owner_log")[1].what == "deleted a", "own trigger")
-- functions
local r = db.query("SELECT abs(-2) AS a, lower('X') AS l, json_extract('{\"k\": 3}', '$.k') AS j,"
                   .. " strftime('%Y', 0, 'unixepoch') AS y, length(zeroblob(10)) AS z")[1]
assert(r.a == 2 and r.l == "x" and r.j == 3 and r.y == "1970" and r.z == 10, "allowed functions")
refused("fts3_tokenizer", db.query("SELECT fts3_tokenizer('simple') AS p"))
refused("load_extension", db.query("SELECT load_extension('/tmp/x.so') AS p"))
refused("sqlite_version", db.query("SELECT sqlite_version() AS v"))
refused("compileoption", db.query("SELECT sqlite_compileoption_used('ENABLE_FTS3') AS v"))
local big, e = db.query("SELECT length(randomblob(100000000)) AS n")
assert(big == nil and tostring(e):find("too big"), "a huge blob: " .. tostring(e))
-- the registry is the core's: not readable (core data only through the
-- read models), never writable
refused("registry read", db.query("SELECT name FROM plugin_objects WHERE plugin = 'owner'"))
refused("claim", db.exec("INSERT INTO plugin_objects (name, plugin, type, created_at)"
                         .. " VALUES ('api_tokens', 'owner', 'table', 0)"))
refused("core", db.exec("UPDATE beneficiaries SET first_name = 'x'"))
relais.on("insert", function(ev)
  db.exec("INSERT INTO owner_items (name, enrollment_id) VALUES (?, ?)", ev.name, ev.eid)
end)
