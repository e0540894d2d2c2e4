-- Pix: imports Pix Orga campaign exports (assessment and profile
-- collection) and shows each beneficiary's results with a suggested
-- workshop level. See README.md for the rules; the contract is the "PIX"
-- section of the API.
local import = require "import"
local results = require "results"

local STAFF = {"admin", "coordinator"}

-- A JSON list, "[]" when empty (relais.json writes an empty table as {}).
local function list(t)
  return #t == 0 and "[]" or relais.json.encode(t)
end

local function json_reply(text)
  return {status = 200, body = text, headers = {["Content-Type"] = "application/json"}}
end

-- The body arrives as a file: a 100,000-line export is never held in
-- memory, and the import may take more than the usual instruction budget.
relais.route("POST", "/api/v1/imports/pix", function(req)
  local ext = req.query.external_id_column
  if type(ext) == "table" then
    return relais.problem(400, "external_id_column est donné plusieurs fois")
  end
  if ext == "" then return relais.problem(400, "external_id_column est vide") end
  local res, status, detail = import.run(req.body_file or req.body, ext)
  if not res then return relais.problem(status, detail) end
  return json_reply(string.format(
    '{"rows":%d,"matched":%d,"unmatched":%d,"errors":%s,"unmatched_rows":%s}',
    res.rows, res.matched, res.unmatched, list(res.errors), list(res.unmatched_rows)))
end, STAFF, {body = "file", max_body = 512 * 1024 * 1024, budget = 2000000000})

relais.route("GET", "/api/v1/beneficiaries/{id}/pix", function(req)
  local id = req.params.id
  if not id:match("^[1-9]%d*$") or #id > 15 then
    return relais.problem(404, "nothing here")
  end
  local items, suggested = results.of(math.tointeger(tonumber(id)))
  if not items then return relais.problem(404, "nothing here") end
  local parts = {}
  for i, it in ipairs(items) do
    local comps = it.competences
    it.competences = nil
    local head = relais.json.encode(it)
    parts[i] = head:sub(1, -2) .. (head == "{}" and "" or ",") ..
               '"competences":' .. list(comps) .. "}"
  end
  return json_reply('{"items":[' .. table.concat(parts, ",") .. '],"suggested_level":' ..
    (suggested and tostring(suggested) or "null") .. "}")
end, STAFF)

-- Right to erasure: a person's results are personal data. The core calls
-- this inside the erasure's own transaction; the competences follow their
-- participation (ON DELETE CASCADE).
relais.on("beneficiary.erased", function(ev)
  relais.db.exec("DELETE FROM pix_participations WHERE beneficiary_id = ?", ev.id)
end)
