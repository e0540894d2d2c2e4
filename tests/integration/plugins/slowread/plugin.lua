-- Fixture: a GET route whose query runs for seconds, as a report over a big
-- territory would (tests/integration/test_offloop.py). SQLite's operations
-- count against the route's budget off the loop too: it takes the largest.
relais.route("GET", "/api/v1/test/slow", function(req)
  local rows, err = relais.db.query(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)"
    .. " SELECT max(x) AS n FROM c", tonumber(req.query.n))
  if not rows then return relais.problem(500, err) end
  local people = relais.db.query("SELECT count(*) AS n FROM relais_v1_people")
  return {json = {n = rows[1].n, people = people[1].n}}
end, {"admin", "coordinator"}, {budget = 2000000000})
