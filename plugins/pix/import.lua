-- Importing one Pix Orga export: the header gives the plan (header.lua),
-- then each record is checked, matched to a beneficiary and, when its
-- results were shared (assessment) or sent (profile collection), stored.
-- A bad record becomes an error {line, message} and the others go on.
-- Messages are in French (the console shows them to coordinators as they
-- are) and name columns, never a cell's content (names are personal data).
-- A participant matched to nobody is listed in unmatched_rows {line,
-- last_name, first_name, external_id}, so that they can be registered.
--
-- An export has 100,000 lines or more, of some forty cells each: the work
-- done for each line is kept small (docs/profiling.md), which is why cells
-- are read through memos and a line's competences go straight into one
-- argument list that is reused from line to line.
local header = require "header"
local dates = require "dates"

local M = {}

M.MAX_ERRORS = 1000   -- errors listed; rows are counted past it
M.MAX_UNMATCHED = 1000   -- unmatched participants listed; counted past it

-- The messages of the CSV reader (core/util/csv.c), in French.
local CSV_WHY = {
  ["the line is longer than 1 MiB"] = "la ligne dépasse 1 Mio",
  ["the line has more than 4096 fields"] = "la ligne a plus de 4096 champs",
  ["a quoted field is not closed"] = "un champ entre guillemets n'est pas fermé",
  ["text after a closing quote"] = "du texte suit un guillemet fermant",
  ["the line is not valid UTF-8"] = "la ligne n'est pas en UTF-8 valide",
}

local INSERT_PARTICIPATION = [[
INSERT INTO pix_participations (beneficiary_id, kind, campaign_id, campaign,
  campaign_code, date, total_pix, mastery, imported_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, beneficiary_id, date) DO NOTHING]]

-- relais.db.exec gives the new participation's id with the count (cheaper
-- than RETURNING, which makes SQLite build a temporary table for each line,
-- and than a SELECT to find it again).

-- One statement for all of a participation's competences: N rows of
-- placeholders (only the count varies; values are always bound). ?1 is the
-- participation's id, then 6 parameters a competence: position, code,
-- name, level, pix, mastery.
local insert_competences = setmetatable({}, {__index = function(t, n)
  local rows = {}
  for i = 1, n do
    local b = 6 * (i - 1) + 1
    rows[i] = string.format("(?1, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d)", b + 1, b + 2, b + 3, b + 4,
                            b + 5, b + 6)
  end
  local sql = "INSERT INTO pix_competences (participation_id, position, code, name, level," ..
              " pix, mastery) VALUES " .. table.concat(rows, ", ")
  t[n] = sql
  return sql
end})

local byte, find, format, unpack = string.byte, string.find, string.format, table.unpack
local match = string.match
local unguard = header.unguard

-- Trimmed in one pass: "^%s*(.-)%s*$" retried its end at every space of
-- an inner run of spaces (quadratic in a cell an export can make long).
local function trim(v)
  if not find(v, "%S") then return "" end
  return match(v, "^%s*(.*%S)")
end

-- A cell's value: formula guard removed, trimmed; nil when empty or NA.
-- Most cells need neither: they are returned as they are, without making
-- a new string.
local function value(v)
  if not v then return nil end
  local b1, bn = byte(v, 1), byte(v, -1)
  if not b1 then return nil end
  if b1 == 39 or b1 <= 32 or bn <= 32 then
    v = trim(unguard(v))
    if v == "" then return nil end
  end
  if v == "NA" then return nil end
  return v
end

local function cell(rec, i)
  return value(i and rec[i])
end

local function whole(v)
  if #v > 9 or not find(v, "^%d+$") then return nil end
  return tonumber(v)   -- digits only: an integer
end

-- "0,75" (Pix writes decimal commas) → 0.75, within 0..1.
local function fraction(v)
  local s = v:gsub(",", ".", 1)
  if not find(s, "^%d+%.?%d*$") then return nil end
  local x = tonumber(s)
  if not x or x > 1 then return nil end
  return x
end

-- A memo of F over cell texts: memo[text] is F(value(text)), or false
-- when the cell has no value, computed at the first lookup of each text.
-- Level, pix and mastery cells hold the same few texts throughout a file,
-- and so do the campaign's cells: most lookups make no call at all. At
-- most MEMO_MAX texts are kept (then it starts afresh): memory does not
-- grow with the file. F returns nil for a value that is not what the
-- column holds: that is not kept (such a line is an error anyway).
local MEMO_MAX = 4096

local function memo(f)
  local n = 0
  return setmetatable({}, {__index = function(t, text)
    local v = value(text)
    if v then v = f(v) else v = false end
    if text and v ~= nil then
      if n == MEMO_MAX then
        for k in pairs(t) do t[k] = nil end
        n = 0
      end
      rawset(t, text, v)
      n = n + 1
    end
    return v
  end})
end

-- The memos of the import running (made afresh by each, so that nothing
-- of a file is kept after it).
local LEVEL, PIX, FRACTION, TEXT

local function new_memos()
  LEVEL = memo(function(v) local x = whole(v); return x and x <= 8 and x or nil end)
  PIX = memo(whole)
  FRACTION = memo(fraction)
  TEXT = memo(function(v) return v end)
end

-- Beneficiary lookups for one import: by external id, else by the folded
-- "first last" name when exactly one living person has it. External ids
-- are unique (the core's index): up to EXTS_MAX living people's are read
-- once into a table, as the names are, which costs one query instead of
-- one a line; with more people, each line asks the index.
local EXTS_MAX = 50000

local function matcher()
  local names, exts
  local query, fold = relais.db.query, relais.fold
  local function by_ext(ext)
    if exts == nil then
      local n = assert(query("SELECT count(*) AS n FROM relais_v1_people" ..
        " WHERE external_id IS NOT NULL AND erased_at IS NULL"))[1].n
      exts = false
      if n <= EXTS_MAX then
        exts = {}
        local rows = assert(query("SELECT id, external_id FROM relais_v1_people" ..
          " WHERE external_id IS NOT NULL AND erased_at IS NULL"))
        for _, r in ipairs(rows) do exts[r.external_id] = r.id end
      end
    end
    if exts then return exts[ext] end
    local rows = assert(query(
      "SELECT id FROM relais_v1_people WHERE external_id = ? AND erased_at IS NULL", ext))
    return rows[1] and rows[1].id
  end
  return function(ext, first, last)
    if ext then
      local id = by_ext(ext)
      if id then return id end
    end
    if not names then
      names = {}
      local rows = assert(query(
        "SELECT id, search_key FROM relais_v1_people WHERE search_key IS NOT NULL" ..
        " AND erased_at IS NULL"))
      for _, r in ipairs(rows) do
        names[r.search_key] = names[r.search_key] == nil and r.id or false
      end
    end
    return names[fold(first .. " " .. last)] or nil
  end
end

-- The results of a record are checked before anything is matched or
-- stored. A line's competences go into BUF, the arguments of the
-- competences' INSERT: BUF[1] is the participation's id, then 6 slots a
-- competence of the plan (position, code and name filled once by
-- plan_buffer, then level, pix and mastery, written for each line; a
-- competence without results has nil there). Both return date, total pix,
-- mastery, and whether a competence is without results; false when the
-- results were not shared or sent; nil, reason for a bad record.

local function plan_buffer(plan)
  local buf = {false}
  for k, comp in ipairs(plan.comps) do
    local b = 6 * (k - 1) + 1
    buf[b + 1], buf[b + 2], buf[b + 3] = k, comp.code, comp.name
  end
  return buf
end

local function bad_competence(comp, what)
  local which = comp.code or comp.name
  if what == "level" then
    return "le niveau de la compétence " .. which .. " n'est pas un nombre de 0 à 8"
  elseif what == "pix" then
    return "le nombre de pix de la compétence " .. which .. " n'est pas un nombre entier"
  end
  return "le taux de maîtrise de la compétence " .. which .. " n'est pas entre 0 et 1"
end

-- The results of a shared profile collection.
local function profiles(plan, rec, buf)
  local c = plan.col
  local sent = TEXT[rec[c.sent]] or nil
  if sent and sent ~= "Oui" and sent ~= "Non" then
    return nil, "« Envoi (O/N) » ne vaut ni Oui ni Non"
  end
  local when = c.sent_at and cell(rec, c.sent_at) or cell(rec, c.sent_day)
  if sent == "Non" or (not sent and not when) then return false end
  if not when then return nil, "la date d'envoi manque" end
  local date = c.sent_at and dates.paris(when) or dates.day(when)
  if not date then
    return nil, c.sent_at and "la date d'envoi n'est pas de la forme JJ/MM/AAAA HH:mm"
                          or "la date d'envoi n'est pas de la forme AAAA-MM-JJ"
  end
  local total = cell(rec, c.total_pix)
  if total then
    total = whole(total)
    if not total then return nil, "« Nombre de pix total » n'est pas un nombre entier" end
  end
  local lc, pc, gaps = plan.level_cols, plan.pix_cols, false
  local b = 5   -- the level of the first competence
  for k = 1, plan.ncomps do
    local level, pix = LEVEL[rec[lc[k]]], PIX[rec[pc[k]]]
    if level and pix then   -- both there and right: most competences
      buf[b], buf[b + 1] = level, pix
    elseif level == false and pix == false then
      buf[b], buf[b + 1], gaps = nil, nil, true
    else
      if level == nil then return nil, bad_competence(plan.comps[k], "level") end
      if pix == nil then return nil, bad_competence(plan.comps[k], "pix") end
      buf[b], buf[b + 1] = level or nil, pix or nil
    end
    b = b + 6
  end
  return date, total, nil, gaps
end

-- The results of a shared assessment.
local function assessment(plan, rec, buf)
  local c = plan.col
  local shared = TEXT[rec[c.shared]] or nil
  if shared and shared ~= "Oui" and shared ~= "Non" then
    return nil, "« Partage (O/N) » ne vaut ni Oui ni Non"
  end
  if shared ~= "Oui" then return false end
  local when = cell(rec, c.shared_at)
  local date = when and dates.paris(when)
  if not date then return nil, "la date de partage n'est pas de la forme JJ/MM/AAAA HH:mm" end
  local mastery = FRACTION[rec[c.mastery]]
  if mastery == nil then return nil, "le taux de maîtrise global n'est pas entre 0 et 1" end
  local mc, gaps = plan.mastery_cols, false
  local b = 7   -- the mastery of the first competence
  for k = 1, plan.ncomps do
    local x = FRACTION[rec[mc[k]]]
    if x then
      buf[b] = x
    elseif x == false then
      buf[b], gaps = nil, true
    else
      return nil, bad_competence(plan.comps[k], "mastery")
    end
    b = b + 6
  end
  return date, nil, mastery or nil, gaps
end

-- The competences with results of BUF as arguments of their INSERT,
-- renumbered from 1 (a competence without results is left out): N, args.
local function compact(plan, buf)
  local out, n = {buf[1]}, 0
  for k = 1, plan.ncomps do
    local b = 6 * (k - 1) + 1
    if buf[b + 4] ~= nil or buf[b + 5] ~= nil or buf[b + 6] ~= nil then
      local o = 6 * n + 1
      n = n + 1
      out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] =
        n, buf[b + 2], buf[b + 3], buf[b + 4], buf[b + 5], buf[b + 6]
    end
  end
  return n, out
end

-- Checks, matches and stores the record of LINE. Returns nil or an error
-- message.
local function record(st, rec, line)
  local plan = st.plan
  if #rec ~= plan.width then
    return format("la ligne a %d champs alors que l'en-tête en a %d", #rec, plan.width)
  end
  local c = plan.col
  local first, last = cell(rec, c.first_name), cell(rec, c.last_name)
  if not first or not last then return "le nom ou le prénom du participant manque" end
  local campaign_id, campaign = TEXT[rec[c.campaign_id]], TEXT[rec[c.campaign]]
  if not campaign_id or not campaign then return "l'identifiant ou le nom de la campagne manque" end
  local buf = st.buf
  local date, total, mastery, gaps = st.results(plan, rec, buf)
  if date == nil then return total end   -- the reason
  local ext = cell(rec, plan.ext)
  local id = st.find(ext, first, last)
  if not id then
    local res = st.result
    res.unmatched = res.unmatched + 1
    if #res.unmatched_rows < M.MAX_UNMATCHED then
      res.unmatched_rows[#res.unmatched_rows + 1] = {line = line, last_name = last,
        first_name = first, external_id = ext or relais.json.null}
    end
    return nil
  end
  st.result.matched = st.result.matched + 1
  if not date then return nil end   -- not shared: nothing to keep
  local added, pid = st.exec(INSERT_PARTICIPATION, id, plan.kind, campaign_id,
    campaign, TEXT[rec[c.code]] or nil, date, total, mastery, st.now)
  assert(added, pid)
  if added == 0 then return nil end   -- imported before
  local n, args = plan.ncomps, buf
  if gaps then n, args = compact(plan, buf) end
  if n > 0 then
    args[1] = pid
    assert(st.exec(insert_competences[n], unpack(args, 1, 6 * n + 1)))
  end
  return nil
end

-- Imports SOURCE (a body file or a string). Returns the result table, or
-- nil, status, detail when the file is not a Pix export at all.
function M.run(source, ext_label)
  local st = {result = {rows = 0, matched = 0, unmatched = 0, errors = {}, unmatched_rows = {}},
              find = matcher(), now = relais.now(),
              query = relais.db.query, exec = relais.db.exec}
  local errors = st.result.errors
  new_memos()
  for rec, line, why in relais.csv.records(source, {sep = ";"}) do
    if not st.plan then
      if not rec then
        return nil, 400, "la ligne d'en-tête est mal formée : " .. (CSV_WHY[why] or why)
      end
      local plan, err = header.plan(rec, ext_label)
      if not plan then return nil, 400, err end
      plan.ncomps, plan.level_cols, plan.pix_cols, plan.mastery_cols = #plan.comps, {}, {}, {}
      for k, comp in ipairs(plan.comps) do
        plan.level_cols[k], plan.pix_cols[k], plan.mastery_cols[k] =
          comp.level or false, comp.pix or false, comp.mastery or false
      end
      st.plan, st.buf = plan, plan_buffer(plan)
      st.results = plan.kind == "profiles" and profiles or assessment
    else
      st.result.rows = st.result.rows + 1
      local err = rec and record(st, rec, line) or (not rec and (CSV_WHY[why] or why))
      if err and #errors < M.MAX_ERRORS then
        errors[#errors + 1] = {line = line, message = err}
      end
    end
  end
  if not st.plan then return nil, 400, "le fichier est vide" end
  return st.result
end

return M
