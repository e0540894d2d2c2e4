-- The report as CSV tables, for a spreadsheet (French Excel opens it as is):
-- UTF-8 with a byte-order mark, `;` between fields, CRLF line ends, decimal
-- comma. One small table per block: a title line (the JSON path of the
-- block), a header line, its rows, then an empty line. Keys are the JSON
-- keys; a text that a spreadsheet would run as a formula (= + - @) gets a
-- leading apostrophe, as Pix Orga does in its own exports.

local queries = require "queries"

local M = {}

local function field(v)
  if v == nil or v == relais.json.null then return "" end
  if type(v) == "number" then
    if math.type(v) == "float" then
      return (string.format("%.2f", v):gsub("%.", ","))
    end
    return tostring(v)
  end
  local s = tostring(v)
  if s:match("^[=+%-@\t\r]") then s = "'" .. s end
  if s:find('[;"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function line(out, ...)
  local cells = {}
  for i = 1, select("#", ...) do cells[i] = field((select(i, ...))) end
  out[#out + 1] = table.concat(cells, ";")
end

local function counts_table(out, title, head, map, fixed)
  line(out, title)
  line(out, "key", head)
  for _, k in ipairs(queries.ordered(map, fixed)) do line(out, k, map[k]) end
  out[#out + 1] = ""
end

local function activity_table(out, title, map, fixed)
  line(out, title)
  line(out, "key", "sessions", "enrolled", "attended", "absent")
  for _, k in ipairs(queries.ordered(map, fixed)) do
    local v = map[k]
    line(out, k, v.sessions, v.enrolled, v.attended, v.absent)
  end
  out[#out + 1] = ""
end

function M.render(r)
  local out = {}
  line(out, "report")
  line(out, "key", "value")
  line(out, "from", r.from)
  line(out, "to", r.to)
  line(out, "people.total", r.people.total)
  line(out, "attendances.total", r.attendances.total)
  line(out, "sessions.total", r.sessions.total)
  line(out, "no_show_rate", r.no_show_rate)
  line(out, "sms_segments", r.sms_segments)
  out[#out + 1] = ""
  counts_table(out, "people.by_gender", "people", r.people.by_gender, queries.GENDERS)
  counts_table(out, "people.by_age_bracket", "people", r.people.by_age_bracket,
               queries.BRACKETS)
  counts_table(out, "people.by_neighborhood", "people", r.people.by_neighborhood)
  counts_table(out, "attendances.by_gender", "attendances", r.attendances.by_gender,
               queries.GENDERS)
  counts_table(out, "attendances.by_age_bracket", "attendances",
               r.attendances.by_age_bracket, queries.BRACKETS)
  activity_table(out, "sessions.by_kind", r.sessions.by_kind, queries.KINDS)
  activity_table(out, "sessions.by_theme", r.sessions.by_theme)
  activity_table(out, "sessions.by_level", r.sessions.by_level, queries.LEVELS)
  line(out, "notifications")
  line(out, "channel", table.unpack(queries.STATUSES))
  for _, c in ipairs(queries.CHANNELS) do
    local n = r.notifications[c]
    line(out, c, n.sent, n.delivered, n.failed, n.suppressed)
  end
  return "\239\187\191" .. table.concat(out, "\r\n") .. "\r\n"
end

return M
