-- The subject, text and HTML of each email, from templates/KIND.txt and
-- templates/KIND.html wrapped in layout.txt / layout.html. An email says what
-- the SMS says (session, day and time, place, link) with room for the end
-- time, the address and the calendar invitation.

local M = {}

local NOUNS = {
  workshop   = {noun = "atelier", e = "", a_le = "à l'atelier", le = "L'atelier", le_e = "",
                de_le = "de l'atelier"},
  training   = {noun = "formation", e = "e", a_le = "à la formation", le = "La formation",
                le_e = "e", de_le = "de la formation"},
  permanence = {noun = "rendez-vous", e = "", a_le = "au rendez-vous", le = "La permanence",
                le_e = "e", de_le = "de la permanence"},
}

local SUBJECTS = {
  confirmation = "Inscription confirmée : %s, %s",
  reminder     = "Rappel : %s, %s",
  change       = "Changement : %s, %s",
  cancellation = "Annulé : %s, %s",
  promoted     = "Une place pour vous : %s, %s",
  survey       = "Votre avis : %s, %s",
  waitlisted   = "Liste d'attente : %s, %s",
  -- Not a notification: a staff member's link to choose a password
  -- (core/auth/auth_invite.c). The format's arguments are not used.
  staff_invite = "Votre accès à la console Relais",
}

-- A series booked at once (msg.series = {count, dates}): one message for
-- all its dates, listed in the text; the subject says how many.
local SERIES_SUBJECTS = {
  confirmation = "Inscription confirmée : %s, %d séances à partir du %s",
  waitlisted   = "Liste d'attente : %s, %d dates à partir du %s",
}

local function html_escape(s)
  return (s:gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                ['"'] = "&quot;", ["'"] = "&#39;"}))
end

-- The dates of MSG's series as text and HTML lists, or nil.
local function series_lists(msg)
  local series = type(msg.series) == "table" and msg.series or nil
  local dates = series and type(series.dates) == "table" and series.dates or nil
  if not dates or #dates < 2 then
    return nil
  end
  local txt, html = {}, {}
  for i, d in ipairs(dates) do
    if type(d) == "string" then
      txt[#txt + 1] = "- " .. d
      html[#html + 1] = "<li>" .. html_escape(d) .. "</li>"
    end
    if i >= 60 then break end
  end
  return #dates, table.concat(txt, "\n"), "<ul>" .. table.concat(html) .. "</ul>"
end

local function text(v)
  if type(v) == "string" and v:match("%S") then
    return v
  end
  return nil
end

-- "mar. 3 déc. à 16h00" → "16h00".
local function clock(t)
  if math.type(t) ~= "integer" and type(t) ~= "number" then
    return nil
  end
  return relais.time.fr(t):match("(%d+h%d%d)$")
end

function M.vars(msg)
  local session = type(msg.session) == "table" and msg.session or {}
  local venue = type(session.venue) == "table" and session.venue or {}
  local nouns = NOUNS[session.kind] or NOUNS.workshop
  local change = type(msg.change) == "table" and msg.change or {}
  local online = session.online == true
  local when = text(session.when) or relais.time.fr(session.starts_at or relais.now())
  local place = online and "en ligne" or text(venue.name) or "lieu à confirmer"
  local old_when, old_venue = text(change.old_when), text(change.old_venue)
  local method = msg.ics_method == "CANCEL" and "CANCEL" or "REQUEST"
  local has_ics = text(msg.ics) ~= nil and msg.kind ~= "survey"
  local count, dates_txt, dates_html = series_lists(msg)
  return {
    first_name = text(msg.first_name),
    noun = nouns.noun, e = nouns.e, a_le = nouns.a_le, le = nouns.le, le_e = nouns.le_e,
    de_le = nouns.de_le,
    series_count = count, series_dates_txt = dates_txt, series_dates_html = dates_html,
    title = text(session.title),
    when = when,
    end_time = clock(session.ends_at),
    place = place,
    address = not online and text(venue.address) or nil,
    commune = not online and text(venue.commune) or nil,
    old_when = msg.kind == "change" and old_when ~= when and old_when or nil,
    old_venue = msg.kind == "change" and old_venue ~= place and old_venue or nil,
    link = text(msg.link) or relais.settings.public_url,
    survey_link = text(msg.survey_link) or text(msg.link) or relais.settings.public_url,
    until_when = text(msg["until"]),
    ics_request = has_ics and method == "REQUEST" or nil,
    ics_cancel = has_ics and method == "CANCEL" or nil,
  }
end

-- {subject, text, html, ics, ics_method} for MSG; ics is nil when the
-- email carries no invitation (a survey is about a session already held).
function M.render(msg)
  local vars = M.vars(msg)
  local kind = msg.kind
  local fmt = SUBJECTS[kind] or "%s, %s"
  local what = vars.title or vars.noun
  if vars.series_count and SERIES_SUBJECTS[kind] then
    vars.subject = string.format(SERIES_SUBJECTS[kind], what, vars.series_count, vars.when)
  else
    vars.subject = string.format(fmt, what, vars.when)
  end
  vars.facts = relais.template("facts.txt", vars)
  vars.content = relais.template(kind .. ".txt", vars)
  -- Sections left out leave blank lines behind: keep at most one.
  local plain = relais.template("layout.txt", vars):gsub("\n\n\n+", "\n\n")
  vars.facts = relais.template("facts.html", vars)
  vars.content = relais.template(kind .. ".html", vars)
  local html = relais.template("layout.html", vars)
  local ics = (vars.ics_request or vars.ics_cancel) and msg.ics or nil
  return {subject = vars.subject, text = plain, html = html, ics = ics,
          ics_method = vars.ics_cancel and "CANCEL" or "REQUEST"}
end

return M
