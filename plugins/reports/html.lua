-- The report as a printable French HTML page, like the funders' report: one
-- section per block, each a table followed by an inline SVG horizontal bar
-- chart of the same numbers (role="img" with <title> and <desc>; the table
-- is what a screen reader reads). No script, no external asset; print CSS
-- starts each block after the first on a new page. Every text from the database is escaped.

local queries = require "queries"

local M = {}

local GENDER = {F = "Femmes", M = "Hommes", X = "Autre (X)", unknown = "Non renseigné"}
local BRACKET = {["<26"] = "Moins de 26 ans", ["26-35"] = "26 à 35 ans",
                 ["36-45"] = "36 à 45 ans", ["46-55"] = "46 à 55 ans",
                 ["56+"] = "56 ans et plus", unknown = "Non renseigné"}
local KIND = {workshop = "Ateliers", permanence = "Permanences", training = "Formations"}
local LEVEL = {["1"] = "Niveau 1 — Découvrir", ["2"] = "Niveau 2 — Maîtriser",
               ["3"] = "Niveau 3 — Augmenter son pouvoir d'agir", unknown = "Sans niveau"}
local CHANNEL = {sms = "SMS", email = "E-mail"}
local STATUS = {sent = "envoyés", delivered = "remis", failed = "en échec",
                suppressed = "non envoyés (sans consentement)"}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;"}))
end

local function label(names, k, unknown)
  if names and names[k] then return names[k] end
  if k == "unknown" then return unknown or "Non renseigné" end
  return k
end

-- A horizontal bar chart of ROWS = {{label, value}, …}.
local function chart(out, id, title, rows)
  local bar_h, gap, left, width, right = 22, 8, 260, 360, 60
  local max = 0
  for _, r in ipairs(rows) do if r[2] > max then max = r[2] end end
  local h = #rows * (bar_h + gap) + gap
  local desc = {}
  for _, r in ipairs(rows) do desc[#desc + 1] = r[1] .. " : " .. r[2] end
  out[#out + 1] = string.format(
    '<svg role="img" aria-labelledby="%s-t %s-d" width="%d" height="%d" viewBox="0 0 %d %d">',
    id, id, left + width + right, h, left + width + right, h)
  out[#out + 1] = string.format('<title id="%s-t">%s</title><desc id="%s-d">%s</desc>',
                                id, esc(title), id, esc(table.concat(desc, " ; ")))
  for i, r in ipairs(rows) do
    local y = gap + (i - 1) * (bar_h + gap)
    local w = max > 0 and math.floor(r[2] * width / max + 0.5) or 0
    out[#out + 1] = string.format(
      '<text x="%d" y="%d" text-anchor="end">%s</text>'
      .. '<rect x="%d" y="%d" width="%d" height="%d"></rect>'
      .. '<text x="%d" y="%d">%d</text>',
      left - 8, y + 16, esc(r[1]), left, y, w, bar_h, left + w + 6, y + 16, r[2])
  end
  out[#out + 1] = "</svg>"
end

local function section(out, id, heading, head, rows, chart_title, bars)
  out[#out + 1] = string.format('<section id="%s"><h2>%s</h2><table><thead><tr>', id,
                                esc(heading))
  for _, h in ipairs(head) do out[#out + 1] = "<th scope=\"col\">" .. esc(h) .. "</th>" end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, row in ipairs(rows) do
    out[#out + 1] = "<tr><th scope=\"row\">" .. esc(row[1]) .. "</th>"
    for i = 2, #row do out[#out + 1] = "<td>" .. esc(row[i]) .. "</td>" end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</tbody></table>"
  chart(out, id .. "-chart", chart_title, bars)
  out[#out + 1] = "</section>"
end

local function counts(out, id, heading, what, map, fixed, names)
  local rows, bars = {}, {}
  for _, k in ipairs(queries.ordered(map, fixed)) do
    local l = label(names, k)
    rows[#rows + 1] = {l, map[k]}
    bars[#bars + 1] = {l, map[k]}
  end
  section(out, id, heading, {"Catégorie", what}, rows, heading, bars)
end

local function activity(out, id, heading, map, fixed, names, unknown)
  local rows, bars = {}, {}
  for _, k in ipairs(queries.ordered(map, fixed)) do
    local v, l = map[k], label(names, k, unknown)
    rows[#rows + 1] = {l, v.sessions, v.enrolled, v.attended, v.absent}
    bars[#bars + 1] = {l, v.attended}
  end
  section(out, id, heading, {"Catégorie", "Séances", "Inscriptions", "Présences", "Absences"}, rows,
          heading .. " : présences (prestations)", bars)
end

local CSS = [[
body{font-family:system-ui,sans-serif;color:#111;margin:2em auto;max-width:60em;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #999;padding:.3em .7em;text-align:right}
th[scope=row],thead th:first-child{text-align:left}
svg text{font-size:13px;fill:#111}svg rect{fill:#1f4e79}
dl{display:grid;grid-template-columns:max-content auto;gap:.3em 1em}dt{font-weight:bold}
@media print{body{margin:0;max-width:none}
section+section{break-before:page;page-break-before:always}
svg rect{fill:#333}}
]]

local function pct(v)
  if v == relais.json.null then return "—" end
  return (string.format("%.0f %%", v * 100))
end

function M.render(r)
  local out = {
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Rapport d'activité</title><style>" .. CSS .. "</style></head><body>",
    "<header><h1>Rapport d'activité</h1>",
    string.format("<p>Séances commençant du <strong>%s</strong> au <strong>%s</strong> "
                  .. "(inclus).</p>", esc(r.from), esc(r.to)),
    "<dl>",
    "<dt>Personnes accompagnées</dt><dd>" .. r.people.total .. "</dd>",
    "<dt>Prestations (présences)</dt><dd>" .. r.attendances.total .. "</dd>",
    "<dt>Séances tenues</dt><dd>" .. r.sessions.total .. "</dd>",
    "<dt>Taux d'absence</dt><dd>" .. pct(r.no_show_rate) .. "</dd>",
    "<dt>Segments SMS envoyés</dt><dd>" .. r.sms_segments .. "</dd>",
    "</dl></header>",
  }
  counts(out, "people-gender", "Personnes accompagnées par genre", "Personnes",
         r.people.by_gender, queries.GENDERS, GENDER)
  counts(out, "people-age", "Personnes accompagnées par tranche d'âge", "Personnes",
         r.people.by_age_bracket, queries.BRACKETS, BRACKET)
  counts(out, "people-neighborhood", "Personnes accompagnées par quartier", "Personnes",
         r.people.by_neighborhood, nil, {})
  counts(out, "attendances-gender", "Prestations par genre", "Présences",
         r.attendances.by_gender, queries.GENDERS, GENDER)
  counts(out, "attendances-age", "Prestations par tranche d'âge", "Présences",
         r.attendances.by_age_bracket, queries.BRACKETS, BRACKET)
  activity(out, "sessions-kind", "Séances par type", r.sessions.by_kind, queries.KINDS, KIND)
  activity(out, "sessions-theme", "Séances par thème", r.sessions.by_theme, nil, {},
           "Sans thème")
  activity(out, "sessions-level", "Séances par niveau", r.sessions.by_level, queries.LEVELS,
           LEVEL)
  local rows, bars = {}, {}
  for _, c in ipairs(queries.CHANNELS) do
    local n = r.notifications[c]
    rows[#rows + 1] = {CHANNEL[c], n.sent, n.delivered, n.failed, n.suppressed}
    for _, s in ipairs(queries.STATUSES) do
      bars[#bars + 1] = {CHANNEL[c] .. " " .. STATUS[s], n[s]}
    end
  end
  section(out, "notifications", "Messages aux bénéficiaires",
          {"Canal", "Envoyés", "Remis", "En échec", "Non envoyés"}, rows,
          "Messages aux bénéficiaires par canal et état", bars)
  out[#out + 1] = "</body></html>\n"
  return table.concat(out, "\n")
end

return M
