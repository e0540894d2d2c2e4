-- Importing one Pix Orga export: the header gives the plan (header.lua),
-- then each record is checked, matched to a beneficiary and, when its
-- results were shared (assessment) or sent (profile collection), stored.
-- A bad record becomes an error {line, message} and the others go on.
-- Messages name columns, never a cell's content (names are personal data).
local header = require "header"
local dates = require "dates"

local M = {}

M.MAX_ERRORS = 1000   -- errors listed; rows are counted past it

local INSERT_PARTICIPATION = [[
INSERT INTO pix_participations (beneficiary_id, kind, campaign_id, campaign,
  campaign_code, date, total_pix, mastery, imported_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (campaign_id, beneficiary_id, date) DO NOTHING
RETURNING id]]

-- One statement for all of a participation's competences: N rows of
-- placeholders (only the count varies; values are always bound).
local insert_competences = setmetatable({}, {__index = function(t, n)
  local rows = {}
  for i = 1, n do rows[i] = "(?, ?, ?, ?, ?, ?, ?)" end
  local sql = "INSERT INTO pix_competences (participation_id, position, code, name, level," ..
              " pix, mastery) VALUES " .. table.concat(rows, ", ")
  t[n] = sql
  return sql
end})

-- The cell of column I: formula guard removed, trimmed; nil when empty or NA.
local function cell(rec, i)
  local v = i and rec[i]
  if not v then return nil end
  v = header.unguard(v):match("^%s*(.-)%s*$")
  if v == "" or v == "NA" then return nil end
  return v
end

local function whole(v)
  if not v:match("^%d+$") or #v > 9 then return nil end
  return math.tointeger(tonumber(v))
end

-- "0,75" (Pix writes decimal commas) → 0.75, within 0..1.
local function fraction(v)
  local s = v:gsub(",", ".", 1)
  if not s:match("^%d+%.?%d*$") then return nil end
  local x = tonumber(s)
  if not x or x > 1 then return nil end
  return x
end

-- Beneficiary lookups for one import: by external id (indexed), else by
-- the folded "first last" name when exactly one living person has it.
local function matcher()
  local names
  return function(ext, first, last)
    if ext then
      local rows = assert(relais.db.query(
        "SELECT id FROM beneficiaries WHERE external_id = ? AND erased_at IS NULL", ext))
      if rows[1] then return rows[1].id end
    end
    if not names then
      names = {}
      local rows = assert(relais.db.query(
        "SELECT id, search_key FROM beneficiaries WHERE search_key IS NOT NULL" ..
        " AND erased_at IS NULL"))
      for _, r in ipairs(rows) do
        names[r.search_key] = names[r.search_key] == nil and r.id or false
      end
    end
    return names[relais.fold(first .. " " .. last)] or nil
  end
end

-- The results of a shared profile collection: date, total, competences.
local function profiles(plan, rec)
  local c = plan.col
  local sent = cell(rec, c.sent)
  if sent and sent ~= "Oui" and sent ~= "Non" then
    return nil, "« Envoi (O/N) » is neither Oui nor Non"
  end
  local when = c.sent_at and cell(rec, c.sent_at) or cell(rec, c.sent_day)
  if sent == "Non" or (not sent and not when) then return false end
  if not when then return nil, "the date of sending is missing" end
  local date = c.sent_at and dates.paris(when) or dates.day(when)
  if not date then
    return nil, c.sent_at and "the date of sending is not DD/MM/YYYY HH:mm"
                          or "the date of sending is not YYYY-MM-DD"
  end
  local total = cell(rec, c.total_pix)
  local r = {date = date, comps = {}}
  if total then
    r.total = whole(total)
    if not r.total then return nil, "« Nombre de pix total » is not a whole number" end
  end
  for _, comp in ipairs(plan.comps) do
    local lv, px = cell(rec, comp.level), cell(rec, comp.pix)
    if lv or px then
      local level = lv and whole(lv)
      local pix = px and whole(px)
      if lv and (not level or level > 8) then
        return nil, "the level of competence " .. (comp.code or comp.name) .. " is not 0..8"
      end
      if px and not pix then
        return nil, "the pix of competence " .. (comp.code or comp.name) .. " are not a whole number"
      end
      r.comps[#r.comps + 1] = {comp.code, comp.name, level, pix, nil}
    end
  end
  return r
end

-- The results of a shared assessment: date, mastery, per competence.
local function assessment(plan, rec)
  local c = plan.col
  local shared = cell(rec, c.shared)
  if shared and shared ~= "Oui" and shared ~= "Non" then
    return nil, "« Partage (O/N) » is neither Oui nor Non"
  end
  if shared ~= "Oui" then return false end
  local when = cell(rec, c.shared_at)
  local date = when and dates.paris(when)
  if not date then return nil, "the date of sharing is not DD/MM/YYYY HH:mm" end
  local r = {date = date, comps = {}}
  local m = cell(rec, c.mastery)
  if m then
    r.mastery = fraction(m)
    if not r.mastery then return nil, "the overall mastery is not a fraction 0..1" end
  end
  for _, comp in ipairs(plan.comps) do
    local v = comp.mastery and cell(rec, comp.mastery)
    if v then
      local x = fraction(v)
      if not x then
        return nil, "the mastery of competence " .. (comp.code or comp.name) .. " is not 0..1"
      end
      r.comps[#r.comps + 1] = {comp.code, comp.name, nil, nil, x}
    end
  end
  return r
end

-- Checks, matches and stores one record. Returns nil or an error message.
local function record(st, rec)
  local plan = st.plan
  if #rec ~= plan.width then
    return string.format("the line has %d fields where the header has %d", #rec, plan.width)
  end
  local c = plan.col
  local first, last = cell(rec, c.first_name), cell(rec, c.last_name)
  if not first or not last then return "the participant's first or last name is missing" end
  local campaign_id, campaign = cell(rec, c.campaign_id), cell(rec, c.campaign)
  if not campaign_id or not campaign then return "the campaign's id or name is missing" end
  local res, err = (plan.kind == "profiles" and profiles or assessment)(plan, rec)
  if res == nil then return err end
  local id = st.find(cell(rec, plan.ext), first, last)
  if not id then
    st.result.unmatched = st.result.unmatched + 1
    return nil
  end
  st.result.matched = st.result.matched + 1
  if not res then return nil end   -- not shared: nothing to keep
  local rows = assert(relais.db.query(INSERT_PARTICIPATION, id, plan.kind, campaign_id,
    campaign, cell(rec, c.code), res.date, res.total, res.mastery, st.now))
  if rows[1] and #res.comps > 0 then
    local args, n = {}, 0
    for i, comp in ipairs(res.comps) do
      args[n + 1], args[n + 2] = rows[1].id, i
      args[n + 3], args[n + 4], args[n + 5], args[n + 6], args[n + 7] =
        comp[1], comp[2], comp[3], comp[4], comp[5]
      n = n + 7
    end
    assert(relais.db.exec(insert_competences[#res.comps], table.unpack(args, 1, n)))
  end
  return nil
end

-- Imports SOURCE (a body file or a string). Returns the result table, or
-- nil, status, detail when the file is not a Pix export at all.
function M.run(source, ext_label)
  local st = {result = {rows = 0, matched = 0, unmatched = 0, errors = {}},
              find = matcher(), now = relais.now()}
  local errors = st.result.errors
  for rec, line, why in relais.csv.records(source, {sep = ";"}) do
    if not st.plan then
      if not rec then return nil, 400, "the header line is malformed: " .. why end
      local plan, err = header.plan(rec, ext_label)
      if not plan then return nil, 400, err end
      st.plan = plan
    else
      st.result.rows = st.result.rows + 1
      local err = rec and record(st, rec) or (not rec and why)
      if err and #errors < M.MAX_ERRORS then
        errors[#errors + 1] = {line = line, message = err}
      end
    end
  end
  if not st.plan then return nil, 400, "the file is empty" end
  return st.result
end

return M
