-- The funders' activity report (contract: "Reports", "Reports, more";
-- README.md here says what every figure counts):
--   GET /api/v1/reports/activity?from=&to=        one report (the first shape)
--   GET /api/v1/reports/activity?period=A..B&period=C..D
--       {"periods": [report, …], "total": report}
--   filters: audience, venue_id, commune, kind, organisation_id
--   forms: JSON, CSV (Accept: text/csv, format=csv, .csv), printable HTML
--   (text/html, format=html, .html), XLSX (the spreadsheet media type,
--   format=xlsx, .xlsx). Admins and coordinators only.
--
-- Its queries run off the event loop (a GET route's relais.db.query, on a
-- reader thread, all of them on one snapshot), and so does the writing of
-- the workbook.

local count = require "count"
local tables = require "tables"
local csv = require "csv"
local html = require "html"
local xlsx = require "xlsx"

local ROLES = {"admin", "coordinator"}
local MAX_PERIODS = 12
local XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
local MEDIA = {["application/json"] = "json", ["text/csv"] = "csv", ["text/html"] = "html",
               [XLSX_TYPE] = "xlsx"}
local FORMATS = {json = true, csv = true, html = true, xlsx = true}
local FILTERS = {"audience", "venue_id", "commune", "kind", "organisation_id"}

local function invalid(errors)
  local res = relais.problem(422, "the report's parameters are invalid")
  local doc = relais.json.decode(res.body)
  doc.errors = errors
  res.body = relais.json.encode(doc)
  return res
end

-- The local date after "YYYY-MM-DD" (noon of the next day, normalised by
-- os.time, read back in the configured zone).
local function next_date(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  return os.date("%Y-%m-%d", os.time{year = tonumber(y), month = tonumber(m),
                                     day = tonumber(d) + 1, hour = 12})
end

-- One bound: seconds, or nil and the reason. A local date gives its local
-- midnight (a start) or the next one (an end, so the day is included); a
-- time gives itself (a start) or the next second (an end, included).
local function bound(value, is_end)
  if type(value) ~= "string" or value == "" then
    return nil, "required: a local date (2026-01-01) or an RFC 3339 time"
  end
  local t = relais.time.local_date(value)
  if t then
    if is_end then t = relais.time.local_date(next_date(value)) end
    if t then return t end
  end
  t = relais.time.parse(value)
  if t then return is_end and t + 1 or t end
  return nil, "must be a local date (2026-01-01) or an RFC 3339 time"
end

-- "json", "csv", "html" or "xlsx": the path's, else ?format=, else
-- whichever media type the Accept header names first (JSON when none).
local function negotiate(req, forced, errors)
  if forced then return forced end
  local f = req.query.format
  if f ~= nil then
    if type(f) == "string" and FORMATS[f] then return f end
    errors[#errors + 1] = {field = "format", message = "must be one of: json, csv, html, xlsx"}
    return "json"
  end
  local accept = (req.headers.accept or ""):lower()
  local best, at = "json", math.huge
  for media, fmt in pairs(MEDIA) do
    local i = accept:find(media, 1, true)
    if i and i < at then best, at = fmt, i end
  end
  return best
end

-- The periods asked for: from/to (the first shape) or ?period= repeated.
local function periods_of(req, errors)
  local q = req.query
  if q.period ~= nil then
    if q.from ~= nil or q.to ~= nil then
      errors[#errors + 1] = {field = "period", message = "give either period or from and to"}
      return nil
    end
    local list = type(q.period) == "table" and q.period or {q.period}
    if #list > MAX_PERIODS then
      errors[#errors + 1] = {field = "period",
                             message = "at most " .. MAX_PERIODS .. " periods"}
      return nil
    end
    local out = {}
    for i, p in ipairs(list) do
      local a, b = p:match("^(.-)%.%.(.*)$")
      local lo, lo_err = bound(a, false)
      local hi, hi_err = bound(b, true)
      local field = #list > 1 and ("period[" .. i .. "]") or "period"
      if not a then
        errors[#errors + 1] = {field = field, message = "must be FROM..TO (2022-01-01..2022-12-31)"}
      elseif not lo or not hi then
        errors[#errors + 1] = {field = field, message = (lo_err or hi_err) .. " on each side of .."}
      elseif hi <= lo then
        errors[#errors + 1] = {field = field, message = "ends before it starts"}
      else
        out[#out + 1] = {from = a, to = b, lo = lo, hi = hi}
      end
    end
    if #out == #list then
      local sorted = {table.unpack(out)}
      table.sort(sorted, function(x, y) return x.lo < y.lo end)
      for i = 2, #sorted do
        if sorted[i].lo < sorted[i - 1].hi then
          errors[#errors + 1] = {field = "period", message = "the periods overlap: "
                                 .. sorted[i - 1].from .. ".." .. sorted[i - 1].to .. " and "
                                 .. sorted[i].from .. ".." .. sorted[i].to}
          break
        end
      end
    end
    return out, true
  end
  local bad = false
  for _, k in ipairs{"from", "to"} do
    if type(q[k]) == "table" then
      errors[#errors + 1] = {field = k, message = "given more than once"}
      bad = true
    end
  end
  if bad then return nil end
  local lo, lo_err = bound(q.from, false)
  local hi, hi_err = bound(q.to, true)
  if not lo then errors[#errors + 1] = {field = "from", message = lo_err} end
  if not hi then errors[#errors + 1] = {field = "to", message = hi_err} end
  if lo and hi and hi <= lo then
    errors[#errors + 1] = {field = "to", message = "must not be before from"}
  end
  if not lo or not hi or hi <= lo then return nil end
  return {{from = q.from, to = q.to, lo = lo, hi = hi}}, false
end

local function exists(view, id)
  local rows = relais.db.query("SELECT id FROM " .. view .. " WHERE id = ?", id)
  return rows and rows[1] ~= nil
end

-- The filters, checked: {audience, venue_id, commune, kind, organisation_id}.
local function filters_of(req, errors)
  local f = {}
  local function fail(k, m) errors[#errors + 1] = {field = k, message = m} end
  for _, k in ipairs(FILTERS) do
    local v = req.query[k]
    if type(v) == "table" then
      fail(k, "given more than once")
    elseif v ~= nil then
      f[k] = v
    end
  end
  if f.audience and not (f.audience == "resident" or f.audience == "professional") then
    fail("audience", "must be resident or professional")
    f.audience = nil
  end
  if f.kind and not (f.kind == "workshop" or f.kind == "permanence" or f.kind == "training") then
    fail("kind", "must be workshop, permanence or training")
    f.kind = nil
  end
  if f.commune then
    local c = f.commune:match("^%s*(.-)%s*$")
    if c == "" or #c > 100 or not utf8.len(c) then
      fail("commune", "must be a commune's name (1 to 100 characters)")
      f.commune = nil
    else
      f.commune = c
    end
  end
  for _, k in ipairs{"venue_id", "organisation_id"} do
    local v = f[k]
    if v then
      local n = v:match("^%d+$") and #v <= 15 and tonumber(v)
      local view = k == "venue_id" and "relais_v1_venues" or "relais_v1_organisations"
      if not n or n < 1 then
        fail(k, "must be an id (a positive whole number)")
        f[k] = nil
      elseif not exists(view, n) then
        fail(k, k == "venue_id" and "no such venue" or "no such organisation")
        f[k] = nil
      else
        f[k] = n
      end
    end
  end
  return f
end

-- queries.lua's parameters for RANGES ({lo, hi} each) and filters F.
local function params(ranges, f)
  local r, d = {}, {}
  for i, x in ipairs(ranges) do
    r[i] = {x.lo, x.hi}
    d[i] = {os.date("%Y-%m-%d", x.lo), next_date(os.date("%Y-%m-%d", x.hi - 1))}
  end
  return {relais.json.encode(r), relais.json.encode(d), f.audience, f.venue_id, f.commune,
          f.kind, f.organisation_id}
end

-- The periods' ranges, sorted and joined where they touch.
local function merged(periods)
  local sorted = {}
  for i, p in ipairs(periods) do sorted[i] = {lo = p.lo, hi = p.hi} end
  table.sort(sorted, function(a, b) return a.lo < b.lo end)
  local out = {}
  for _, x in ipairs(sorted) do
    local last = out[#out]
    if last and x.lo <= last.hi then
      if x.hi > last.hi then last.hi = x.hi end
    else
      out[#out + 1] = x
    end
  end
  return out
end

local function context(lo)
  local labels, of_age, of_bounds = count.brackets(relais.config.age_brackets)
  return {year = tonumber(os.date("%Y", lo)), labels = labels, of_age = of_age,
          of_bounds = of_bounds, themes = relais.settings.themes}
end

local function dress(report, p, f)
  report.from, report.to = p.from, p.to
  report.period = {start = relais.time.rfc3339(p.lo), ["end"] = relais.time.rfc3339(p.hi)}
  if next(f) then report.filters = f end
  return report
end

-- French words for the filters, for the printable forms.
local function scope(f)
  local out = {}
  if f.audience then
    out[#out + 1] = f.audience == "resident" and "habitants" or "professionnels"
  end
  if f.kind then
    out[#out + 1] = ({workshop = "ateliers", permanence = "permanences",
                      training = "formations"})[f.kind]
  end
  if f.venue_id then
    local v = relais.db.query("SELECT name FROM relais_v1_venues WHERE id = ?", f.venue_id)
    out[#out + 1] = "lieu : " .. ((v and v[1] and v[1].name) or ("n° " .. f.venue_id))
  end
  if f.commune then out[#out + 1] = "commune : " .. f.commune end
  if f.organisation_id then
    local o = relais.db.query("SELECT name FROM relais_v1_organisations WHERE id = ?",
                              f.organisation_id)
    out[#out + 1] = "structure : " .. ((o and o[1] and o[1].name)
                                       or ("n° " .. f.organisation_id))
  end
  return out
end

local function activity(req, forced)
  local errors = {}
  local fmt = negotiate(req, forced, errors)
  local periods, several = periods_of(req, errors)
  local f = filters_of(req, errors)
  if #errors > 0 then return invalid(errors) end

  local reports, raws = {}, {}
  local who = f.audience ~= nil or f.organisation_id ~= nil
  for i, p in ipairs(periods) do
    local ctx = context(p.lo)
    raws[i] = count.raw(params({p}, f), ctx, who)
    reports[i] = dress(count.finish(raws[i], ctx), p, f)
  end
  local body
  if several then
    local all = merged(periods)
    local first, last = periods[1], periods[1]
    for _, p in ipairs(periods) do
      if p.lo < first.lo then first = p end
      if p.hi > last.hi then last = p end
    end
    local total = count.finish(count.total(raws, params(all, f)), context(first.lo))
    dress(total, {from = first.from, to = last.to, lo = first.lo, hi = last.hi}, f)
    body = {periods = {table.unpack(reports)}, total = total}
    reports[#reports + 1] = total     -- the last column of the forms
  else
    body = reports[1]
  end
  if fmt == "json" then return {status = 200, json = body} end

  local ctx = context(periods[1].lo)
  local model = tables.build(reports, ctx.themes, ctx.labels)
  local meta = {columns = tables.columns(periods, several), scope = scope(f),
                ids = {}}
  for i, p in ipairs(periods) do meta.ids[i] = p.from .. ".." .. p.to end
  if several then meta.ids[#meta.ids + 1] = "total" end
  if fmt == "csv" then
    local text = several and csv.periods(model, meta) or csv.legacy(body, model)
    return {status = 200, body = text,
            headers = {["Content-Type"] = "text/csv; charset=utf-8",
                       ["Content-Disposition"] = 'attachment; filename="activite.csv"'}}
  elseif fmt == "html" then
    return {status = 200, body = html.render(model, meta),
            headers = {["Content-Type"] = "text/html; charset=utf-8"}}
  end
  return {status = 200, body = xlsx.render(model, meta),
          headers = {["Content-Type"] = XLSX_TYPE,
                     ["Content-Disposition"] = 'attachment; filename="activite.xlsx"'}}
end

-- A report of many periods and tables is a few million instructions of Lua
-- between its queries.
local OPTS = {budget = 200000000}
relais.route("GET", "/api/v1/reports/activity", function(req) return activity(req) end,
             ROLES, OPTS)
for _, f in ipairs{"html", "csv", "xlsx"} do
  relais.route("GET", "/api/v1/reports/activity." .. f,
               function(req) return activity(req, f) end, ROLES, OPTS)
end
