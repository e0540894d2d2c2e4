-- The plugin's settings: the `pass = { … }` table of the configuration
-- file, handed over as relais.config. One key today:
--   tolerance_days (integer 0–366, default 31): how long after a book's
--   valid_until the APTIC platform still accepts its passes (formats.md
--   §2: valid until 31/12, tolerated until 31/01). A pass scanned later is
--   an `after_validity` anomaly; passes left unspent after it are the
--   credit note.
-- The host checks a plugin's table with relais.config_check when it has
-- one; until then the same rules are checked here, so a mistake stops the
-- plugin's load either way, naming the key.
local M = {}

local SCHEMA = {
  tolerance_days = {type = "integer", min = 0, max = 366, default = 31},
}

function M.load(settings)
  settings = settings or {}
  if relais.config_check then
    return relais.config_check(settings, SCHEMA, "pass")
  end
  local out = {}
  for key in pairs(settings) do
    if not SCHEMA[key] then error("pass." .. tostring(key) .. ": unknown key", 0) end
  end
  for key, rule in pairs(SCHEMA) do
    local v = settings[key]
    if v == nil then
      v = rule.default
    elseif math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then
      error("pass." .. key .. ": must be an integer", 0)
    else
      v = math.tointeger(v)
      if v < rule.min or v > rule.max then
        error(string.format("pass.%s: must be between %d and %d", key, rule.min, rule.max), 0)
      end
    end
    out[key] = v
  end
  return out
end

return M
