-- Places passes are spent at, as the scans name them (pass_places): one
-- row per folded name (two spellings of one name are one place), else per
-- SIRET, else the one place without a name (key ''). Scans point at them
-- by id, so that a scan row holds a number, not the place's texts.
local M = {}

local query, exec = relais.db.query, relais.db.exec

-- The key of a place named NAME (or with SIRET when it has no name).
function M.key(name, siret)
  if name then return relais.fold(name) end
  if siret then return "siret:" .. siret:gsub("%s", "") end
  return ""
end

-- The id of the place NAME / SIRET, made when it is new. The first
-- spelling seen is the one shown.
function M.id(name, siret)
  local key = M.key(name, siret)
  local row = assert(query("SELECT id FROM pass_places WHERE key = ?", key))[1]
  if row then return row.id, key end
  local n, id = exec("INSERT INTO pass_places (key, name, siret) VALUES (?, ?, ?)", key, name,
                     siret)
  assert(n == 1, id)
  return id, key
end

return M
