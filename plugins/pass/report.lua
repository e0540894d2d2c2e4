-- GET /api/v1/reports/pass?period=FROM..TO&period=…: the funders' table of
-- the passes spent, one column per period and the total last.
--   - A pass counts in a period when it was spent (its scan's local date)
--     in it; in the total when it was spent in any of the periods (once,
--     even when periods overlap).
--   - It counts for the person its book was given to (the last handover
--     to a person), "unknown" when it has none (a pass of no book, a book
--     never given); age = year(period start) − birth year, in the total
--     the age of the first period it counts in. Erased people keep their
--     gender and birth year (relais_v1_people): they still count.
--   - people: the distinct people with a pass spent, per period; the total
--     counts each once (gender, age as of their first period).
--   - level and service: the scan's, else those of the accompaniment that
--     cites the pass (its first theme; its permanence's level).
--   - by_level share: the passes of that level ÷ the passes with a level,
--     in percent rounded to 2 decimals (the programme's 34.99 / 56.02 /
--     8.98 % are 787, 1,260 and 202 of 2,249); "unknown" has no share.
local json = require "json"
local dates = require "dates"

local M = {}

M.MAX_PERIODS = 12
M.GENDERS = {"F", "M", "X", "unknown"}
M.LEVELS = {"1", "2", "3", "unknown"}

-- Bracket labels from the configured lower bounds: {26, 36, 46, 56} →
-- "<26", "26-35", "36-45", "46-55", "56+", then "unknown".
function M.brackets(bounds)
  local labels = {}
  if #bounds == 0 then return {"unknown"} end
  labels[1] = "<" .. bounds[1]
  for i = 2, #bounds do labels[i] = bounds[i - 1] .. "-" .. (bounds[i] - 1) end
  labels[#bounds + 1] = bounds[#bounds] .. "+"
  labels[#bounds + 2] = "unknown"
  return labels
end

local function bracket_of(bounds, labels, age)
  if not age then return "unknown" end
  for i, b in ipairs(bounds) do
    if age < b then return labels[i] end
  end
  return labels[#bounds + 1]
end

-- ?period values → {{from, to}} or nil and the errors (a Check).
function M.periods(req, check)
  local v = req.query.period
  if v == nil then
    check:add("period", "required: FROM..TO, local dates (2022-01-01..2022-12-31)")
    return nil
  end
  if type(v) ~= "table" then v = {v} end
  if #v > M.MAX_PERIODS then
    check:add("period", "at most " .. M.MAX_PERIODS .. " periods")
    return nil
  end
  local out = {}
  for i, p in ipairs(v) do
    local field = #v > 1 and string.format("period[%d]", i - 1) or "period"
    local from, to = p:match("^(%d%d%d%d%-%d%d%-%d%d)%.%.(%d%d%d%d%-%d%d%-%d%d)$")
    if not from or not dates.valid(from) or not dates.valid(to) then
      check:add(field, "must be FROM..TO, two local dates (2022-01-01..2022-12-31)")
    elseif to < from then
      check:add(field, "TO must not be before FROM")
    else
      out[#out + 1] = {from = from, to = to}
    end
  end
  if not check:ok() then return nil end
  return out
end

-- Every pass spent between LO and HI, with whom it counts for and its
-- level and service.
local SPENT = [[
WITH holder AS (
  SELECT h.book_id, h.beneficiary_id FROM pass_handovers h
   WHERE h.beneficiary_id IS NOT NULL
     AND h.id = (SELECT max(x.id) FROM pass_handovers x
                  WHERE x.book_id = h.book_id AND x.beneficiary_id IS NOT NULL))
SELECT s.pass, s.on_date, s.level, s.service, hd.beneficiary_id AS person,
       pe.gender, pe.birth_year
  FROM pass_scans s
  LEFT JOIN holder hd ON hd.book_id = s.book_id
  LEFT JOIN relais_v1_people pe ON pe.id = hd.beneficiary_id
 WHERE s.on_date >= ? AND s.on_date <= ?]]

-- The accompaniments that cite a pass: its first theme and its
-- permanence's level (the first accompaniment of a pass). With `IS NOT
-- NULL ORDER BY a.id DESC` SQLite read every accompaniment in id order to
-- spare itself a sort (300,000 at 100x a territory); `a.pass >= ''` (every
-- text) and an order by `a.id + 0` (which no index gives) make it walk the
-- index on pass (core step 21) and sort the few rows found instead
-- (tests/integration/test_scale.py checks the plan).
local CITED = [[
SELECT a.pass, (SELECT t.theme FROM relais_v1_accompaniment_themes t
                 WHERE t.accompaniment_id = a.id ORDER BY t.pos LIMIT 1) AS theme,
       se.level
  FROM relais_v1_accompaniments a
  LEFT JOIN relais_v1_sessions se ON se.id = a.session_id
 WHERE a.pass >= '' ORDER BY a.id + 0 DESC]]

-- A row of N zeros (the periods, then the total).
local function zeros(n)
  local t = json.list()
  for i = 1, n do t[i] = 0 end
  return t
end

local function keyed(keys, n)
  local t = {}
  for _, k in ipairs(keys) do t[k] = zeros(n) end
  return t
end

local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

function M.build(periods)
  local bounds = relais.settings.age_brackets or {26, 36, 46, 56}
  local labels = M.brackets(bounds)
  local np = #periods
  local n = np + 1
  local lo, hi = periods[1].from, periods[1].to
  local years = {}
  for i, p in ipairs(periods) do
    if p.from < lo then lo = p.from end
    if p.to > hi then hi = p.to end
    years[i] = tonumber(p.from:sub(1, 4))
  end
  local cited = {}
  for _, a in ipairs(assert(relais.db.query(CITED))) do cited[a.pass] = a end

  local spent = {total = zeros(n), by_gender = keyed(M.GENDERS, n),
                 by_age_bracket = keyed(labels, n)}
  local people = {total = zeros(n), by_gender = keyed(M.GENDERS, n),
                  by_age_bracket = keyed(labels, n)}
  local level_counts = keyed(M.LEVELS, n)
  local by_service = {}
  local seen = {}         -- seen[i][person] = true: counted in period i
  for i = 1, n do seen[i] = {} end

  local function count(i, r, level, service, age_year)
    local gender = r.gender or "unknown"
    local age = r.birth_year and (age_year - r.birth_year) or nil
    local bracket = bracket_of(bounds, labels, age)
    spent.total[i] = spent.total[i] + 1
    spent.by_gender[gender][i] = spent.by_gender[gender][i] + 1
    spent.by_age_bracket[bracket][i] = spent.by_age_bracket[bracket][i] + 1
    level_counts[level][i] = level_counts[level][i] + 1
    local sv = by_service[service]
    if not sv then sv = zeros(n) by_service[service] = sv end
    sv[i] = sv[i] + 1
    if r.person and not seen[i][r.person] then
      seen[i][r.person] = true
      people.total[i] = people.total[i] + 1
      people.by_gender[gender][i] = people.by_gender[gender][i] + 1
      people.by_age_bracket[bracket][i] = people.by_age_bracket[bracket][i] + 1
    end
  end

  for _, r in ipairs(assert(relais.db.query(SPENT, lo, hi))) do
    local a = cited[r.pass]
    local level = r.level or (a and a.level)
    level = level and tostring(level) or "unknown"
    local service = r.service or (a and a.theme) or "unknown"
    local first
    for i, p in ipairs(periods) do
      if r.on_date >= p.from and r.on_date <= p.to then
        count(i, r, level, service, years[i])
        first = first or i
      end
    end
    if first then count(n, r, level, service, years[first]) end
  end

  local known = 0
  for _, k in ipairs{"1", "2", "3"} do known = known + level_counts[k][n] end
  local by_level = {}
  for _, k in ipairs(M.LEVELS) do
    local row = level_counts[k]
    local shares = json.list()
    for i = 1, n do
      local all = 0
      for _, l in ipairs{"1", "2", "3"} do all = all + level_counts[l][i] end
      shares[i] = (k ~= "unknown" and all > 0) and round2(100 * row[i] / all) or json.null
    end
    by_level[k] = {spent = row[n], share = shares[n], spent_by_period = row,
                   share_by_period = shares}
  end
  local out_periods = json.list()
  for i, p in ipairs(periods) do out_periods[i] = {from = p.from, to = p.to} end
  return {periods = out_periods, age_brackets = labels, spent = spent, people = people,
          by_level = by_level, by_service = by_service, levels_known = known}
end

return M
