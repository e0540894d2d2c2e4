-- The report as CSV tables, for a spreadsheet (French Excel opens it as is):
-- UTF-8 with a byte-order mark, `;` between fields, CRLF line ends, decimal
-- comma. One small table per block: a title line (the JSON path of the
-- block), a header line, its rows, then an empty line. Keys are the JSON
-- keys; a text that a spreadsheet would run as a formula (= + - @) gets a
-- leading apostrophe, as Pix Orga does in its own exports.
--
-- Two layouts (README.md here, "Forms"):
-- - periods (?period=…): every table has a column per period, then the
--   total, each count followed by its share (%) of the column's whole;
-- - from/to (the first shape): the tables as they always were (one column
--   per measure), then the new blocks' tables the same way.

local tables = require "tables"
local count = require "count"

local M = {}

local function field(v)
  if v == nil or v == relais.json.null then return "" end
  if type(v) == "number" then
    if math.type(v) == "float" then
      local s = string.format("%.2f", v):gsub("%.", ",")
      return s
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

local function finish(out)
  return "\239\187\191" .. table.concat(out, "\r\n") .. "\r\n"
end

-- A share with one decimal, as French spreadsheets write it ("42,9").
local function share(v, whole)
  local s = tables.share(v, whole)
  if not s then return "" end
  return (string.format("%.1f", s):gsub("%.", ","))
end

-- --- periods side by side ------------------------------------------------------

function M.periods(model, meta)
  local out = {}
  for _, t in ipairs(model) do
    line(out, t.id)
    local head = {"key"}
    for _, id in ipairs(meta.ids) do
      head[#head + 1] = id
      if t.wholes then head[#head + 1] = "%" end
    end
    line(out, table.unpack(head))
    for _, row in ipairs(t.rows) do
      local cells = {row.key}
      for i, v in ipairs(row.values) do
        cells[#cells + 1] = v
        if t.wholes then cells[#cells + 1] = share(v, t.wholes[i]) end
      end
      line(out, table.unpack(cells, 1, #row.values * (t.wholes and 2 or 1) + 1))
    end
    out[#out + 1] = ""
  end
  return finish(out)
end

-- --- the first shape -------------------------------------------------------------

local function counts_table(out, title, head, map, fixed)
  line(out, title)
  line(out, "key", head)
  for _, k in ipairs(tables.ordered(map, fixed)) do line(out, k, map[k]) end
  out[#out + 1] = ""
end

local function activity_table(out, title, map, fixed, with_rate)
  line(out, title)
  if with_rate then
    line(out, "key", "fill_rate")
    for _, k in ipairs(tables.ordered(map, fixed)) do line(out, k, map[k].fill_rate) end
  else
    line(out, "key", "sessions", "enrolled", "attended", "absent")
    for _, k in ipairs(tables.ordered(map, fixed)) do
      local v = map[k]
      line(out, k, v.sessions, v.enrolled, v.attended, v.absent)
    end
  end
  out[#out + 1] = ""
end

function M.legacy(r, model)
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
  -- The new blocks' single figures, after the first ones.
  for _, row in ipairs(model[1].rows) do
    if not ({["people.total"] = 1, ["attendances.total"] = 1, ["sessions.total"] = 1,
             no_show_rate = 1, sms_segments = 1})[row.key] then
      line(out, row.key, row.values[1])
    end
  end
  out[#out + 1] = ""
  counts_table(out, "people.by_gender", "people", r.people.by_gender, count.GENDERS)
  counts_table(out, "people.by_age_bracket", "people", r.people.by_age_bracket,
               model.brackets)
  counts_table(out, "people.by_neighborhood", "people", r.people.by_neighborhood)
  counts_table(out, "attendances.by_gender", "attendances", r.attendances.by_gender,
               count.GENDERS)
  counts_table(out, "attendances.by_age_bracket", "attendances",
               r.attendances.by_age_bracket, model.brackets)
  activity_table(out, "sessions.by_kind", r.sessions.by_kind, count.KINDS)
  activity_table(out, "sessions.by_theme", r.sessions.by_theme)
  activity_table(out, "sessions.by_level", r.sessions.by_level, count.LEVELS)
  line(out, "notifications")
  line(out, "channel", table.unpack(count.STATUSES))
  for _, c in ipairs(count.CHANNELS) do
    local n = r.notifications[c]
    line(out, c, n.sent, n.delivered, n.failed, n.suppressed)
  end
  out[#out + 1] = ""
  -- The blocks added since, in the same layout.
  counts_table(out, "people.by_audience", "people", r.people.by_audience, count.AUDIENCES)
  counts_table(out, "people.by_residence", "people", r.people.by_residence, count.RESIDENCES)
  counts_table(out, "attendances.by_audience", "attendances", r.attendances.by_audience,
               count.AUDIENCES)
  counts_table(out, "attendances.by_residence", "attendances", r.attendances.by_residence,
               count.RESIDENCES)
  activity_table(out, "sessions.by_kind.fill_rate", r.sessions.by_kind, count.KINDS, true)
  counts_table(out, "sessions.cancelled.by_reason", "sessions", r.sessions.cancelled.by_reason)
  local a = r.accompaniments
  counts_table(out, "accompaniments.by_theme", "accompaniments", a.by_theme, model.themes)
  counts_table(out, "accompaniments.by_modality", "accompaniments", a.by_modality,
               count.MODALITIES)
  counts_table(out, "accompaniments.by_operator", "accompaniments", a.by_operator)
  counts_table(out, "accompaniments.by_autonomy", "accompaniments", a.by_autonomy,
               count.AUTONOMY)
  line(out, "surveys.questions")
  line(out, "question", "1", "2", "3", "4", "mean")
  for _, q in ipairs(r.surveys.questions) do
    line(out, q.id, q.counts[1], q.counts[2], q.counts[3], q.counts[4], q.mean)
  end
  out[#out + 1] = ""
  counts_table(out, "coordination.by_kind", "meetings", r.coordination.by_kind,
               count.MEETING_KINDS)
  counts_table(out, "equipment.by_age_bracket", "people", r.equipment.by_age_bracket,
               model.brackets)
  counts_table(out, "equipment.by_gender", "people", r.equipment.by_gender, count.GENDERS)
  return finish(out)
end

return M
