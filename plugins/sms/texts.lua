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
-- The confirmation and the reminder are most of what is sent, so their
-- words are few (issue 16: the demo's cost two segments each): with a
-- public URL of 25 characters and its link, the title and the venue have
-- about sixty characters. A longer pair is shortened with care to stay in
-- one segment (SHORTEN): first what follows a title's or a venue's first
-- clause ("Démarches en ligne : impots.gouv, ameli, CAF" is "Démarches en
-- ligne"), then the first name, then words from the end of the longer of
-- the title and the venue, marked "..." (never below SHORT_FLOOR
-- characters, never in the middle of a word). When even that is not enough, the whole text goes
-- in two segments, shortened as any other.
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
local SHORTEN = {confirmation = true, reminder = true, survey = true}
local SHORT_FLOOR = 16
local ONE = {gsm = 160, ucs2 = 70}   -- units in one segment

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

-- S's first clause: what comes before " : ", " (", " - ", " – " or ", " when
-- that leaves at least 8 characters; S itself when it has none.
local function first_clause(s)
  if not s then
    return s
  end
  local best
  for _, sep in ipairs{" : ", " (", " - ", " \u{2013} ", ", "} do
    local at = s:find(sep, 1, true)
    if at and (utf8.len(s:sub(1, at - 1)) or at - 1) >= 8 and (not best or at < best) then
      best = at
    end
  end
  return best and s:sub(1, best - 1) or s
end

-- Small words a shortened name must not end with ("Maison de la...").
local TRAILING = {}
for w in ("à au aux avec d' de des du en et l' la le les pour par sa ses son sur un une")
    :gmatch("%S+") do
  TRAILING[w] = true
end

-- Marks that open what follows them: a name must not end with one.
local OPENERS = {["\u{AB}"] = true, ["\u{201C}"] = true, ["\u{2013}"] = true,
                 ["\u{2014}"] = true}

-- S in at most N characters, cut after a whole word that is not a small
-- one, and marked "..." (a single word longer than N is cut and marked the
-- same).
local function cut_words(s, n)
  local len = utf8.len(s)
  if not len or len <= n then
    return s
  end
  local head = s:sub(1, (utf8.offset(s, n - 2) or #s + 1) - 1)   -- room for "..."
  local words = head
  if s:sub(#head + 1, #head + 1):match("[^%s%p]") then
    words = head:match("^(.*%S)%s") or head                      -- the last whole word
  end
  while true do
    local before, last = words:match("^(.-)%s*(%S+)$")
    local key = last and last:lower()
    if not before or before == "" then
      break
    end
    if TRAILING[key] or not key:find("[%w\128-\255]") or OPENERS[key] then
      words = before
    elseif key:sub(-1) == "'" or key:sub(-3) == "\u{2019}" then
      words = before
    else
      break
    end
  end
  return (words:gsub("[%s%p]+$", "")) .. "..."
end

-- Makes VARS' text fit in one segment by SHORTEN's steps (see the top);
-- returns the SMS, or nil when one segment is out of reach (VARS is then
-- as it came).
local function one_segment(vars, render)
  local function units_over(sms)
    return sms.units - (sms.ucs2 and ONE.ucs2 or ONE.gsm)
  end
  local full = {}
  for k, v in pairs(vars) do full[k] = v end
  local sms = render()
  local steps = {
    function() vars.title = first_clause(vars.title) end,
    function() vars.venue = first_clause(vars.venue) end,
    function() vars.first_name = nil end,
  }
  for _, step in ipairs(steps) do
    if sms.segments <= 1 then
      return sms
    end
    step()
    sms = render()
  end
  -- Words off the end of the longer of the title and the venue, in turn,
  -- to their floor.
  local whole, n = {}, {}
  for _, key in ipairs{"title", "venue"} do
    whole[key] = vars[key]
    n[key] = vars[key] and (utf8.len(vars[key]) or #vars[key]) or 0
  end
  while sms.segments > 1 do
    local key = n.title >= n.venue and "title" or "venue"
    if n[key] <= SHORT_FLOOR then
      break
    end
    n[key] = math.max(SHORT_FLOOR, n[key] - math.max(1, units_over(sms)))
    vars[key] = cut_words(whole[key], n[key])
    sms = render()
  end
  if sms.segments <= 1 then
    return sms
  end
  for k in pairs(vars) do vars[k] = nil end
  for k, v in pairs(full) do vars[k] = v end
  return nil
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
    body = body:gsub("%.%.%.%.", "...")    -- a shortened name ends a sentence
    return relais.sms.prepare(body)
  end
  local sms = render()
  if SHORTEN[msg.kind] and sms.segments > 1 then
    local one = one_segment(vars, render)
    if one then
      return one
    end
    sms = render()
  end
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
