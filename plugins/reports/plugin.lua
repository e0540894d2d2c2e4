-- The funders' activity report (contract: "Reports"; README.md here):
--   GET /api/v1/reports/activity?from=&to=[&format=json|csv|html]
--   GET /api/v1/reports/activity.html?from=&to=
-- as JSON, as CSV tables (Accept: text/csv or format=csv) or as a printable
-- French HTML page with one SVG bar chart per table (Accept: text/html,
-- format=html, or the .html path). Admins and coordinators only.
--
-- from / to: a local date ("2026-01-01": from its local midnight; `to`
-- includes that whole local day) or an RFC 3339 time (`to` included to the
-- second). The figures count sessions starting in [lo, hi).

local queries = require "queries"
local csv = require "csv"
local html = require "html"

local ROLES = {"admin", "coordinator"}

local function invalid(errors)
  local res = relais.problem(422, "the report's range is invalid")
  local doc = relais.json.decode(res.body)
  doc.errors = errors
  res.body = relais.json.encode(doc)
  return res
end

-- The local midnight after the local date S (which local_date accepted):
-- noon of the next day, normalised by os.time, read back as a local date.
local function next_local_day(s)
  local y, m, d = s:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  local noon = os.time{year = tonumber(y), month = tonumber(m), day = tonumber(d) + 1,
                       hour = 12}
  return relais.time.local_date(os.date("%Y-%m-%d", noon))
end

-- One bound: seconds, or nil and the reason. A local date gives its local
-- midnight (`from`) or the next one (`to`, so the day is included); a time
-- gives itself (`from`) or the next second (`to`, included).
local function bound(value, is_to)
  if type(value) ~= "string" or value == "" then
    return nil, "required: a local date (2026-01-01) or an RFC 3339 time"
  end
  local t = relais.time.local_date(value)
  if t then
    if is_to then t = next_local_day(value) end
    if t then return t end
  end
  t = relais.time.parse(value)
  if t then return is_to and t + 1 or t end
  return nil, "must be a local date (2026-01-01) or an RFC 3339 time"
end

-- "json", "csv" or "html": ?format= first, else whichever of the three media
-- types the Accept header names first (JSON when it names none).
local function negotiate(req, forced)
  if forced then return forced end
  local f = req.query.format
  if f ~= nil then
    if f == "json" or f == "csv" or f == "html" then return f end
    return nil
  end
  local accept = (req.headers.accept or ""):lower()
  local best, at = "json", math.huge
  for media, fmt in pairs{["application/json"] = "json", ["text/csv"] = "csv",
                          ["text/html"] = "html"} do
    local i = accept:find(media, 1, true)
    if i and i < at then best, at = fmt, i end
  end
  return best
end

local function activity(req, forced)
  local errors = {}
  local fmt = negotiate(req, forced)
  if not fmt then
    errors[#errors + 1] = {field = "format", message = "must be one of: json, csv, html"}
  end
  local from, to = req.query.from, req.query.to
  local lo, lo_err = bound(from, false)
  local hi, hi_err = bound(to, true)
  if not lo then errors[#errors + 1] = {field = "from", message = lo_err} end
  if not hi then errors[#errors + 1] = {field = "to", message = hi_err} end
  if lo and hi and hi <= lo then
    errors[#errors + 1] = {field = "to", message = "must not be before from"}
  end
  if #errors > 0 then return invalid(errors) end

  local year = tonumber(os.date("%Y", lo))
  local report = queries.build(from, to, lo, hi, year)
  if fmt == "csv" then
    return {status = 200, body = csv.render(report),
            headers = {["Content-Type"] = "text/csv; charset=utf-8",
                       ["Content-Disposition"] = 'attachment; filename="activite.csv"'}}
  elseif fmt == "html" then
    return {status = 200, body = html.render(report),
            headers = {["Content-Type"] = "text/html; charset=utf-8"}}
  end
  return {status = 200, json = report}
end

relais.route("GET", "/api/v1/reports/activity", function(req) return activity(req) end, ROLES)
relais.route("GET", "/api/v1/reports/activity.html",
             function(req) return activity(req, "html") end, ROLES)
