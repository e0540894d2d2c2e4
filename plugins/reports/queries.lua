-- The activity report's figures, each one SQL query aggregated with GROUP BY,
-- over the core's read models (relais_v1_*, plugins/API.md).
--
-- What is counted (plugins/reports/README.md says the same for users):
--   * A session is in the range when it STARTS in [lo, hi) and is not
--     cancelled (funders count what happened).
--   * sessions.*.sessions counts top-level sessions: a training once, not its
--     parts.
--   * enrolled / attended / absent, attendances and people count enrollments
--     in "service sessions": every session but a training's top level, whose
--     parts carry the attendance (one person at three parts = three
--     services). A part counts when the part starts in the range and neither
--     it nor its training is cancelled; theme and level are the training's.
--   * enrolled = booked, attended, absent or excused (not cancelled, not
--     waitlisted).
--   * A person counts once they attended one service session; their age is
--     year(from) - birth_year. Erased people keep gender, birth year and
--     neighbourhood, so they count like anyone else.
--   * notifications count messages about sessions starting in the range
--     (cancelled sessions included: a cancellation SMS was sent and paid).
-- Every breakdown has an "unknown" key for a missing value.

local M = {}

-- Enrollments in the service sessions of the range. ?1 = lo, ?2 = hi.
local SERVICES = [[
WITH svc AS (
  SELECT e.beneficiary_id, e.status, s.kind, top.theme, top.level
    FROM relais_v1_enrollments e
    JOIN relais_v1_sessions s   ON s.id = e.session_id
    JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
   WHERE s.starts_at >= ?1 AND s.starts_at < ?2
     AND s.status = 'scheduled' AND top.status = 'scheduled'
     AND NOT (s.kind = 'training' AND s.parent_id IS NULL)
)
]]

-- The people who attended at least one service session.
local PEOPLE = SERVICES .. [[
, people AS (SELECT DISTINCT beneficiary_id AS id FROM svc WHERE status = 'attended')
]]

local GENDER = "COALESCE(b.gender, 'unknown')"
-- ?3 = the local year of `from`.
local AGE_BRACKET = [[
CASE WHEN b.birth_year IS NULL        THEN 'unknown'
     WHEN ?3 - b.birth_year < 26      THEN '<26'
     WHEN ?3 - b.birth_year <= 35     THEN '26-35'
     WHEN ?3 - b.birth_year <= 45     THEN '36-45'
     WHEN ?3 - b.birth_year <= 55     THEN '46-55'
     ELSE '56+' END]]
local NEIGHBORHOOD = "COALESCE(NULLIF(TRIM(b.neighborhood), ''), 'unknown')"

local function people_by(key)
  return PEOPLE .. "SELECT " .. key .. [[ AS k, COUNT(*) AS n
  FROM people JOIN relais_v1_people b ON b.id = people.id
 GROUP BY k]]
end

local function attendances_by(key)
  return SERVICES .. "SELECT " .. key .. [[ AS k, COUNT(*) AS n
  FROM svc JOIN relais_v1_people b ON b.id = svc.beneficiary_id
 WHERE svc.status = 'attended'
 GROUP BY k]]
end

local THEME = "COALESCE(NULLIF(TRIM(theme), ''), 'unknown')"
local LEVEL = "COALESCE(CAST(level AS TEXT), 'unknown')"

-- Top-level sessions held in the range.
local function sessions_by(key)
  return "SELECT " .. key .. [[ AS k, COUNT(*) AS n
  FROM relais_v1_sessions
 WHERE parent_id IS NULL AND status = 'scheduled'
   AND starts_at >= ?1 AND starts_at < ?2
 GROUP BY k]]
end

local function enrollments_by(key)
  return SERVICES .. "SELECT " .. key .. [[ AS k,
       SUM(status IN ('booked', 'attended', 'absent', 'excused')) AS enrolled,
       SUM(status = 'attended') AS attended,
       SUM(status = 'absent')   AS absent
  FROM svc
 GROUP BY k]]
end

local NOTIFICATIONS = [[
SELECT n.channel AS channel, n.status AS status, COUNT(*) AS n,
       SUM(CASE WHEN n.channel = 'sms' AND n.status IN ('sent', 'delivered')
                THEN COALESCE(n.segments, 0) ELSE 0 END) AS segments
  FROM relais_v1_notifications n
  JOIN relais_v1_sessions s ON s.id = n.session_id
 WHERE s.starts_at >= ?1 AND s.starts_at < ?2
   AND n.status IN ('sent', 'delivered', 'failed', 'suppressed')
 GROUP BY n.channel, n.status]]

M.SQL = {
  people_gender = people_by(GENDER),
  people_age = people_by(AGE_BRACKET),
  people_neighborhood = people_by(NEIGHBORHOOD),
  attendances_gender = attendances_by(GENDER),
  attendances_age = attendances_by(AGE_BRACKET),
  sessions_kind = sessions_by("kind"),
  sessions_theme = sessions_by(THEME),
  sessions_level = sessions_by(LEVEL),
  enrollments_kind = enrollments_by("kind"),
  enrollments_theme = enrollments_by(THEME),
  enrollments_level = enrollments_by(LEVEL),
  notifications = NOTIFICATIONS,
}

-- The fixed keys of each breakdown, in display order (CSV, HTML). Themes and
-- neighbourhoods are whatever the data holds, sorted, "unknown" last.
M.GENDERS = {"F", "M", "X", "unknown"}
M.BRACKETS = {"<26", "26-35", "36-45", "46-55", "56+", "unknown"}
M.KINDS = {"workshop", "permanence", "training"}
M.LEVELS = {"1", "2", "3", "unknown"}
M.CHANNELS = {"sms", "email"}
M.STATUSES = {"sent", "delivered", "failed", "suppressed"}

local function query(name, ...)
  local rows, err = relais.db.query(M.SQL[name], ...)
  if not rows then
    error("reports: query " .. name .. " failed: " .. tostring(err), 0)
  end
  return rows
end

-- {k = n} from (k, n) rows, every key of FIXED present (0 when absent);
-- also returns the sum.
local function counts(rows, fixed)
  local out, total = {}, 0
  for _, k in ipairs(fixed) do out[k] = 0 end
  for _, r in ipairs(rows) do
    out[r.k] = r.n
    total = total + r.n
  end
  return out, total
end

local function stats()
  return {sessions = 0, enrolled = 0, attended = 0, absent = 0}
end

-- {k = {sessions, enrolled, attended, absent}}, every key of FIXED present.
local function activity(session_rows, enrollment_rows, fixed)
  local out = {}
  for _, k in ipairs(fixed) do out[k] = stats() end
  for _, r in ipairs(session_rows) do
    out[r.k] = out[r.k] or stats()
    out[r.k].sessions = r.n
  end
  for _, r in ipairs(enrollment_rows) do
    local s = out[r.k] or stats()
    s.enrolled, s.attended, s.absent = r.enrolled or 0, r.attended or 0, r.absent or 0
    out[r.k] = s
  end
  return out
end

-- The report for [lo, hi) with ages counted in YEAR; FROM and TO are echoed.
function M.build(from, to, lo, hi, year)
  local r = {from = from, to = to,
             period = {start = relais.time.rfc3339(lo), ["end"] = relais.time.rfc3339(hi)}}
  local p = {}
  p.by_gender, p.total = counts(query("people_gender", lo, hi), M.GENDERS)
  p.by_age_bracket = counts(query("people_age", lo, hi, year), M.BRACKETS)
  p.by_neighborhood = counts(query("people_neighborhood", lo, hi), {"unknown"})
  r.people = p

  local a = {}
  a.by_gender, a.total = counts(query("attendances_gender", lo, hi), M.GENDERS)
  a.by_age_bracket = counts(query("attendances_age", lo, hi, year), M.BRACKETS)
  r.attendances = a

  local s = {}
  s.by_kind = activity(query("sessions_kind", lo, hi), query("enrollments_kind", lo, hi),
                       M.KINDS)
  s.by_theme = activity(query("sessions_theme", lo, hi), query("enrollments_theme", lo, hi),
                        {"unknown"})
  s.by_level = activity(query("sessions_level", lo, hi), query("enrollments_level", lo, hi),
                        M.LEVELS)
  local total, attended, absent = 0, 0, 0
  for _, v in pairs(s.by_kind) do
    total, attended, absent = total + v.sessions, attended + v.attended, absent + v.absent
  end
  s.total = total
  r.sessions = s
  -- Two decimals, as the funders' tables print it; null when nobody was
  -- marked attended or absent (0 would claim a perfect record).
  if attended + absent > 0 then
    r.no_show_rate = math.floor(absent * 100 / (attended + absent) + 0.5) / 100
  else
    r.no_show_rate = relais.json.null
  end

  local n, segments = {}, 0
  for _, c in ipairs(M.CHANNELS) do n[c] = counts({}, M.STATUSES) end
  for _, row in ipairs(query("notifications", lo, hi)) do
    n[row.channel][row.status] = row.n
    segments = segments + (row.segments or 0)
  end
  r.notifications = n
  r.sms_segments = segments
  return r
end

-- KEYS of MAP in display order: FIXED first (when given), then the others
-- sorted, "unknown" last.
function M.ordered(map, fixed)
  local out, seen, rest = {}, {}, {}
  for _, k in ipairs(fixed or {}) do
    out[#out + 1] = k
    seen[k] = true
  end
  for k in pairs(map) do
    if not seen[k] and k ~= "unknown" then rest[#rest + 1] = k end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do out[#out + 1] = k end
  if map.unknown ~= nil and not seen.unknown then out[#out + 1] = "unknown" end
  return out
end

return M
