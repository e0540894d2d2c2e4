-- Fixture: the read models (plugins/API.md, "Read models"). On the event
-- "check", reads the core through the relais_v1_* views and tries every way
-- around them; tests/unit/test_readmodel.c sees a failed assert as an error
-- of this plugin, and "checked" in readp_done when all went through.
local db = relais.db

-- SQLite says "not authorized", or for a column "access to T.C is prohibited".
local function refused(what, r, e)
  e = tostring(e)
  assert(r == nil and (e:find("not authorized") or e:find("prohibited")),
         what .. ": " .. tostring(r) .. " " .. e)
end

relais.on("check", function()
  -- Through the views: the fixture's people, session and venue.
  local people = assert(db.query("SELECT id, first_name, erased_at FROM relais_v1_people ORDER BY id"))
  assert(#people == 3 and people[1].first_name == "Ana" and people[1].erased_at == nil,
         "people")
  assert(db.query("SELECT count(*) AS n FROM relais_v1_people")[1].n == 3, "count")
  assert(db.query("SELECT max(id) AS n FROM relais_v1_people")[1].n == 3, "max")
  local s = assert(db.query("SELECT s.title, s.booked, v.name FROM relais_v1_sessions s"
                            .. " JOIN relais_v1_venues v ON v.id = s.venue_id"))
  assert(#s == 1 and s[1].title == "Smartphone" and s[1].booked == 0
         and s[1].name == "Médiathèque", "session and venue")
  for _, v in ipairs{"relais_v1_staff", "relais_v1_enrollments", "relais_v1_notifications"} do
    assert(db.query("SELECT count(*) AS n FROM " .. v)[1].n == 0, v)
  end
  -- A list as one parameter, through JSON's table-valued function; SQLite
  -- itself still refuses a write to its schema.
  local ids = assert(db.query("SELECT id FROM relais_v1_people WHERE id IN"
                              .. " (SELECT value FROM json_each(?)) ORDER BY id", "[1, 3]"))
  assert(#ids == 2 and ids[2].id == 3, "json_each")
  local w, we = db.exec("UPDATE sqlite_master SET sql = 'x' WHERE name = 'readp_done'")
  assert(w == nil and we:find("may not be modified"), "sqlite_master: " .. tostring(we))
  -- A column no view shows does not exist for a plugin.
  local r, e = db.query("SELECT phone FROM relais_v1_people")
  assert(r == nil and e:find("no such column"), "phone: " .. tostring(e))

  -- Every core table, read directly: refused.
  for _, t in ipairs{"venues", "staff", "beneficiaries", "series", "sessions", "enrollments",
                     "session_changes", "enrollment_events", "notifications",
                     "notification_fanouts", "links", "api_tokens", "schema_migrations"} do
    refused("read " .. t, db.query("SELECT * FROM " .. t))
  end
  refused("a column", db.query("SELECT phone FROM beneficiaries"))
  refused("an aggregate", db.query("SELECT count(phone) AS n FROM beneficiaries"))
  refused("a subquery", db.query("SELECT (SELECT phone FROM beneficiaries LIMIT 1) AS p"))
  refused("a join with a view", db.query("SELECT p.id, b.phone FROM relais_v1_people p"
                                         .. " JOIN beneficiaries b ON b.id = p.id"))
  refused("into its own table", db.exec("INSERT INTO readp_notes (extra)"
                                        .. " SELECT email FROM beneficiaries"))
  -- A common table expression named like a view reaches only what the view shows.
  refused("a CTE named like a view", db.query(
    "WITH relais_v1_people AS (SELECT id, phone FROM beneficiaries)"
    .. " SELECT phone FROM relais_v1_people"))
  -- Its own view and trigger over a core table (made by the test): refused.
  refused("its own view", db.query("SELECT phone FROM readp_phones"))
  refused("its own trigger", db.exec("INSERT INTO readp_notes (extra) VALUES ('peek')"))
  -- Another plugin's table.
  refused("another plugin's table", db.query("SELECT * FROM dbp_items"))

  -- (Not into readp_notes: the trigger, compiled into every INSERT there,
  -- makes them all refused.)
  refused("any insert into its table", db.exec("INSERT INTO readp_notes (extra) VALUES ('x')"))
  assert(db.exec("INSERT INTO readp_done (what) VALUES ('checked')") == 1)
end)

-- Another plugin's read model (pubp_v1_items): what it shows, and nothing
-- around it.
relais.on("check_published", function()
  local rows = assert(db.query("SELECT id, label FROM pubp_v1_items ORDER BY id"))
  assert(#rows == 2 and rows[1].label == "un" and rows[2].label == "deux", "published")
  assert(db.query("SELECT count(*) AS n FROM pubp_v1_items")[1].n == 2, "count")
  local j = assert(db.query("SELECT p.label, n.id FROM pubp_v1_items p"
                            .. " LEFT JOIN readp_notes n ON n.id = p.id"))
  assert(#j == 2, "joined with its own")
  local r, e = db.query("SELECT secret FROM pubp_v1_items")
  assert(r == nil and e:find("no such column"), "secret: " .. tostring(e))
  refused("the table under it", db.query("SELECT label FROM pubp_items"))
  refused("its private view", db.query("SELECT secret FROM pubp_all"))
  refused("a CTE named like it", db.query(
    "WITH pubp_v1_items AS (SELECT id, secret AS label FROM pubp_items)"
    .. " SELECT label FROM pubp_v1_items"))
  refused("a view that reads another plugin's table", db.query(
    "SELECT name FROM pubp_v1_others"))
  local w, we = db.exec("DELETE FROM pubp_v1_items")
  assert(w == nil and we:find("view"), "writing through it: " .. tostring(we))
  assert(db.exec("INSERT INTO readp_done (what) VALUES ('published')") == 1)
end)
