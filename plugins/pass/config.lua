-- The plugin's settings: the `pass = { … }` table of the configuration
-- file, handed over as relais.config and checked here when the plugin
-- loads (a mistake stops the start, naming the key: `pass.tolerance_days:
-- must be …`). One key:
--   tolerance_days (integer 0–366, default 31): how long after a book's
--   valid_until the APTIC platform still takes its passes (formats.md §2:
--   valid until 31/12, tolerated until 31/01). A pass spent later is an
--   `after_validity` anomaly; the passes left unspent after it are the
--   credit note.
local M = {}

function M.load(settings)
  return relais.config_check(settings or {}, {
    tolerance_days = {type = "integer", min = 0, max = 366, default = 31},
  }, "pass")
end

return M
