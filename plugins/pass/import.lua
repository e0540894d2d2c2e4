-- POST /api/v1/imports/aptic: the platform's export of scanned passes, as
-- it comes or re-saved by Excel. Read as a stream (the body is a spooled
-- file; relais.csv.records reads it in 64 KiB pieces) in one transaction,
-- the request's:
--   1. the separator is the one (";" first, then ",") that makes a header
--      with a pass-number column among the first lines; the encoding is
--      judged record by record (UTF-8, else Windows-1252);
--   2. each line is checked in Lua (a pass number, a readable date);
--   3. the good lines go to pass_scans 100 at a time, in file order:
--      the first sighting of a pass never seen is a new scan (matched when
--      its number is registered, unknown otherwise); the unique pass turns
--      away any other, which is a duplicate, and a sighting that differs
--      from the pass's scan (another day or venue) is kept, once, as a
--      duplicate anomaly (only for a batch where some line was turned
--      away). The same file twice finds every line already there: it
--      changes nothing.
-- Messages are French, for the coordinator reading them, each naming its
-- line ("ligne 12 : la date « 31/02/2023 » n'existe pas").
local header = require "header"
local dates = require "dates"
local json = require "json"
local places = require "places"

local M = {}

M.MAX_ERRORS = 1000        -- errors listed; lines are counted past it
M.MAX_VENUES = 100         -- unmatched venue names listed
M.HEADER_LINES = 10        -- records looked at for the header

-- Lines per INSERT: the statements' texts stay under the 16 KiB up to which
-- the host keeps a statement compiled (100 lines: about 8 KiB; 200 would
-- be compiled afresh at every call, five times slower in all).
local BATCH = 100
local COLUMNS = 9          -- bound per line, after ?1 (the time of the import)

-- "(?2, ?3, …, ?10), (?11, …)": N lines of COLUMNS parameters.
local function rows(n)
  local out = {}
  for k = 0, n - 1 do
    local p = {}
    for c = 1, COLUMNS do p[c] = "?" .. (1 + COLUMNS * k + c) end
    out[k + 1] = "(" .. table.concat(p, ", ") .. ")"
  end
  return table.concat(out, ", ")
end

-- A line's columns, in the order bound.
local NAMES = "line, pass, on_date, at, place_id, venue_id, service, level, amount_cents"

-- The new scans of N lines: the unique pass turns away the lines of a pass
-- that has a scan (or had one a line before). The lines were checked (a
-- level 1–3, nothing NULL that may not be), so that is the only
-- constraint that can fail.
local INSERT = setmetatable({}, {__index = function(t, n)
  local sql = "INSERT OR IGNORE INTO pass_scans (" .. NAMES .. ", book_id, source," ..
              " created_at) SELECT v.*, p.book_id, 'import', ?1 FROM (VALUES " .. rows(n) ..
              ") v LEFT JOIN pass_passes p ON p.number = v.column2"
  t[n] = sql
  return sql
end})

-- The same N lines again: those that are not their pass's scan (another
-- day, or another place: the same place, or the same Relais venue, is the
-- same place) are kept as duplicates, once each.
local DUPLICATES = setmetatable({}, {__index = function(t, n)
  local sql = "INSERT OR IGNORE INTO pass_duplicates (line, pass, on_date, at, place_id," ..
              " venue_id, source, created_at)" ..
              " SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6," ..
              " 'import', ?1 FROM (VALUES " .. rows(n) .. ") v" ..
              " JOIN pass_scans s ON s.pass = v.column2" ..
              " WHERE NOT (v.column3 = s.on_date AND (v.column5 = s.place_id" ..
              " OR coalesce(v.column6 = s.venue_id, 0)))"
  t[n] = sql
  return sql
end})

local NEW_COUNTS = "SELECT count(*) AS n, count(book_id) AS known FROM pass_scans WHERE id > ?"

local byte, find, sub, format = string.byte, string.find, string.sub, string.format

-- The records come trimmed (relais.csv.records{trim = true}); a cell is
-- a value unless it is empty. Each line costs Lua instructions, and the
-- sandbox's count hook doubles what each costs: the line's work below is
-- kept to what it needs.

-- A cell's text as a message quotes it: at most 40 bytes, whole characters.
local function quote(s)
  if #s > 40 then
    local cut = 40
    while cut > 0 and (byte(s, cut + 1) or 0) & 0xC0 == 0x80 do cut = cut - 1 end
    s = sub(s, 1, cut) .. "…"
  end
  return "« " .. s .. " »"
end

-- Text cut to N bytes on a character boundary.
local function cut(s, n)
  if not s or #s <= n then return s end
  while n > 0 and (byte(s, n + 1) or 0) & 0xC0 == 0x80 do n = n - 1 end
  return sub(s, 1, n)
end

-- The reader's reasons for a malformed record, in French.
local READER = {
  ["text after a closing quote"] = "du texte suit un guillemet fermant",
  ["a quoted field is not closed"] = "un guillemet ouvert n'est jamais fermé (fichier tronqué ?)",
  ["the line is longer than 1 MiB"] = "la ligne dépasse 1 Mio",
  ["the line has more than 4096 fields"] = "la ligne a plus de 4096 colonnes",
  ["the line is not valid UTF-8"] = "la ligne contient des caractères illisibles",
}

-- Memos of the import running: a cell's text → what it means (false for
-- nothing). Venues, levels and amounts repeat from line to line; at most
-- MEMO_MAX texts each (then the memo starts afresh), so memory does not
-- grow with the file.
local MEMO_MAX = 4096

local function memo(f)
  local n = 0
  return setmetatable({}, {__index = function(t, text)
    local v = f(text)
    if v == nil then v = false end
    if n == MEMO_MAX then
      for k in pairs(t) do t[k] = nil end
      n = 0
    end
    rawset(t, text, v)
    n = n + 1
    return v
  end})
end

local LEVEL_WORDS = {{"decouvrir", 1}, {"maitriser", 2}, {"augmenter", 3}, {"pouvoir dagir", 3}}

-- "2", "Niveau 2", "N2", "Maîtriser le numérique" → 2; else nil.
local function level_of(s)
  local d = s:match("^%D*([123])%D*$")
  if d then return tonumber(d) end
  local k = relais.fold(s):gsub("[^%w ]", "")
  for _, w in ipairs(LEVEL_WORDS) do
    if k:find(w[1], 1, true) then return w[2] end
  end
  return nil
end

-- "10", "10,00", "10.00 €", "10 EUR" → cents; else nil.
local function amount_of(s)
  local t = s:gsub("%s", ""):gsub("€", ""):gsub("EUR$", ""):gsub("eur$", "")
  local units, frac = t:match("^(%d+)[,.]?(%d?%d?)$")
  if not units or #units > 6 then return nil end
  if #frac == 1 then frac = frac .. "0" end
  return tonumber(units) * 100 + (frac ~= "" and tonumber(frac) or 0)
end

-- The import's state: counts, errors, memos, the staging buffer.
local function new_state()
  local venues = {}   -- folded name → Relais venue id (the lowest of equal names)
  for _, v in ipairs(assert(relais.db.query(
      "SELECT id, name FROM relais_v1_venues ORDER BY id DESC"))) do
    venues[relais.fold(v.name)] = v.id
  end
  local st = {rows = 0, bad = 0, added = 0, errors = json.list(), unmatched = {},
              nunmatched = 0, args = {relais.now()}, staged = 0, exec = relais.db.exec}
  st.date = dates.reader()
  st.level = memo(level_of)
  st.amount = memo(amount_of)
  -- A venue's name → {place id, Relais venue id or nil}, looked up once
  -- per import; a SIRET alone → its place id.
  st.venue = {}
  st.nvenues = 0
  st.new_venue = function(name, siret)
    if #name > 200 then name = cut(name, 200) end
    local key = relais.fold(name)
    local id = venues[key]
    if not id and st.nunmatched < M.MAX_VENUES and not st.unmatched[key] then
      st.unmatched[key] = true
      st.nunmatched = st.nunmatched + 1
      st.unmatched[#st.unmatched + 1] = name
    end
    if st.nvenues == MEMO_MAX then st.venue, st.nvenues = {}, 0 end
    local v = {(places.id(name, siret and #siret <= 32 and siret or nil)), id}
    st.venue[name] = v
    st.nvenues = st.nvenues + 1
    return v
  end
  st.siret = memo(function(siret)
    return (places.id(nil, #siret <= 32 and siret or cut(siret, 32)))
  end)
  st.nowhere = places.id(nil, nil)
  return st
end

local unpack = table.unpack

local function flush(st)
  local n = st.staged
  if n == 0 then return end
  local args, last = st.args, 1 + n * COLUMNS
  local added = assert(st.exec(INSERT[n], unpack(args, 1, last)))
  st.added = st.added + added
  if added < n then assert(st.exec(DUPLICATES[n], unpack(args, 1, last))) end
  st.staged = 0
end

local function err(st, line, message)
  st.bad = st.bad + 1
  local e = st.errors
  if #e < M.MAX_ERRORS then
    e[#e + 1] = {line = line, message = format("ligne %d : %s", line, message)}
  end
end

local function columns(n)
  return n == 1 and "1 colonne" or n .. " colonnes"
end

-- Checks one record and stages it. Returns nothing; errors go to ST.
local function record(st, col, rec, line)
  local pass = rec[col.pass]
  if not pass or pass == "" then
    return err(st, line, #rec < col.pass and
      "la ligne est incomplète (" .. columns(#rec) .. ") : le numéro du pass manque"
      or "le numéro du pass est vide")
  end
  local b1, b2 = byte(pass, 1, 2)
  if b1 == 39 then   -- a spreadsheet's text guard: '0012
    pass = pass:match("^'+%s*(.-)$")
    if pass == "" then return err(st, line, "le numéro du pass est vide") end
    b2 = byte(pass, 2)
  end
  -- "2,2001E+09": only then is the pattern tried
  if (b2 == 44 or b2 == 46) and find(pass, "^%d[,.]%d*[Ee]%+%d+$") then
    return err(st, line, "le numéro du pass " .. quote(pass) .. " a été abîmé par le" ..
      " tableur (écrit en puissance de 10) : exportez de nouveau le fichier depuis APTIC")
  end
  if #pass > 64 then
    return err(st, line, "le numéro du pass " .. quote(pass) .. " est trop long")
  end
  local when = rec[col.date]
  if not when or when == "" then
    return err(st, line, #rec < col.date and
      "la ligne est incomplète (" .. columns(#rec) .. ") : la date manque"
      or "la date est vide")
  end
  local on_date, at = st.date(when)
  if not on_date then
    return err(st, line, "la date " .. quote(when) .. (at == "impossible" and " n'existe pas"
      or at == "year" and " n'est pas plausible (année hors 2000–2099)"
      or " n'est pas une date lisible (JJ/MM/AAAA attendu)"))
  end
  local c = col.venue
  local name = c and rec[c]
  c = col.siret
  local siret = c and rec[c]
  if siret == "" then siret = nil end
  local place, venue_id
  if name and name ~= "" then
    local v = st.venue[name]
    if not v then v = st.new_venue(name, siret) end
    place, venue_id = v[1], v[2]
  elseif siret then
    place = st.siret[siret]
  else
    place = st.nowhere
  end
  c = col.service
  local service = c and rec[c]
  if service == "" then service = nil elseif service and #service > 200 then
    service = cut(service, 200)
  end
  c = col.level
  local level = c and rec[c]
  if level then level = st.level[level] end
  c = col.amount
  local amount = c and rec[c]
  if amount then amount = st.amount[amount] end
  local args, o = st.args, 1 + st.staged * COLUMNS
  args[o + 1], args[o + 2], args[o + 3], args[o + 4], args[o + 5] =
    line, pass, on_date, at, place
  args[o + 6], args[o + 7], args[o + 8], args[o + 9] = venue_id, service, level or nil,
                                                        amount or nil
  local n = st.staged + 1
  st.staged = n
  if n == BATCH then flush(st) end
end

-- The header: the separator and the plan, from the first HEADER_LINES
-- records. Returns sep, plan, the header's line; or nil.
local function find_header(source)
  for _, sep in ipairs{";", ","} do
    local n = 0
    for rec, line in relais.csv.records(source, {sep = sep, encoding = "auto", trim = true}) do
      n = n + 1
      if rec then
        local plan = header.plan(rec)
        if plan then return sep, plan, line end
      end
      if n == M.HEADER_LINES then break end
    end
  end
  return nil
end

-- Imports SOURCE (a body file or a string). Returns the result, or nil,
-- status, detail.
function M.run(source)
  local sep, col, head = find_header(source)
  if not sep then
    local empty = true
    for _ in relais.csv.records(source, {encoding = "auto"}) do empty = false break end
    if empty then return nil, 422, "le fichier est vide" end
    return nil, 422, "aucune colonne ne donne le numéro du pass : l'en-tête doit nommer" ..
      " « Numéro du pass », « Numéro de chèque », « N° pass » ou « Pass »"
  end
  if not col.date then
    return nil, 422, "aucune colonne ne donne la date du scan : l'en-tête doit nommer" ..
      " « Date de scan » ou « Date »"
  end
  local st = new_state()
  local before = assert(relais.db.query("SELECT coalesce(max(id), 0) AS id FROM pass_scans"))[1].id
  for rec, line, why in relais.csv.records(source, {sep = sep, encoding = "auto", trim = true}) do
    if line > head then
      st.rows = st.rows + 1
      if rec then
        record(st, col, rec, line)
      else
        err(st, line, READER[why] or why)
      end
    end
  end
  flush(st)
  local c = assert(relais.db.query(NEW_COUNTS, before))[1]
  assert(c.n == st.added, "the new scans are the lines added")
  local unmatched = json.list()
  for i = 1, #st.unmatched do unmatched[i] = st.unmatched[i] end
  return {rows = st.rows, matched = c.known, unknown = c.n - c.known,
          duplicates = st.rows - st.bad - c.n, errors = st.errors,
          unmatched_venues = unmatched}
end

return M
