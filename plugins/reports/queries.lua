-- The activity report's SQL, over the core's read models (relais_v1_*,
-- plugins/API.md) and the surveys' and Pix's (surveys_v1_*, pix_v1_*).
-- What each figure means is in README.md here; count.lua turns the rows
-- into the report.
--
-- Few passes over the facts, each grouping its rows by everything the
-- figures break them down by, count.lua rolling the groups up: the
-- services (enrollments in the sessions held) are read twice, by session
-- (kind, theme, level, status) and by person (their attendances, with what
-- people are counted by: the people, the attendances by person and the
-- total's people once each come from it); the accompaniments three times
-- (how, by person, by theme). What a figure needs of a person is read only
-- when a filter on who asks for it (the person's row otherwise stays
-- unread: SQLite reads columns when they are needed). Expressions that
-- would run on every row (a theme trimmed, a level as text) run on the
-- groups in count.lua instead.
--
-- Parameters, the same numbers in every query (a query's count is its
-- highest number, see M.NPARAMS):
--   ?1  the ranges of instants, JSON [[lo, hi], …] (hi excluded), disjoint:
--       one for a period, several for the total of periods with gaps
--   ?2  the same as local dates ["YYYY-MM-DD", …] (meetings, loans)
--   ?3  audience filter ('resident' | 'professional' | NULL)
--   ?4  venue_id filter
--   ?5  commune filter (the venue's)
--   ?6  kind filter (a session kind)
--   ?7  organisation_id filter (the person's)
-- A NULL filter lets everything through. Queries read a range through
-- json_each so that the index on starts_at serves each range
-- (tests/unit/test_readmodel.c checks every plan). Every join is a CROSS
-- JOIN, which SQLite never reorders: the ranges are the outer loop and each
-- table is reached by its key from there. Without statistics the planner
-- would otherwise start, say, from the messages' index on their status and
-- walk every message ever sent.

local M = {}

-- The sessions starting in the ranges, through the index on starts_at.
local IN_RANGE = [[
       json_each(?1) r
  CROSS JOIN relais_v1_sessions s ON s.starts_at >= r.value ->> 0 AND s.starts_at < r.value ->> 1]]

-- Where and what: the session's venue, its venue's commune, its kind.
local PLACE = [[
   AND (?4 IS NULL OR s.venue_id = ?4)
   AND (?5 IS NULL OR s.venue_id IN
        (SELECT id FROM relais_v1_venues WHERE commune = ?5 COLLATE NOCASE))
   AND (?6 IS NULL OR s.kind = ?6)]]

-- Who: a known person B.
local WHO = [[
   AND (?3 IS NULL OR b.audience = ?3)
   AND (?7 IS NULL OR b.organisation_id = ?7)]]

-- A session held (not cancelled, nor its training), counted as a service:
-- every session but a training's top level, whose parts carry the services.
local HELD_SERVICE = [[
   AND s.status = 'scheduled' AND top.status = 'scheduled'
   AND NOT (s.kind = 'training' AND s.parent_id IS NULL)]]

-- With a filter on who, a session counts when a person of the filter was
-- enrolled in it (a training: in the training), or, for residents, when it
-- had walk-ins.
local REACHED = [[
   AND ((?3 IS NULL AND ?7 IS NULL)
        OR EXISTS (SELECT 1 FROM relais_v1_enrollments e
                     JOIN relais_v1_people b ON b.id = e.beneficiary_id
                    WHERE e.session_id = COALESCE(s.parent_id, s.id)
                      AND e.status IN ('booked', 'attended', 'absent', 'excused')]]
  .. WHO .. [[)
        OR (?7 IS NULL AND COALESCE(?3, 'resident') = 'resident'
            AND EXISTS (SELECT 1 FROM relais_v1_headcounts h WHERE h.session_id = s.id)))]]

-- A service's person passes the filters on who (read only with one).
local WHO_E = [[
   AND ((?3 IS NULL AND ?7 IS NULL)
        OR EXISTS (SELECT 1 FROM relais_v1_people b
                    WHERE b.id = e.beneficiary_id]] .. WHO .. [[))]]
-- A person's length of a service: a permanence slot's, else the session's.
local LENGTH = [[
CASE WHEN e.slot_start IS NOT NULL AND s.slot_minutes IS NOT NULL THEN s.slot_minutes * 60
     ELSE s.ends_at - s.starts_at END]]

M.SQL = {}

-- Enrollments in the services held, by session: kind, the training's (or
-- the session's) theme and level as stored, status, whether the session
-- has a capacity.
M.SQL.enrollments = [[
SELECT s.kind AS kind, top.theme AS theme, top.level AS level, e.status AS status,
       s.capacity > 0 AS cap, COUNT(e.status) AS n
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
  CROSS JOIN relais_v1_enrollments e ON e.session_id = s.id
 WHERE e.status IN ('booked', 'attended', 'absent', 'excused')]] .. HELD_SERVICE .. PLACE
  .. WHO_E .. [[
 GROUP BY 1, 2, 3, 4, 5]]

-- The people who attended a service, one row each: what people are counted
-- by, their attendances (n) and the seconds of them (secs).
M.SQL.attendances = [[
SELECT b.id AS pid, b.gender AS gender, b.birth_year AS birth_year,
       b.neighborhood AS neighborhood, b.audience AS audience, b.residence AS residence,
       COUNT(b.id) AS n, SUM(]] .. LENGTH .. [[) AS secs
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
  CROSS JOIN relais_v1_enrollments e ON e.session_id = s.id
  CROSS JOIN relais_v1_people b ON b.id = e.beneficiary_id
 WHERE e.status = 'attended']] .. HELD_SERVICE .. PLACE .. WHO .. [[
 GROUP BY b.id]]

-- Walk-ins of the sessions held: residents, known by group only. A
-- training's walk-ins came for the training: its parts' length.
M.SQL.walkins = [[
SELECT h.gender AS gender, h.age_min AS age_min, h.age_max AS age_max,
       h.residence AS residence, SUM(h.n) AS n,
       SUM(h.n * CASE
         WHEN s.kind = 'training' AND s.parent_id IS NULL THEN
           (SELECT COALESCE(SUM(p.ends_at - p.starts_at), 0) FROM relais_v1_sessions p
             WHERE p.parent_id = s.id AND p.status = 'scheduled')
         WHEN s.kind = 'permanence' AND s.slot_minutes IS NOT NULL THEN s.slot_minutes * 60
         ELSE s.ends_at - s.starts_at END) AS secs
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
  CROSS JOIN relais_v1_headcounts h ON h.session_id = s.id
 WHERE s.status = 'scheduled' AND top.status = 'scheduled']] .. PLACE .. [[
   AND ?7 IS NULL AND COALESCE(?3, 'resident') = 'resident'
 GROUP BY 1, 2, 3, 4]]

-- Accompaniments of the ranges, with their place and kind filters: at the
-- venue (or the commune's venues); with a kind, given in a session of it.
local ACC = [[
       json_each(?1) r
  CROSS JOIN relais_v1_accompaniments a
    ON a.started_at >= r.value ->> 0 AND a.started_at < r.value ->> 1
  LEFT JOIN relais_v1_people b ON b.id = a.beneficiary_id
 WHERE (?4 IS NULL OR a.venue_id = ?4)
   AND (?5 IS NULL OR a.venue_id IN
        (SELECT id FROM relais_v1_venues WHERE commune = ?5 COLLATE NOCASE))
   AND (?6 IS NULL OR EXISTS (SELECT 1 FROM relais_v1_sessions x
                               WHERE x.id = a.session_id AND x.kind = ?6))
   AND (?3 IS NULL OR COALESCE(b.audience, 'resident') = ?3)
   AND (?7 IS NULL OR b.organisation_id = ?7)]]

-- Accompaniments: how they were given (modality, autonomy, operator as
-- stored), with their minutes.
M.SQL.accompaniments = [[
SELECT a.modality AS modality, a.autonomy AS autonomy,
       a.procedure_operator AS operator, COUNT(a.id) AS n, SUM(a.minutes) AS minutes
  FROM ]] .. ACC .. [[
 GROUP BY 1, 2, 3]]

-- Who was accompanied: one row per person known by name (pid), one per
-- anonymous group (gender, bracket's bounds, residence).
M.SQL.accompanied = [[
SELECT b.id AS pid, b.gender AS gender, b.birth_year AS birth_year,
       b.neighborhood AS neighborhood, b.audience AS audience, b.residence AS residence,
       NULL AS age_min, NULL AS age_max, COUNT(a.id) AS n
  FROM ]] .. ACC .. [[ AND a.beneficiary_id IS NOT NULL
 GROUP BY b.id
UNION ALL
SELECT NULL, a.anon_gender, NULL, NULL, 'resident', a.anon_residence, a.anon_age_min,
       a.anon_age_max, COUNT(a.id)
  FROM ]] .. ACC .. [[ AND a.beneficiary_id IS NULL
 GROUP BY 2, 6, 7, 8]]

M.SQL.accompaniment_themes = [[
SELECT t.theme AS theme, COUNT(a.id) AS n
  FROM ]] .. ACC:gsub("  LEFT JOIN relais_v1_people b",
                      "  CROSS JOIN relais_v1_accompaniment_themes t ON t.accompaniment_id = a.id\n"
                      .. "  LEFT JOIN relais_v1_people b", 1) .. [[
 GROUP BY 1]]

-- Top-level sessions of the ranges, held or cancelled.
M.SQL.sessions = [[
SELECT s.status AS status, s.kind AS kind,
       COALESCE(NULLIF(TRIM(s.theme), ''), 'unknown') AS theme,
       COALESCE(CAST(s.level AS TEXT), 'unknown') AS level,
       COALESCE(NULLIF(TRIM(s.cancel_reason), ''), 'unknown') AS reason, COUNT(*) AS n
  FROM ]] .. IN_RANGE .. [[
 WHERE s.parent_id IS NULL]] .. PLACE .. REACHED .. [[
 GROUP BY 1, 2, 3, 4, 5]]

-- The services held: their hours (a training by its parts) and capacity.
M.SQL.held = [[
SELECT s.kind AS kind, COUNT(*) AS n, SUM(s.ends_at - s.starts_at) AS secs,
       SUM(CASE WHEN s.capacity > 0 THEN s.capacity ELSE 0 END) AS capacity
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
 WHERE 1]] .. HELD_SERVICE .. PLACE .. REACHED .. [[
 GROUP BY 1]]

-- Messages about the sessions of the ranges, cancelled ones included (a
-- cancellation was sent and paid for), by channel and status (count.lua
-- keeps the final ones), with the SMS segments sent. The index
-- notifications_session (core step 20) holds every column read here:
-- without a filter on who, the messages are read from it alone; with one
-- (the variants *_who), each message's person is looked up.
local function messages(who)
  return [[
SELECT n.channel AS channel, n.status AS status, COUNT(n.session_id) AS n,
       SUM(CASE WHEN n.channel = 'sms' AND n.status IN ('sent', 'delivered')
                THEN COALESCE(n.segments, 0) ELSE 0 END) AS segments
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_notifications n ON n.session_id = s.id]]
    .. (who and "\n  CROSS JOIN relais_v1_people b ON b.id = n.beneficiary_id" or "") .. [[
 WHERE 1]] .. PLACE .. (who and WHO or "\n   AND ?3 IS NULL AND ?7 IS NULL") .. [[
 GROUP BY n.channel, n.status]]
end

-- The enrollments whose survey was sent or delivered, by any channel.
local function invited(who)
  return [[
SELECT COUNT(DISTINCT n.enrollment_id) AS n
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_notifications n ON n.session_id = s.id AND n.kind = 'survey'
        AND n.status IN ('sent', 'delivered')]]
    .. (who and "\n  CROSS JOIN relais_v1_people b ON b.id = n.beneficiary_id" or "") .. [[
 WHERE 1]] .. PLACE .. (who and WHO or "\n   AND ?3 IS NULL AND ?7 IS NULL")
end
M.SQL.invited = invited(false)
M.SQL.invited_who = invited(true)
M.SQL.notifications = messages(false)
M.SQL.notifications_who = messages(true)

-- The survey answers of the sessions of the ranges: 'responses' (n), and
-- by question ('score', k1): answers (n), their sum (x1), each score.
M.SQL.surveys = [[
WITH ans AS MATERIALIZED (
  SELECT sr.enrollment_id AS enrollment_id
    FROM ]] .. IN_RANGE .. [[
    CROSS JOIN surveys_v1_responses sr ON sr.session_id = s.id
    CROSS JOIN relais_v1_enrollments e ON e.id = sr.enrollment_id
    CROSS JOIN relais_v1_people b ON b.id = e.beneficiary_id
   WHERE 1]] .. PLACE .. WHO .. [[
)
SELECT 'responses' AS d, NULL AS k1, COUNT(enrollment_id) AS n, NULL AS x1, NULL AS s1,
       NULL AS s2, NULL AS s3, NULL AS s4
  FROM ans
UNION ALL
SELECT 'score', sc.question_id, COUNT(sc.score), SUM(sc.score), SUM(sc.score = 1),
       SUM(sc.score = 2), SUM(sc.score = 3), SUM(sc.score = 4)
  FROM ans CROSS JOIN surveys_v1_scores sc ON sc.enrollment_id = ans.enrollment_id
 GROUP BY sc.question_id]]

-- People with a Pix result dated in the ranges (Pix has no place: only the
-- filters on who apply).
M.SQL.pix = [[
SELECT DISTINCT x.beneficiary_id AS pid
  FROM json_each(?1) r
  CROSS JOIN pix_v1_participations x ON x.date >= r.value ->> 0 AND x.date < r.value ->> 1
  CROSS JOIN relais_v1_people b ON b.id = x.beneficiary_id
 WHERE 1]] .. WHO .. [[]]

-- The network's meetings of the ranges' local dates; of an organisation
-- when filtered by one (the other filters are about services).
M.SQL.meetings = [[
SELECT m.kind AS kind, COUNT(*) AS n
  FROM json_each(?2) d
  CROSS JOIN relais_v1_meetings m ON m.date >= d.value ->> 0 AND m.date < d.value ->> 1
 WHERE (?7 IS NULL OR EXISTS (SELECT 1 FROM relais_v1_meeting_organisations mo
                               WHERE mo.meeting_id = m.id AND mo.organisation_id = ?7))
 GROUP BY 1]]

-- Devices: those registered by the end of the ranges (?1's last hi), or
-- lent or used during them (a device entered after the fact), at the venue
-- or in the commune.
M.SQL.devices = [[
SELECT COUNT(q.id) AS n
  FROM relais_v1_equipment q
 WHERE (q.created_at < (SELECT MAX(value ->> 1) FROM json_each(?1))
        OR EXISTS (SELECT 1 FROM json_each(?2) d
                     JOIN relais_v1_loans l ON l.equipment_id = q.id
                      AND l.from_date < d.value ->> 1
                      AND COALESCE(l.returned_on, '9999-12-31') >= d.value ->> 0)
        OR EXISTS (SELECT 1 FROM relais_v1_session_equipment se
                     JOIN relais_v1_sessions s ON s.id = se.session_id
                     JOIN json_each(?1) r
                       ON s.starts_at >= r.value ->> 0 AND s.starts_at < r.value ->> 1
                    WHERE se.equipment_id = q.id AND s.status = 'scheduled'))
   AND (?4 IS NULL OR q.venue_id = ?4)
   AND (?5 IS NULL OR q.venue_id IN
        (SELECT id FROM relais_v1_venues WHERE commune = ?5 COLLATE NOCASE))]]

-- Loans starting in the ranges' local dates, of the venue's devices.
local LOANS = [[
       json_each(?2) d
  CROSS JOIN relais_v1_loans l ON l.from_date >= d.value ->> 0 AND l.from_date < d.value ->> 1
  CROSS JOIN relais_v1_equipment q ON q.id = l.equipment_id
  CROSS JOIN relais_v1_people b ON b.id = l.beneficiary_id
 WHERE (?4 IS NULL OR q.venue_id = ?4)
   AND (?5 IS NULL OR q.venue_id IN
        (SELECT id FROM relais_v1_venues WHERE commune = ?5 COLLATE NOCASE))]]

M.SQL.loans = "SELECT COUNT(l.id) AS n FROM " .. LOANS .. WHO

-- The people who used the programme's devices, one row each: attended a
-- service session that used some (its own or its training's), were
-- accompanied on the venue's computer or tablet or a lent device, or
-- borrowed one.
M.SQL.equipment_people = [[
WITH users(pid) AS (
  SELECT e.beneficiary_id
    FROM ]] .. IN_RANGE .. [[
    CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
    CROSS JOIN relais_v1_enrollments e ON e.session_id = s.id
   WHERE e.status = 'attended']] .. HELD_SERVICE .. PLACE .. [[
     AND EXISTS (SELECT 1 FROM relais_v1_session_equipment se
                  WHERE se.session_id IN (s.id, top.id))
  UNION
  SELECT a.beneficiary_id FROM ]] .. ACC .. [[ AND a.beneficiary_id IS NOT NULL
     AND EXISTS (SELECT 1 FROM relais_v1_accompaniment_equipment ae
                  WHERE ae.accompaniment_id = a.id
                    AND ae.equipment IN ('venue_computer', 'venue_tablet', 'loaned_device'))
  UNION
  SELECT l.beneficiary_id FROM ]] .. LOANS .. [[
)
SELECT b.id AS pid, b.gender AS gender, b.birth_year AS birth_year,
       b.neighborhood AS neighborhood, b.audience AS audience, b.residence AS residence
  FROM users CROSS JOIN relais_v1_people b ON b.id = users.pid
 WHERE 1]] .. WHO

-- Sessions held that used the programme's devices (a training's part: its
-- own devices or its training's).
M.SQL.equipment_sessions = [[
SELECT COUNT(s.id) AS n
  FROM ]] .. IN_RANGE .. [[
  CROSS JOIN relais_v1_sessions top ON top.id = COALESCE(s.parent_id, s.id)
 WHERE 1]] .. HELD_SERVICE .. PLACE .. REACHED .. [[
   AND EXISTS (SELECT 1 FROM relais_v1_session_equipment se
                WHERE se.session_id IN (s.id, top.id))]]

-- How many parameters each query takes: its highest ?N.
M.NPARAMS = {}
for name, sql in pairs(M.SQL) do
  local n = 0
  for d in sql:gmatch("%?(%d+)") do n = math.max(n, tonumber(d)) end
  M.NPARAMS[name] = n
end

-- The queries of the plugins' read models: nil, "no such table" when that
-- plugin never ran here, which counts as nothing.
M.OPTIONAL = {surveys = true, pix = true}

return M
