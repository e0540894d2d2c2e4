-- Fixture: relais.db reads the core, writes only dbp_*, changes no schema.
local db = relais.db

-- Loaded again on reload: start from the same rows.
db.exec("DELETE FROM dbp_items WHERE name IN ('a', 'b', 'c')")

assert(db.exec("INSERT INTO dbp_items (name, n, extra) VALUES (?, ?, ?)", "a", 1, "x") == 1)
assert(db.exec("INSERT INTO dbp_items (name, n) VALUES (?, ?)", "b", nil) == 1)
assert(db.exec("INSERT INTO dbp_items (name, n) VALUES (?, ?)", "c", true) == 1)
local rows = db.query("SELECT name, n, extra FROM dbp_items WHERE name IN ('a', 'b', 'c') ORDER BY id")
assert(#rows == 3 and rows[1].name == "a" and rows[1].n == 1 and rows[1].extra == "x", "rows")
assert(rows[2].n == nil and rows[3].n == 1, "nil and boolean parameters")
do  -- an INSERT (or REPLACE) that added a row also gives its id; nothing else does
  local n, id = db.exec("  insert INTO dbp_items (name) VALUES (?)", "d")
  assert(n == 1 and math.type(id) == "integer", "insert gives the new id")
  assert(db.query("SELECT name FROM dbp_items WHERE id = ?", id)[1].name == "d", "that id")
  local n2, id2 = db.exec("INSERT INTO dbp_items (name) SELECT 'e' WHERE 0")
  assert(n2 == 0 and id2 == nil, "no row added: no id")
  local n3, id3 = db.exec("UPDATE dbp_items SET n = 7 WHERE id = ?", id)
  assert(n3 == 1 and id3 == nil, "an update gives no id (the last insert is not its row)")
  local n4, id4 = db.exec("REPLACE INTO dbp_items (id, name) VALUES (?, 'd2')", id)
  assert(n4 == 1 and id4 == id, "replace gives the row's id")
  assert(select("#", db.exec("DELETE FROM dbp_items WHERE id = ?", id)) == 1, "delete: count only")
end
assert(db.exec("UPDATE dbp_items SET n = 5 WHERE name = ?", "b") == 1)
assert(db.query("SELECT extra FROM dbp_items WHERE name = 'b'")[1].extra == "touched", "own trigger")

-- the core: read through its read models (relais_v1_*), never written
assert(type(db.query("SELECT id, name FROM relais_v1_venues")) == "table", "read venues")
-- SQLite says "not authorized", or for a column "access to T.C is prohibited".
local function refused(what, r, e)
  e = tostring(e)
  assert(r == nil and (e:find("not authorized") or e:find("prohibited")),
         what .. ": " .. tostring(r) .. " " .. e)
end
refused("read venues", db.query("SELECT id, name FROM venues"))
refused("insert venues", db.exec("INSERT INTO venues (name, created_at, updated_at) VALUES ('x', 0, 0)"))
refused("update beneficiaries", db.exec("UPDATE beneficiaries SET consent_sms = 0"))
refused("delete sessions", db.exec("DELETE FROM sessions"))
refused("read api_tokens", db.query("SELECT * FROM api_tokens"))
refused("read links", db.query("SELECT count(*) AS n FROM links"))
refused("join api_tokens", db.query("SELECT v.name FROM venues v JOIN API_TOKENS t ON 1"))
refused("returning", db.query("UPDATE dbp_items SET n = 1 RETURNING (SELECT count(*) FROM api_tokens)"))

-- no schema, pragma, transaction or attach outside migrations
refused("create", db.exec("CREATE TABLE dbp_new (x)"))
refused("drop", db.exec("DROP TABLE dbp_items"))
refused("temp", db.exec("CREATE TEMP TABLE dbp_t (x)"))
refused("pragma", db.exec("PRAGMA foreign_keys = OFF"))
refused("begin", db.exec("BEGIN"))
refused("savepoint", db.exec("SAVEPOINT s"))
refused("attach", db.exec("ATTACH DATABASE ':memory:' AS x"))

-- misuse raises; SQL errors are answers
assert(not pcall(db.exec, "SELECT 1; SELECT 2"), "two statements")
assert(not pcall(db.exec, "SELECT ?"), "missing parameter")
assert(not pcall(db.exec, "SELECT ?", {}), "table parameter")
local r, e = db.query("SELEC 1")
assert(r == nil and e:find("syntax"), "syntax error: " .. tostring(e))
assert(#db.query("SELECT 1 AS one WHERE 0") == 0, "no rows")

-- Statements are kept compiled by their text (core/plugin/plugins_db.c): the
-- same text runs again with other parameters, after a call that failed,
-- and once more texts than the cache holds (32) went through it; a kept
-- statement is still judged as this plugin's.
local INS = "INSERT INTO dbp_items (name, n) VALUES (?, ?)"
for i = 1, 3 do assert(db.exec(INS, "cached", i) == 1, "cached insert " .. i) end
assert(not pcall(db.exec, INS, "cached"), "missing parameter, kept statement")
assert(not pcall(db.exec, INS, "cached", {}), "table parameter, kept statement")
assert(db.exec(INS, "cached", 4) == 1, "after a failed call")
local Q = "SELECT n FROM dbp_items WHERE name = ? ORDER BY n"
local got = db.query(Q, "cached")
assert(#got == 4 and got[1].n == 1 and got[4].n == 4, "kept query")
assert(#db.query(Q, "nobody") == 0, "kept query, other parameter")
for i = 1, 40 do
  assert(db.query("SELECT ? + " .. i .. " AS v", 1)[1].v == i + 1, "statement " .. i)
end
assert(#db.query(Q, "cached") == 4, "after the cache went round")
for _ = 1, 2 do
  refused("insert venues, again", db.exec("INSERT INTO venues (name, created_at, updated_at)" ..
                                          " VALUES ('x', 0, 0)"))
end
assert(db.exec("DELETE FROM dbp_items WHERE name = ?", "cached") == 4)

relais.on("count", function(ev)
  local n = db.query("SELECT count(*) AS n FROM dbp_items")[1].n
  db.exec("INSERT INTO dbp_items (name, n) VALUES ('count', ?)", n)
end)
