-- Fixture: relais.db.query in routes, off the loop in GET routes
-- (tests/unit/test_plugins_read.c).
local ROLES = {"admin"}

local function count()
  return relais.db.query("SELECT count(*) AS n FROM readerp_items")[1].n
end

-- Rows, values and a read model, twice in one route.
relais.route("GET", "/api/v1/readerp/items", function(req)
  local rows, err = relais.db.query("SELECT id, name, NULL AS nada, 1.5 AS x"
                               .. " FROM readerp_items WHERE id >= ? ORDER BY id",
                               tonumber(req.query.from or "1"))
  local people = relais.db.query("SELECT count(*) AS n FROM relais_v1_people")[1].n
  return {json = {rows = rows, people = people, err = err}}
end, ROLES)

-- Errors as on the loop: nil, err for SQL; an error raised for misuse.
relais.route("GET", "/api/v1/readerp/errors", function(req)
  local out = {}
  local rows, err = relais.db.query("SELECT nope FROM readerp_items")
  out.sql = rows == nil and err or "rows"
  rows, err = relais.db.query("SELECT phone FROM beneficiaries")
  out.core = rows == nil and err or "rows"
  out.two = select(2, pcall(relais.db.query, "SELECT 1; SELECT 2"))
  out.params = select(2, pcall(relais.db.query, "SELECT ?", 1, 2))
  out.types = select(2, pcall(relais.db.query, "SELECT ?", {}))
  out.many = select(2, pcall(relais.db.query,
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100001)"
    .. " SELECT x FROM c"))
  -- The same authorizer as on the loop, in the plugin's name: the registry
  -- of plugin objects is the core's; JSON's table-valued functions work
  -- (SQLite declares them on a reader's connection at their first use).
  rows, err = relais.db.query("SELECT name FROM plugin_objects")
  out.registry = rows == nil and err or "rows"
  rows = assert(relais.db.query("SELECT id FROM readerp_items WHERE id IN"
                                .. " (SELECT value FROM json_each(?)) ORDER BY id", "[1, 3]"))
  out.listed = #rows
  out.after = count()
  return {json = out}
end, ROLES)

-- A statement that writes, through query, runs where writes go; exec then
-- a read: the read sees the write.
relais.route("GET", "/api/v1/readerp/write", function(req)
  local before = count()
  local row = relais.db.query("INSERT INTO readerp_items (name) VALUES ('q') RETURNING id")
  local mid = count()
  relais.db.exec("INSERT INTO readerp_items (name) VALUES ('e')")
  return {json = {before = before, id = row[1].id, mid = mid, after = count()}}
end, ROLES)

-- Where Lua cannot yield (a table.sort comparator), the query runs on the
-- loop; so does it in a plugin's own coroutine.
relais.route("GET", "/api/v1/readerp/noyield", function(req)
  local t = {3, 1, 2}
  table.sort(t, function(a, b) return count() > 0 and a < b end)
  local co = coroutine.wrap(function() return count() end)
  return {json = {sorted = t, co = co()}}
end, ROLES)

-- A writing route reads its own transaction on the loop.
relais.route("POST", "/api/v1/readerp/tx", function(req)
  relais.db.exec("INSERT INTO readerp_items (name) VALUES ('tx')")
  return {status = 400, json = {seen = count()}}   -- ≥ 400: nothing kept
end, ROLES)

-- A query that takes a while (tens of millions of steps): SQLite's
-- operations count against the route's budget off the loop too, so it
-- takes the largest.
relais.route("GET", "/api/v1/readerp/slow", function(req)
  local r, err = relais.db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                                 .. " SELECT x + 1 FROM c WHERE x < ?) SELECT max(x) AS n FROM c",
                                 tonumber(req.query.n or "40000000"))
  if not r then return {status = 500, json = {error = err}} end
  return {json = {n = r[1].n}}
end, ROLES, {budget = 2000000000})

-- The same with the default budget (20 million instructions): the reader
-- stops it, and the call fails as on the loop.
relais.route("GET", "/api/v1/readerp/endless", function(req)
  relais.db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                  .. " SELECT x + 1 FROM c WHERE x < 1000000000000) SELECT max(x) AS n FROM c")
  return {json = {n = "never"}}
end, ROLES)

-- Many reads of a few thousand operations each: the call's count goes on
-- from one read to the next (a thousand of them are over its budget).
relais.route("GET", "/api/v1/readerp/reads", function(req)
  local n = 0
  for _ = 1, tonumber(req.query.n or "1000") do
    relais.db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                    .. " SELECT x + 1 FROM c WHERE x < 1000) SELECT max(x) AS n FROM c")
    n = n + 1
  end
  return {json = {n = n}}
end, ROLES)

-- Many queries in one route, with a network wait in between.
relais.route("GET", "/api/v1/readerp/wait", function(req)
  local a = count()
  local res = relais.http.request{url = req.query.url, timeout = 5000}
  return {json = {a = a, status = res and res.status, b = count()}}
end, ROLES)
