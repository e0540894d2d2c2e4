-- The report as tables, for the CSV, HTML and XLSX forms: the periods side
-- by side as columns, the total last, and beside each count its share of
-- the column's whole (README.md here, "Forms").
--
-- A table: {id = the JSON path ("people.by_gender"), title (French),
-- sheet (an Excel sheet's name, ≤ 31 characters), head (the first
-- column's header), unit (what the numbers count), kind = "count" | "rate"
-- | "hours" | "mean", rows = {{key, label, values = {one per column}}},
-- wholes = {one per column: what a share is of} (counts only), chart =
-- whether a chart goes beside it}. The first table, "report", holds the
-- figures that are one number.

local count = require "count"

local M = {}

local GENDER = {F = "Femmes", M = "Hommes", X = "Autre (X)", unknown = "Non renseigné"}
local AUDIENCE = {resident = "Habitants", professional = "Professionnels"}
local RESIDENCE = {qpv = "Quartier prioritaire (QPV)", qva = "Quartier de veille active (QVA)",
                   outside = "Hors quartier prioritaire", unknown = "Non renseigné"}
local KIND = {workshop = "Ateliers", permanence = "Permanences", training = "Formations"}
local LEVEL = {["1"] = "Niveau 1 — Découvrir", ["2"] = "Niveau 2 — Maîtriser",
               ["3"] = "Niveau 3 — Augmenter son pouvoir d'agir", unknown = "Sans niveau"}
local MODALITY = {on_site = "Sur place", phone = "Par téléphone", home = "À domicile",
                  remote = "À distance"}
local AUTONOMY = {["1"] = "Pas autonome", ["2"] = "Autonome en partie", ["3"] = "Autonome",
                  unknown = "Non renseigné"}
local MEETING = {steering_committee = "Comité de pilotage", technical_committee = "Comité technique",
                 working_group = "Groupe de travail", network = "Réunion du réseau",
                 professional_training = "Formation des professionnels", other = "Autre"}
local CHANNEL = {sms = "SMS", email = "E-mail"}
local STATUS = {sent = "envoyés", delivered = "remis", failed = "en échec",
                suppressed = "non envoyés (sans consentement)"}

-- "26-35" → "26 à 35 ans", "<26" → "Moins de 26 ans", "56+" → "56 ans et plus".
function M.bracket_label(k)
  if k == "unknown" then return "Non renseigné" end
  local lo, hi = k:match("^(%d+)%-(%d+)$")
  if lo then return lo .. " à " .. hi .. " ans" end
  local under = k:match("^<(%d+)$")
  if under then return "Moins de " .. under .. " ans" end
  local from = k:match("^(%d+)%+$")
  if from then return from .. " ans et plus" end
  return k
end

-- The keys of MAP in display order: FIXED first (when given), then the
-- others sorted, "unknown" (and "none") last.
function M.ordered(map, fixed)
  local out, seen, rest = {}, {}, {}
  for _, k in ipairs(fixed or {}) do
    out[#out + 1] = k
    seen[k] = true
  end
  for k in pairs(map) do
    if not seen[k] and k ~= "unknown" and k ~= "none" then rest[#rest + 1] = k end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do out[#out + 1] = k end
  for _, k in ipairs{"none", "unknown"} do
    if map[k] ~= nil and not seen[k] then out[#out + 1] = k end
  end
  return out
end

-- The value at PATH ("people.by_gender") of report R.
local function at(r, path)
  for part in path:gmatch("[^.]+") do
    if type(r) ~= "table" then return nil end
    r = r[part]
  end
  return r
end

-- The union of the keys of the map at PATH over REPORTS.
local function keys_of(reports, path)
  local all = {}
  for _, r in ipairs(reports) do
    for k in pairs(at(r, path) or {}) do all[k] = true end
  end
  return all
end

local function label_of(names, k, unknown)
  if type(names) == "function" then return names(k) end
  if names and names[k] then return names[k] end
  if k == "unknown" then return unknown or "Non renseigné" end
  return k
end

-- A table of counts: the map at PATH (or its MEASURE of each entry), a
-- share of WHOLE (a path, or nil: the column's sum).
local function counts(reports, spec)
  local rows, wholes = {}, {}
  local keys = keys_of(reports, spec.path)
  for _, k in ipairs(M.ordered(keys, spec.fixed)) do
    local values = {}
    for i, r in ipairs(reports) do
      local v = (at(r, spec.path) or {})[k]
      if spec.measure then v = type(v) == "table" and v[spec.measure] or 0 end
      values[i] = v or 0
    end
    rows[#rows + 1] = {key = k, label = label_of(spec.names, k, spec.unknown), values = values}
  end
  for i, r in ipairs(reports) do
    if spec.whole then
      wholes[i] = at(r, spec.whole) or 0
    else
      local total = 0
      for _, row in ipairs(rows) do
        if type(row.values[i]) == "number" then total = total + row.values[i] end
      end
      wholes[i] = total
    end
  end
  return {id = spec.id or (spec.path .. (spec.measure and ("." .. spec.measure) or "")),
          title = spec.title, sheet = spec.sheet, head = spec.head, unit = spec.unit,
          kind = spec.kind or "count", rows = rows,
          wholes = (spec.kind or "count") == "count" and wholes or nil,
          chart = spec.chart ~= false}
end

local function scalars(reports)
  local items = {
    {"people.total", "Personnes accompagnées", "count"},
    {"people.by_audience.resident", "dont habitants", "count"},
    {"people.by_audience.professional", "dont professionnels (formés)", "count"},
    {"attendances.total", "Présences (prestations)", "count"},
    {"hours.sessions", "Heures de séances tenues", "hours"},
    {"hours.person_hours", "Heures-personnes", "hours"},
    {"sessions.total", "Séances tenues", "count"},
    {"sessions.cancelled.total", "Séances annulées", "count"},
    {"accompaniments.total", "Accompagnements individuels", "count"},
    {"no_show_rate", "Taux d'absence", "rate"},
    {"surveys.invited", "Questionnaires de satisfaction envoyés", "count"},
    {"surveys.responses", "Réponses aux questionnaires", "count"},
    {"pix.people_assessed", "Personnes évaluées avec Pix", "count"},
    {"coordination.meetings", "Réunions du réseau", "count"},
    {"equipment.devices", "Appareils du programme", "count"},
    {"equipment.sessions", "Séances avec le matériel", "count"},
    {"equipment.loans", "Prêts de matériel", "count"},
    {"equipment.people", "Personnes ayant utilisé le matériel", "count"},
    {"sms_segments", "Segments SMS envoyés", "count"},
  }
  local rows = {}
  for _, it in ipairs(items) do
    local values = {}
    for i, r in ipairs(reports) do
      local v = at(r, it[1])
      values[i] = v == nil and relais.json.null or v
    end
    rows[#rows + 1] = {key = it[1], label = it[2], values = values, kind = it[3]}
  end
  return {id = "report", title = "Synthèse", sheet = "Synthèse", head = "Indicateur",
          unit = "Valeur", kind = "mixed", rows = rows, chart = false}
end

-- The tables of REPORTS (one per column, the answer's shape), with THEMES
-- the configured accompaniments' themes and LABELS the age brackets.
function M.build(reports, themes, labels)
  local B = M.bracket_label
  local T = {scalars(reports)}
  local function add(spec) T[#T + 1] = counts(reports, spec) end
  local who = {
    {"people", "Personnes accompagnées", "Personnes", "people.total"},
    {"attendances", "Présences", "Présences", "attendances.total"},
  }
  for _, w in ipairs(who) do
    local p, title, unit, whole = w[1], w[2], w[3], w[4]
    local short = p == "people" and "Personnes" or "Présences"
    add{path = p .. ".by_gender", title = title .. " par genre", sheet = short .. " par genre",
        head = "Genre", unit = unit, fixed = count.GENDERS, names = GENDER, whole = whole}
    add{path = p .. ".by_age_bracket", title = title .. " par tranche d'âge",
        sheet = short .. " par âge", head = "Tranche d'âge", unit = unit, fixed = labels,
        names = B, whole = whole}
    if p == "people" then
      add{path = "people.by_neighborhood", title = title .. " par quartier",
          sheet = "Personnes par quartier", head = "Quartier", unit = unit, whole = whole}
    end
    add{path = p .. ".by_audience", title = title .. " : habitants et professionnels",
        sheet = short .. " par public", head = "Public", unit = unit,
        fixed = count.AUDIENCES, names = AUDIENCE, whole = whole}
    add{path = p .. ".by_residence", title = title .. " par lieu de résidence",
        sheet = short .. " par résidence", head = "Résidence", unit = unit,
        fixed = count.RESIDENCES, names = RESIDENCE, whole = whole}
  end
  local measures = {
    {"sessions", "séances tenues", "séances"}, {"enrolled", "inscriptions", "inscr."},
    {"attended", "présences", "présences"}, {"absent", "absences", "absences"},
  }
  local dims = {
    {"by_kind", "type", "Type", count.KINDS, KIND},
    {"by_theme", "thème", "Thème", nil, {unknown = "Sans thème"}},
    {"by_level", "niveau", "Niveau", count.LEVELS, LEVEL},
  }
  for _, d in ipairs(dims) do
    for _, m in ipairs(measures) do
      add{path = "sessions." .. d[1], measure = m[1],
          title = "Séances par " .. d[2] .. " : " .. m[2],
          sheet = "Séances par " .. d[2] .. " (" .. m[3] .. ")", head = d[3], unit = m[2],
          fixed = d[4], names = d[5]}
    end
    if d[1] == "by_kind" then
      add{path = "sessions.by_kind", measure = "fill_rate", kind = "rate",
          title = "Taux de remplissage par type de séance (inscrits ÷ places)",
          sheet = "Taux de remplissage", head = "Type", unit = "taux", fixed = count.KINDS,
          names = KIND, chart = false}
    end
  end
  add{path = "sessions.cancelled.by_reason", title = "Séances annulées par motif",
      sheet = "Séances annulées", head = "Motif", unit = "séances",
      names = {unknown = "Sans motif"}, whole = "sessions.cancelled.total"}
  add{path = "accompaniments.by_theme", title = "Accompagnements par thème",
      sheet = "Accompagnements par thème", head = "Thème", unit = "accompagnements",
      fixed = themes, whole = "accompaniments.total"}
  add{path = "accompaniments.by_modality", title = "Accompagnements par modalité",
      sheet = "Accompagnements par modalité", head = "Modalité", unit = "accompagnements",
      fixed = count.MODALITIES, names = MODALITY, whole = "accompaniments.total"}
  add{path = "accompaniments.by_operator", title = "Accompagnements par démarche (opérateur)",
      sheet = "Accompagnements par opérateur", head = "Opérateur", unit = "accompagnements",
      names = {none = "Sans démarche"}, whole = "accompaniments.total"}
  add{path = "accompaniments.by_autonomy", title = "Accompagnements par autonomie",
      sheet = "Accompagnements par autonomie", head = "Autonomie", unit = "accompagnements",
      fixed = count.AUTONOMY, names = AUTONOMY, whole = "accompaniments.total"}
  -- Messages: one row per channel and state.
  local msg = {}
  for i, r in ipairs(reports) do
    msg[i] = {}
    for _, c in ipairs(count.CHANNELS) do
      for _, st in ipairs(count.STATUSES) do msg[i][c .. "." .. st] = r.notifications[c][st] end
    end
  end
  local fixed, names = {}, {}
  for _, c in ipairs(count.CHANNELS) do
    for _, st in ipairs(count.STATUSES) do
      fixed[#fixed + 1] = c .. "." .. st
      names[c .. "." .. st] = CHANNEL[c] .. " " .. STATUS[st]
    end
  end
  T[#T + 1] = counts((function()
    local wrapped = {}
    for i = 1, #reports do wrapped[i] = {m = msg[i]} end
    return wrapped
  end)(), {id = "notifications", path = "m", title = "Messages aux bénéficiaires",
           sheet = "Messages", head = "Canal et état", unit = "messages", fixed = fixed,
           names = names})
  -- Satisfaction: the mean of each question.
  local q = {}
  for i, r in ipairs(reports) do
    q[i] = {m = {}}
    for _, question in ipairs(r.surveys.questions) do q[i].m[question.id] = question.mean end
  end
  local qfixed, qnames = {}, {}
  for _, question in ipairs(reports[#reports].surveys.questions) do
    qfixed[#qfixed + 1] = question.id
    qnames[question.id] = question.label
  end
  local satisfaction = counts(q, {id = "surveys.questions", path = "m", kind = "mean",
                                  title = "Satisfaction : moyenne par question (1 à 4)",
                                  sheet = "Satisfaction", head = "Question", unit = "moyenne",
                                  fixed = qfixed, names = qnames})
  for _, row in ipairs(satisfaction.rows) do
    for i, v in ipairs(row.values) do
      if v == 0 and (q[i].m[row.key] == nil or q[i].m[row.key] == relais.json.null) then
        row.values[i] = relais.json.null
      end
    end
  end
  T[#T + 1] = satisfaction
  add{path = "coordination.by_kind", title = "Réunions du réseau par type",
      sheet = "Réunions par type", head = "Type de réunion", unit = "réunions",
      fixed = count.MEETING_KINDS, names = MEETING, whole = "coordination.meetings"}
  add{path = "equipment.by_age_bracket", title = "Utilisateurs du matériel par tranche d'âge",
      sheet = "Matériel par âge", head = "Tranche d'âge", unit = "personnes", fixed = labels,
      names = B, whole = "equipment.people"}
  add{path = "equipment.by_gender", title = "Utilisateurs du matériel par genre",
      sheet = "Matériel par genre", head = "Genre", unit = "personnes", fixed = count.GENDERS,
      names = GENDER, whole = "equipment.people"}
  T.brackets, T.themes = labels, themes
  return T
end

-- A count's share of WHOLE, in percent with one decimal; nil without one.
function M.share(v, whole)
  if type(v) ~= "number" or not whole or whole <= 0 then return nil end
  return math.floor(v * 1000 / whole + 0.5) / 10
end

-- "2022-01-01" → "01/01/2022"; anything else as it is.
function M.date_fr(s)
  local y, m, d = tostring(s):match("^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
  if y then return d .. "/" .. m .. "/" .. y end
  return tostring(s)
end

-- The columns' labels: each period "du … au …", then "Total" (when TOTAL).
function M.columns(periods, total)
  local out = {}
  for i, p in ipairs(periods) do
    out[i] = M.date_fr(p.from) .. " – " .. M.date_fr(p.to)
  end
  if total then out[#out + 1] = "Total" end
  return out
end

return M
