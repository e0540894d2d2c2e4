-- The text of each SMS, from templates/KIND.txt, in plain easy French and
-- never more than two segments once written in the GSM alphabet.
--
-- A text that would be longer (a long session title or venue name, a name
-- in a script GSM lacks) is made shorter step by step, keeping what matters
-- most: the day, the time and the link always stay; the title, then the
-- venue are cut ("..."), then the old time of a change and the first name go.
--
-- Some kinds say little and should cost one SMS (160 GSM-7 characters):
-- ONE_SEGMENT lists what they leave out, in order, to fit in one segment
-- (the waitlist message drops the title before going to two).
--
-- A series booked at once (msg.series = {count, dates}) is confirmed by one
-- SMS for all of its dates: "vos 6 séances …, la 1re le …".

local M = {}

local MAX_SEGMENTS = 2
local LIMIT = {gsm = 2 * 153, ucs2 = 2 * 67}   -- units in two concatenated parts

-- What a session is called, with the agreement its noun needs in French.
local NOUNS = {
  workshop   = {noun = "atelier", e = "", a_le = "à l'atelier", le = "l'atelier", le_e = "",
                de_le = "de l'atelier"},
  training   = {noun = "formation", e = "e", a_le = "à la formation", le = "la formation",
                le_e = "e", de_le = "de la formation"},
  permanence = {noun = "rendez-vous", e = "", a_le = "au rendez-vous", le = "la permanence",
                le_e = "e", de_le = "de la permanence"},
}

local ONE_SEGMENT = {waitlisted = {"title", "venue"}}

local function text(v)
  if type(v) == "string" and v:match("%S") then
    return v
  end
  return nil
end

-- The place as the beneficiary should read it.
local function place(session)
  if session.online == true then
    return "en ligne"
  end
  local venue = type(session.venue) == "table" and session.venue or {}
  return text(venue.name) or text(venue.commune)
end

-- The template variables of MSG (flat, so that sections work on them).
function M.vars(msg)
  local session = type(msg.session) == "table" and msg.session or {}
  local nouns = NOUNS[session.kind] or NOUNS.workshop
  local change = type(msg.change) == "table" and msg.change or {}
  local when = text(session.when) or relais.time.fr(session.starts_at or relais.now())
  local old = nil
  if msg.kind == "change" then
    local old_when = text(change.old_when)
    if old_when and old_when ~= when then
      old = old_when
    else
      old = text(change.old_venue)
    end
  end
  local series = type(msg.series) == "table" and msg.series or {}
  local count = math.tointeger(series.count)
  return {
    first_name = text(msg.first_name),
    noun = nouns.noun, e = nouns.e, a_le = nouns.a_le, le = nouns.le, le_e = nouns.le_e,
    de_le = nouns.de_le,
    series_count = count and count > 1 and count or nil,
    title = text(session.title),
    when = when,
    venue = place(session),
    old = old,
    link = text(msg.link) or relais.settings.public_url,
    survey_link = text(msg.survey_link) or text(msg.link) or relais.settings.public_url,
  }
end

-- S cut to N characters (UTF-8) followed by "...".
local function cut(s, n)
  local len = utf8.len(s)
  if not len then
    len = #s
    return len <= n and s or (s:sub(1, n):gsub("%s+$", "") .. "...")
  end
  if len <= n then
    return s
  end
  local stop = utf8.offset(s, n + 1)
  return (s:sub(1, stop - 1):gsub("[%s%p]+$", "")) .. "..."
end

-- S without the characters that would force the whole SMS into UCS-2
-- (another script, emoji): nil when nothing readable is left.
local function gsm_only(s)
  if not s or not utf8.len(s) then
    return s
  end
  local out = {}
  for _, cp in utf8.codes(s) do
    local c = utf8.char(cp)
    if cp < 0x80 or not relais.sms.prepare(c).ucs2 then
      out[#out + 1] = c
    end
  end
  return text((table.concat(out):gsub("%s+", " "):match("^%s*(.-)%s*$")))
end

local function fits(sms)
  return sms.segments <= MAX_SEGMENTS
end

-- Shortens VARS[KEY] (never below FLOOR characters) until the text fits.
local function shrink(vars, key, floor, render, sms)
  local full = vars[key]
  if not full then
    return sms
  end
  local n = utf8.len(full) or #full
  while not fits(sms) and n > floor do
    local excess = sms.units - (sms.ucs2 and LIMIT.ucs2 or LIMIT.gsm)
    -- Remove at least what is over, plus room for the "...".
    n = math.max(floor, n - math.max(1, excess + 3))
    vars[key] = cut(full, n)
    sms = render()
  end
  return sms
end

-- The SMS for MSG: relais.sms.prepare's table {text, segments, ucs2, units}.
function M.compose(msg)
  local name = msg.kind .. ".txt"
  local vars = M.vars(msg)
  local function render()
    -- Template files end with a newline that is not part of the message.
    local body = relais.template(name, vars)
    body = body:find("%S") and body:match("^%s*(.*%S)") or ""   -- trimmed in one pass
    return relais.sms.prepare(body)
  end
  local sms = render()
  local drop = ONE_SEGMENT[msg.kind]
  if drop and sms.segments > 1 then
    local full = {}
    for k, v in pairs(vars) do full[k] = v end
    for _, key in ipairs(drop) do
      vars[key] = nil
      sms = render()
      if sms.segments <= 1 then
        return sms
      end
    end
    -- One segment is out of reach (a long name or address): the whole
    -- text in two, shortened as any other.
    for k in pairs(vars) do vars[k] = nil end
    for k, v in pairs(full) do vars[k] = v end
    sms = render()
  end
  if fits(sms) then
    return sms
  end
  if sms.ucs2 then
    for _, key in ipairs{"first_name", "title", "venue", "old"} do
      vars[key] = gsm_only(vars[key])
    end
    sms = render()
  end
  sms = shrink(vars, "title", 24, render, sms)
  sms = shrink(vars, "venue", 24, render, sms)
  if not fits(sms) and vars.old then
    vars.old = nil
    sms = render()
  end
  sms = shrink(vars, "title", 8, render, sms)
  sms = shrink(vars, "venue", 8, render, sms)
  if not fits(sms) and vars.first_name then
    vars.first_name = nil
    sms = render()
  end
  if not fits(sms) then
    -- Only an extreme public_url gets here: send the shortest text rather
    -- than nothing, and say so.
    relais.log.warn("notification %d needs %d segments even shortened", msg.id, sms.segments)
  end
  return sms
end

return M
