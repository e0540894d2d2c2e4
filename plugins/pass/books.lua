-- Books: what is known of each (its order, passes, holder, history) and
-- its status, derived from the rows each time (rules.lua). Who holds a
-- book is its last handover; the names shown come from the read models
-- (an organisation's name, a person's first name: plugins never see more
-- of a person).
local json = require "json"
local web = require "web"
local rules = require "rules"
local dates = require "dates"

local M = {}

local query = relais.db.query

-- One page of books at most, and the books of one status are found in
-- chunks of this many.
local CHUNK = 500

-- The books' rows with what their status needs: `used` counts their
-- passes spent, `org` and `person` are the last handover's.
local SELECT_BOOKS = [[
SELECT b.id, b.number, b.label, b.passes, b.created_at, b.updated_at,
       o.label AS order_label, o.valid_until, o.value_cents,
       (SELECT count(*) FROM pass_scans s WHERE s.book_id = b.id) AS used,
       h.organisation_id AS org, h.beneficiary_id AS person, h.on_date AS last_on
  FROM pass_books b
  JOIN pass_orders o ON o.id = b.order_id
  LEFT JOIN pass_handovers h
    ON h.id = (SELECT max(x.id) FROM pass_handovers x WHERE x.book_id = b.id)
]]

local BY_ID = SELECT_BOOKS .. " WHERE b.id = ?"

-- The page's filters are bound in a fixed order; a filter not asked for is
-- NULL, so that the text stays one statement (the host keeps it compiled).
local LIST = SELECT_BOOKS .. [[
 WHERE b.id > ?1
   AND (?2 IS NULL OR h.organisation_id = ?2)
   AND (?3 IS NULL OR h.beneficiary_id = ?3)
   AND (?4 IS NULL OR o.label = ?4)
   AND (?5 IS NULL OR instr(lower(b.number), ?5) > 0 OR instr(lower(b.label), ?5) > 0)
 ORDER BY b.id LIMIT ?6]]

local function holder_type(row)
  if row.person then return "beneficiary" end
  if row.org then return "organisation" end
  return nil
end

function M.status(row, today)
  return rules.status({passes = row.passes, used = row.used, valid_until = row.valid_until,
                       holder = holder_type(row)}, today)
end

-- Names of the organisations and people among HOLDERS ({type, id} lists):
-- {organisation = {[id] = row}, beneficiary = {[id] = row}}.
local function names(holders)
  local ids = {organisation = {}, beneficiary = {}}
  for _, h in ipairs(holders) do ids[h.type][#ids[h.type] + 1] = h.id end
  local out = {organisation = {}, beneficiary = {}}
  local sql = {
    organisation = "SELECT id, name FROM relais_v1_organisations WHERE id IN (%s)",
    beneficiary = "SELECT id, first_name AS name, erased_at FROM relais_v1_people" ..
                  " WHERE id IN (%s)",
  }
  for kind, list in pairs(ids) do
    for _, r in ipairs(web.rows_in(sql[kind], list)) do out[kind][r.id] = r end
  end
  return out
end

local function holder_json(h, known)
  local r = known[h.type][h.id]
  local out = {type = h.type, id = h.id, name = r and r.name or json.null}
  if h.type == "beneficiary" and r and r.erased_at then out.erased = true end
  if not r then out.missing = true end
  return out
end

-- The JSON of book rows ROWS, with their history (one query for all).
function M.render(rows, today)
  local ids = {}
  for i, r in ipairs(rows) do ids[i] = r.id end
  local history = {}
  local holders = {}
  if #rows > 0 then
    local hs = web.rows_in("SELECT id, book_id, on_date, organisation_id, beneficiary_id," ..
      " second FROM pass_handovers WHERE book_id IN (%s) ORDER BY book_id, id", ids)
    for _, h in ipairs(hs) do
      local list = history[h.book_id] or json.list()
      history[h.book_id] = list
      local who = h.beneficiary_id and {type = "beneficiary", id = h.beneficiary_id}
                  or {type = "organisation", id = h.organisation_id}
      list[#list + 1] = {on = h.on_date, holder = who, second = h.second == 1}
      holders[#holders + 1] = who
    end
  end
  local known = names(holders)
  local out = json.list()
  for i, r in ipairs(rows) do
    local list = history[r.id] or json.list()
    for _, h in ipairs(list) do h.holder = holder_json(h.holder, known) end
    local last = list[#list]
    out[i] = {
      id = r.id, number = r.number, label = r.label or json.null, order = r.order_label,
      value_cents = r.value_cents, valid_until = r.valid_until, passes = r.passes,
      used = r.used, status = M.status(r, today),
      holder = last and last.holder or json.null, history = list,
      created_at = relais.time.rfc3339(r.created_at),
      updated_at = relais.time.rfc3339(r.updated_at),
    }
  end
  return out
end

-- The row of book ID, or nil.
function M.row(id)
  return assert(query(BY_ID, id))[1]
end

-- GET /api/v1/pass/books/{id}: the book, and each of its passes with its
-- scan and the accompaniments that cite it.
function M.detail(id)
  local row = M.row(id)
  if not row then return nil end
  local today = dates.today()
  local book = M.render({row}, today)[1]
  local passes = assert(query([[
    SELECT p.number, p.position, s.id AS scan_id, s.on_date, s.venue_id, pl.name AS venue_name,
           s.service, s.level, s.source, v.name AS venue
      FROM pass_passes p
      LEFT JOIN pass_scans s ON s.pass = p.number
      LEFT JOIN pass_places pl ON pl.id = s.place_id
      LEFT JOIN relais_v1_venues v ON v.id = s.venue_id
     WHERE p.book_id = ? ORDER BY p.position]], id))
  local cited = {}
  local numbers = {}
  for i, p in ipairs(passes) do numbers[i] = p.number end
  for _, a in ipairs(web.rows_in("SELECT id, pass FROM relais_v1_accompaniments" ..
                                 " WHERE pass IN (%s) ORDER BY id", numbers)) do
    local list = cited[a.pass] or json.list()
    cited[a.pass] = list
    list[#list + 1] = a.id
  end
  local list = json.list()
  for i, p in ipairs(passes) do
    list[i] = {
      number = p.number, position = p.position,
      spent = p.scan_id and {
        on = p.on_date, venue_id = p.venue_id or json.null,
        venue = p.venue or p.venue_name or json.null, service = p.service or json.null,
        level = p.level or json.null, source = p.source,
      } or json.null,
      accompaniments = cited[p.number] or json.list(),
    }
  end
  book.pass_list = list
  return book
end

-- GET /api/v1/pass/books: a page of books in id order, filtered. FILTERS =
-- {status, organisation_id, beneficiary_id, order, q}; AFTER the id of the
-- cursor. Returns the rendered items and the last id when there are more.
function M.list(filters, limit, after)
  local today = dates.today()
  local q = filters.q and filters.q:lower() or nil
  local found = {}
  local cursor = after
  while #found <= limit do
    local chunk = assert(query(LIST, cursor, filters.organisation_id, filters.beneficiary_id,
                               filters.order, q, CHUNK))
    for _, r in ipairs(chunk) do
      if not filters.status or M.status(r, today) == filters.status then
        found[#found + 1] = r
        if #found > limit then break end
      end
    end
    if #chunk < CHUNK then break end
    cursor = chunk[#chunk].id
  end
  local more = #found > limit
  if more then found[#found] = nil end
  return M.render(found, today), more and found[#found].id or nil
end

-- The books person ID holds now (their last handover is to them), other
-- than BOOK_ID, that still have passes to spend: neither used up nor
-- expired.
function M.held_by(person, book_id, today)
  local rows = assert(query(SELECT_BOOKS .. [[
     WHERE h.beneficiary_id = ? AND b.id <> ?]], person, book_id))
  local n = 0
  for _, r in ipairs(rows) do
    local s = M.status(r, today)
    if s ~= "used" and s ~= "expired" then n = n + 1 end
  end
  return n
end

return M
