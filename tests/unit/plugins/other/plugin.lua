-- Fixture: a plugin whose name prefixes a table it does not own (other_notes,
-- made by the core) and which tries another plugin's table.
local function refused(what, r, e)
  e = tostring(e)
  assert(r == nil and (e:find("not authorized") or e:find("prohibited")),
         what .. ": " .. tostring(r) .. " " .. e)
end
refused("not registered to it", relais.db.exec("INSERT INTO other_notes (t) VALUES ('x')"))
refused("another plugin's", relais.db.exec("DELETE FROM owner_items"))
-- nor readable: a core table, whatever its name (core data only through
-- the read models)
refused("a core table's read", relais.db.query("SELECT t FROM other_notes"))
relais.log.info("other checked")
