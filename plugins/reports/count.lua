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

local function people_block(labels)
  return {total = 0, by_gender = zeros(M.GENDERS), by_age_bracket = zeros(labels),
          by_neighborhood = {unknown = 0}, by_audience = zeros(M.AUDIENCES),
          by_residence = zeros(M.RESIDENCES)}
end

-- The sets of people a raw report keeps by id (id → what they are counted
-- by), so that a total counts each once: merged, not added.
local SETS = {_people = true, _equsers = true, _pix = true}

-- An empty raw report: every fixed key present, at 0.
local function new_raw(ctx)
  local by_kind = {}
  for _, k in ipairs(M.KINDS) do by_kind[k] = kind_stats() end
  local by_level = {}
  for _, k in ipairs(M.LEVELS) do by_level[k] = stats() end
  local notifications = {}
  for _, c in ipairs(M.CHANNELS) do notifications[c] = zeros(M.STATUSES) end
  return {
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
    coordination = {meetings = 0, by_kind = zeros(M.MEETING_KINDS)},
    equipment = {devices = 0, sessions = 0, loans = 0},
    _people = {}, _equsers = {}, _pix = {},
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

-- A group of N attendances of people described by GENDER, BRACKET…
local function attend(a, gender, bracket, audience, residence, n)
  a.total = a.total + n
  add(a.by_gender, gender or "unknown", n)
  add(a.by_age_bracket, bracket, n)
  add(a.by_audience, audience or "resident", n)
  add(a.by_residence, residence or "unknown", n)
end

-- A person a row describes (pid and what people are counted by), into SET.
local function remember(set, row)
  local hood = row.neighborhood and row.neighborhood:match("^%s*(.-)%s*$")
  set[row.pid] = {gender = row.gender, birth_year = row.birth_year,
                  neighborhood = (hood ~= nil and hood ~= "") and hood or nil,
                  audience = row.audience, residence = row.residence}
end

local function section(t, k, make)
  if not t[k] then t[k] = make() end
  return t[k]
end

-- The raw report of the ranges in P (queries.lua's parameters); CTX holds
-- the year ages are counted in, the brackets and the themes.
function M.raw(P, ctx, filtered)
  local r = new_raw(ctx)
  local s, a, c = r.sessions, r.attendances, r.accompaniments
  local function age(y) return ctx.of_age(y and ctx.year - y) end

  for _, row in ipairs(run("enrollments", P)) do
    local theme = row.theme and row.theme:match("^%s*(.-)%s*$") or ""
    theme = theme ~= "" and theme or "unknown"
    local level = row.level and tostring(row.level) or "unknown"
    local k = section(s.by_kind, row.kind, kind_stats)
    local t = section(s.by_theme, theme, stats)
    local l = section(s.by_level, level, stats)
    local attended = row.status == "attended" and row.n or 0
    local absent = row.status == "absent" and row.n or 0
    for _, x in ipairs{k, t, l} do
      x.enrolled = x.enrolled + row.n
      x.attended = x.attended + attended
      x.absent = x.absent + absent
    end
    if row.cap == 1 then add(k, "_enrolled_cap", row.n) end
    r._attended = r._attended + attended
    r._absent = r._absent + absent
  end
  for _, row in ipairs(run("attendances", P)) do
    attend(a, row.gender, age(row.birth_year), row.audience, row.residence, row.n)
    r.hours._person_secs = r.hours._person_secs + (row.secs or 0)
    remember(r._people, row)
  end
  for _, row in ipairs(run("sessions", P)) do
    if row.status == "cancelled" then
      s.cancelled.total = s.cancelled.total + row.n
      add(s.cancelled.by_reason, row.reason, row.n)
    else
      s.total = s.total + row.n
      add(section(s.by_kind, row.kind, kind_stats), "sessions", row.n)
      add(section(s.by_theme, row.theme, stats), "sessions", row.n)
      add(section(s.by_level, row.level, stats), "sessions", row.n)
    end
  end
  for _, row in ipairs(run("held", P)) do
    r.hours._session_secs = r.hours._session_secs + (row.secs or 0)
    add(section(s.by_kind, row.kind, kind_stats), "_capacity", row.capacity)
  end
  for _, row in ipairs(run("walkins", P)) do
    attend(a, row.gender, ctx.of_bounds(row.age_min, row.age_max), "resident", row.residence,
           row.n)
    r.hours._person_secs = r.hours._person_secs + (row.secs or 0)
  end
  for _, row in ipairs(run("accompaniments", P)) do
    local op = row.operator and row.operator:match("^%s*(.-)%s*$") or ""
    c.total = c.total + row.n
    add(c.by_modality, row.modality, row.n)
    add(c.by_autonomy, row.autonomy and tostring(row.autonomy) or "unknown", row.n)
    add(c.by_operator, op ~= "" and op or "none", row.n)
    r.hours._person_secs = r.hours._person_secs + (row.minutes or 0) * 60
  end
  for _, row in ipairs(run("accompanied", P)) do
    if row.pid then
      attend(a, row.gender, age(row.birth_year), row.audience, row.residence, row.n)
      remember(r._people, row)
    else
      attend(a, row.gender, ctx.of_bounds(row.age_min, row.age_max), "resident", row.residence,
             row.n)
    end
  end
  for _, row in ipairs(run("accompaniment_themes", P)) do
    add(c.by_theme, row.theme, row.n)
  end
  for _, row in ipairs(run(filtered and "notifications_who" or "notifications", P)) do
    local ch = r.notifications[row.channel]
    if ch and ch[row.status] then
      ch[row.status] = row.n
      r.sms_segments = r.sms_segments + (row.segments or 0)
    end
  end
  r.surveys.invited = one(filtered and "invited_who" or "invited", P)
  for _, row in ipairs(run("surveys", P)) do
    if row.d == "responses" then
      r.surveys.responses = row.n
    else
      r.surveys._q[row.k1] = {n = row.n, total = row.x1,
                              s1 = row.s1, s2 = row.s2, s3 = row.s3, s4 = row.s4}
    end
  end
  for _, row in ipairs(run("pix", P)) do r._pix[row.pid] = true end
  for _, row in ipairs(run("meetings", P)) do
    r.coordination.meetings = r.coordination.meetings + row.n
    add(r.coordination.by_kind, row.kind, row.n)
  end
  r.equipment.loans = one("loans", P)
  for _, row in ipairs(run("equipment_people", P)) do remember(r._equsers, row) end
  r.equipment.sessions = one("equipment_sessions", P)
  r.equipment.devices = one("devices", P)
  return r
end

-- --- totals ------------------------------------------------------------------------

-- A + B, leaf by leaf (numbers added, the sets of people merged; a key of
-- either kept).
local function sum(a, b)
  local out = {}
  for k, v in pairs(a) do out[k] = v end
  for k, v in pairs(b) do
    local x = out[k]
    if SETS[k] then
      local u = {}
      for id, who in pairs(x or {}) do u[id] = who end
      for id, who in pairs(v) do u[id] = who end
      out[k] = u
    elseif type(v) == "table" then
      out[k] = sum(type(x) == "table" and x or {}, v)
    elseif type(v) == "number" then
      out[k] = (type(x) == "number" and x or 0) + v
    end
  end
  return out
end

-- The total of RAWS (one per period): their sum, its people merged (each
-- counted once), and the devices of all the periods (ALL: queries.lua's
-- parameters for every period's ranges).
function M.total(raws, P_all)
  local t = raws[1]
  for i = 2, #raws do t = sum(t, raws[i]) end
  t.equipment.devices = one("devices", P_all)
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

-- The people block of SET (id → what they are counted by), aged in CTX.year.
local function people_of(set, ctx)
  local p = people_block(ctx.labels)
  for _, who in pairs(set) do
    p.total = p.total + 1
    add(p.by_gender, who.gender or "unknown", 1)
    add(p.by_age_bracket, ctx.of_age(who.birth_year and ctx.year - who.birth_year), 1)
    add(p.by_neighborhood, who.neighborhood or "unknown", 1)
    add(p.by_audience, who.audience or "resident", 1)
    add(p.by_residence, who.residence or "unknown", 1)
  end
  return p
end

-- The answer's shape from a raw report (a copy; RAW is left alone), with
-- people aged in CTX.year.
function M.finish(raw, ctx)
  local r = sum({}, raw)
  r.people = people_of(raw._people, ctx)
  local users = people_of(raw._equsers, ctx)
  r.equipment.people = users.total
  r.equipment.by_gender = users.by_gender
  r.equipment.by_age_bracket = users.by_age_bracket
  local assessed = 0
  for _ in pairs(raw._pix) do assessed = assessed + 1 end
  r.pix = {people_assessed = assessed}
  r._people, r._equsers, r._pix = nil, nil, nil
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
