-- The report's figures from the rows of queries.lua (README.md here says
-- what each one counts).
--
-- A period is counted into a "raw" report: plain counts, plus the
-- numerators and denominators of its rates and the seconds of its hours
-- (keys starting with "_"). The total of several periods is the sum of
-- their raw reports, except what counts people once (people, Pix, the
-- devices' users), counted again over all the periods, and the devices,
-- those at the end of the last period. M.finish turns a raw report into
-- the answer: rates, hours, questions, no "_" keys.

local Q = require "queries"

local M = {}

M.GENDERS = {"F", "M", "X", "unknown"}
M.KINDS = {"workshop", "permanence", "training"}
M.LEVELS = {"1", "2", "3", "unknown"}
M.AUDIENCES = {"resident", "professional"}
M.RESIDENCES = {"qpv", "qva", "outside", "unknown"}
M.MODALITIES = {"on_site", "phone", "home", "remote"}
M.AUTONOMY = {"1", "2", "3", "unknown"}
M.MEETING_KINDS = {"steering_committee", "technical_committee", "working_group", "network",
                   "professional_training", "other"}
M.CHANNELS = {"sms", "email"}
M.STATUSES = {"sent", "delivered", "failed", "suppressed"}
-- The default questionnaire's scores (plugins/surveys/questions.lua); a
-- question of a configured one is shown by its id.
M.QUESTIONS = {
  {id = "content", label = "Le contenu de l'atelier"},
  {id = "clarity", label = "La clarté du formateur ou de la formatrice"},
  {id = "exchanges", label = "Les échanges et l'ambiance du groupe"},
  {id = "overall", label = "Dans l'ensemble, êtes-vous satisfait·e ?"},
}
local EQUIPMENT_USE = {venue_computer = true, venue_tablet = true, loaned_device = true}
M.EQUIPMENT_USE = EQUIPMENT_USE

-- --- age brackets ------------------------------------------------------------

-- FIRSTS: the first age of each bracket after the first ({26, 36, 46, 56}).
-- Returns the labels ("<26", "26-35", …, "56+", "unknown") and two
-- functions: the label of an age, and of an anonymous bracket's bounds
-- (nil for an open end), "unknown" when they fit in no bracket.
function M.brackets(firsts)
  local labels, lo, hi = {}, {}, {}
  local n = #firsts
  for i = 1, n + 1 do
    lo[i] = firsts[i - 1]
    hi[i] = firsts[i] and firsts[i] - 1
    if i == 1 then
      labels[i] = "<" .. firsts[1]
    elseif i == n + 1 then
      labels[i] = firsts[n] .. "+"
    else
      labels[i] = lo[i] .. "-" .. hi[i]
    end
  end
  local all = {table.unpack(labels)}
  all[#all + 1] = "unknown"
  local function of_age(age)
    if not age then return "unknown" end
    for i = 1, n + 1 do
      if (not hi[i] or age <= hi[i]) then return labels[i] end
    end
    return labels[n + 1]
  end
  local function of_bounds(amin, amax)
    if amin == nil and amax == nil then return "unknown" end
    for i = 1, n + 1 do
      local fits_lo = lo[i] == nil or (amin ~= nil and amin >= lo[i])
      local fits_hi = hi[i] == nil or (amax ~= nil and amax <= hi[i])
      if fits_lo and fits_hi then return labels[i] end
    end
    return "unknown"
  end
  return all, of_age, of_bounds
end

-- --- building ------------------------------------------------------------------

local function zeros(keys)
  local t = {}
  for _, k in ipairs(keys) do t[k] = 0 end
  return t
end

local function add(t, k, n)
  t[k] = (t[k] or 0) + (n or 0)
end

local function stats()
  return {sessions = 0, enrolled = 0, attended = 0, absent = 0}
end

local function kind_stats()
  local s = stats()
  s._enrolled_cap, s._capacity = 0, 0
  return s
end

local function people_block(brackets)
  return {total = 0, by_gender = zeros(M.GENDERS), by_age_bracket = zeros(brackets),
          by_neighborhood = {unknown = 0}, by_audience = zeros(M.AUDIENCES),
          by_residence = zeros(M.RESIDENCES)}
end

-- An empty raw report: every fixed key present, at 0.
local function new_raw(ctx)
  local by_kind = {}
  for _, k in ipairs(M.KINDS) do by_kind[k] = kind_stats() end
  local by_level = {}
  for _, k in ipairs(M.LEVELS) do by_level[k] = stats() end
  local notifications = {}
  for _, c in ipairs(M.CHANNELS) do notifications[c] = zeros(M.STATUSES) end
  return {
    people = people_block(ctx.labels),
    attendances = {total = 0, by_gender = zeros(M.GENDERS), by_age_bracket = zeros(ctx.labels),
                   by_audience = zeros(M.AUDIENCES), by_residence = zeros(M.RESIDENCES)},
    sessions = {total = 0, by_kind = by_kind, by_theme = {unknown = stats()},
                by_level = by_level, cancelled = {total = 0, by_reason = {unknown = 0}}},
    hours = {_session_secs = 0, _person_secs = 0},
    accompaniments = {total = 0, by_theme = zeros(ctx.themes), by_modality = zeros(M.MODALITIES),
                      by_operator = {none = 0}, by_autonomy = zeros(M.AUTONOMY)},
    notifications = notifications,
    sms_segments = 0,
    _attended = 0, _absent = 0,
    surveys = {invited = 0, responses = 0, _q = {}},
    pix = {people_assessed = 0},
    coordination = {meetings = 0, by_kind = zeros(M.MEETING_KINDS)},
    equipment = {devices = 0, sessions = 0, loans = 0, people = 0, by_gender = zeros(M.GENDERS),
                 by_age_bracket = zeros(ctx.labels)},
  }
end

local function run(name, P)
  local rows, err = relais.db.query(Q.SQL[name], table.unpack(P, 1, Q.NPARAMS[name]))
  if not rows then
    if Q.OPTIONAL[name] and tostring(err):find("no such table", 1, true) then return {} end
    error("reports: query " .. name .. " failed: " .. tostring(err), 0)
  end
  return rows
end

local function one(name, P)
  local rows = run(name, P)
  return rows[1] and rows[1].n or 0
end

-- A group of attendances (N of them) of people described by ROW.
local function attend(a, row, bracket, n, audience)
  a.total = a.total + n
  add(a.by_gender, row.gender or "unknown", n)
  add(a.by_age_bracket, bracket, n)
  add(a.by_audience, audience or row.audience or "resident", n)
  add(a.by_residence, row.residence or "unknown", n)
end

-- People counted once (over the period's ranges): people, Pix, users of
-- the devices. Also what a total counts again.
local function count_unique(r, P, ctx)
  local p = r.people
  for _, row in ipairs(run("people", P)) do
    local n = row.n
    p.total = p.total + n
    add(p.by_gender, row.gender or "unknown", n)
    add(p.by_age_bracket, ctx.of_age(row.birth_year and ctx.year - row.birth_year), n)
    add(p.by_neighborhood, row.neighborhood, n)
    add(p.by_audience, row.audience, n)
    add(p.by_residence, row.residence or "unknown", n)
  end
  r.pix.people_assessed = one("pix", P)
  local e = r.equipment
  for _, row in ipairs(run("equipment_people", P)) do
    e.people = e.people + row.n
    add(e.by_gender, row.gender or "unknown", row.n)
    add(e.by_age_bracket, ctx.of_age(row.birth_year and ctx.year - row.birth_year), row.n)
  end
  e.devices = one("devices", P)
end

-- The raw report of the ranges in P (queries.lua's parameters); CTX holds
-- the year ages are counted in, the brackets and the themes.
function M.raw(P, ctx)
  local r = new_raw(ctx)
  local s = r.sessions

  for _, row in ipairs(run("enrollments", P)) do
    s.by_kind[row.kind] = s.by_kind[row.kind] or kind_stats()
    s.by_theme[row.theme] = s.by_theme[row.theme] or stats()
    s.by_level[row.level] = s.by_level[row.level] or stats()
    for _, t in ipairs{s.by_kind[row.kind], s.by_theme[row.theme], s.by_level[row.level]} do
      t.enrolled = t.enrolled + row.enrolled
      t.attended = t.attended + row.attended
      t.absent = t.absent + row.absent
    end
    add(s.by_kind[row.kind], "_enrolled_cap", row.enrolled_cap)
    r._attended = r._attended + row.attended
    r._absent = r._absent + row.absent
  end
  for _, row in ipairs(run("sessions", P)) do
    if row.status == "cancelled" then
      s.cancelled.total = s.cancelled.total + row.n
      add(s.cancelled.by_reason, row.reason, row.n)
    else
      s.total = s.total + row.n
      s.by_kind[row.kind] = s.by_kind[row.kind] or kind_stats()
      s.by_theme[row.theme] = s.by_theme[row.theme] or stats()
      s.by_level[row.level] = s.by_level[row.level] or stats()
      s.by_kind[row.kind].sessions = s.by_kind[row.kind].sessions + row.n
      s.by_theme[row.theme].sessions = s.by_theme[row.theme].sessions + row.n
      s.by_level[row.level].sessions = s.by_level[row.level].sessions + row.n
    end
  end
  for _, row in ipairs(run("services", P)) do
    r.hours._session_secs = r.hours._session_secs + (row.secs or 0)
    add(s.by_kind[row.kind], "_capacity", row.capacity)
  end

  local a = r.attendances
  for _, row in ipairs(run("attendances", P)) do
    attend(a, row, ctx.of_age(row.birth_year and ctx.year - row.birth_year), row.n)
    r.hours._person_secs = r.hours._person_secs + (row.secs or 0)
  end
  for _, row in ipairs(run("walkins", P)) do
    attend(a, row, ctx.of_bounds(row.age_min, row.age_max), row.n, "resident")
    r.hours._person_secs = r.hours._person_secs + (row.secs or 0)
  end
  local c = r.accompaniments
  for _, row in ipairs(run("accompaniments", P)) do
    local bracket = row.anonymous == 1 and ctx.of_bounds(row.age_min, row.age_max)
                    or ctx.of_age(row.birth_year and ctx.year - row.birth_year)
    attend(a, row, bracket, row.n)
    r.hours._person_secs = r.hours._person_secs + (row.minutes or 0) * 60
    c.total = c.total + row.n
    add(c.by_modality, row.modality, row.n)
    add(c.by_operator, row.operator, row.n)
    add(c.by_autonomy, row.autonomy, row.n)
  end
  for _, row in ipairs(run("accompaniment_themes", P)) do
    add(c.by_theme, row.theme, row.n)
  end

  for _, row in ipairs(run("notifications", P)) do
    r.notifications[row.channel][row.status] = row.n
    r.sms_segments = r.sms_segments + (row.segments or 0)
  end
  r.surveys.invited = one("survey_invited", P)
  r.surveys.responses = one("survey_responses", P)
  for _, row in ipairs(run("survey_scores", P)) do
    r.surveys._q[row.question] = {n = row.n, total = row.total,
                                  s1 = row.s1, s2 = row.s2, s3 = row.s3, s4 = row.s4}
  end
  for _, row in ipairs(run("meetings", P)) do
    r.coordination.meetings = r.coordination.meetings + row.n
    add(r.coordination.by_kind, row.kind, row.n)
  end
  r.equipment.loans = one("loans", P)
  r.equipment.sessions = one("equipment_sessions", P)
  count_unique(r, P, ctx)
  return r
end

-- --- totals ------------------------------------------------------------------------

-- A + B, leaf by leaf (numbers added; a key of either kept).
local function sum(a, b)
  local out = {}
  for k, v in pairs(a) do out[k] = v end
  for k, v in pairs(b) do
    local x = out[k]
    if type(v) == "table" then
      out[k] = sum(type(x) == "table" and x or {}, v)
    elseif type(v) == "number" then
      out[k] = (type(x) == "number" and x or 0) + v
    end
  end
  return out
end

-- The total of RAWS (one per period, in order): their sum, with what
-- counts people once counted again over ALL (queries.lua's parameters for
-- every period's ranges) with ages in CTX.year.
function M.total(raws, P_all, ctx)
  local t = raws[1]
  for i = 2, #raws do t = sum(t, raws[i]) end
  local u = new_raw(ctx)
  count_unique(u, P_all, ctx)
  t.people = u.people
  t.pix = u.pix
  for _, k in ipairs{"devices", "people", "by_gender", "by_age_bracket"} do
    t.equipment[k] = u.equipment[k]
  end
  return t
end

-- --- the answer --------------------------------------------------------------------

local function round2(x)
  return math.floor(x * 100 + 0.5) / 100
end

local function rate(num, den)
  if not den or den <= 0 then return relais.json.null end
  return round2(num / den)
end

-- The answer's shape from a raw report (a copy; RAW is left alone).
function M.finish(raw)
  local r = sum({}, raw)
  for _, k in pairs(r.sessions.by_kind) do
    k.fill_rate = rate(k._enrolled_cap, k._capacity)
    k._enrolled_cap, k._capacity = nil, nil
  end
  r.hours = {sessions = round2(raw.hours._session_secs / 3600),
             person_hours = round2(raw.hours._person_secs / 3600)}
  r.no_show_rate = rate(raw._absent, raw._attended + raw._absent)
  r._attended, r._absent = nil, nil
  local questions, seen = {}, {}
  local function question(id, label)
    local q = raw.surveys._q[id]
    seen[id] = true
    questions[#questions + 1] = {
      id = id, label = label,
      counts = q and {q.s1, q.s2, q.s3, q.s4} or {0, 0, 0, 0},
      mean = q and q.n > 0 and round2(q.total / q.n) or relais.json.null}
  end
  for _, q in ipairs(M.QUESTIONS) do question(q.id, q.label) end
  local others = {}
  for id in pairs(raw.surveys._q) do
    if not seen[id] then others[#others + 1] = id end
  end
  table.sort(others)
  for _, id in ipairs(others) do question(id, id) end
  r.surveys = {invited = raw.surveys.invited, responses = raw.surveys.responses,
               questions = questions}
  return r
end

return M
