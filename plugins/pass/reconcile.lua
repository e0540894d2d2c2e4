-- GET /api/v1/pass/reconciliation: what the hand-ticking of the scans was
-- for, computed from the rows each time. Books and passes by status; per
-- order, the passes left unspent once APTIC's tolerance is over (the
-- credit note); per venue, the passes spent there and what it is owed; and
-- every anomaly to resolve, each with the pass, its book and a French
-- sentence saying what is wrong.
local json = require "json"
local web = require "web"
local rules = require "rules"
local dates = require "dates"

local M = {}

M.MAX_ANOMALIES = 10000
M.KINDS = {"unknown_pass", "not_given", "after_validity", "duplicate", "venue_not_aptic"}
M.IS_KIND = {}
for _, k in ipairs(M.KINDS) do M.IS_KIND[k] = true end

local query = relais.db.query

-- The books counted by what their status depends on: their order, whether
-- all or some of their passes are spent, and who holds them (0 nobody, 1 a
-- person, 2 an organisation). A few dozen groups, whatever the number of
-- books: each group's status is rules.status of one book like them.
local BOOKS = [[
SELECT b.order_id, coalesce(u.n, 0) >= b.passes AS full, coalesce(u.n, 0) > 0 AS some,
       CASE WHEN h.beneficiary_id IS NOT NULL THEN 1
            WHEN h.organisation_id IS NOT NULL THEN 2 ELSE 0 END AS holder,
       count(*) AS books, sum(b.passes) AS passes, sum(coalesce(u.n, 0)) AS used
  FROM pass_books b
  LEFT JOIN (SELECT book_id, count(*) AS n FROM pass_scans
              WHERE book_id IS NOT NULL GROUP BY book_id) u ON u.book_id = b.id
  LEFT JOIN pass_handovers h
    ON h.id = (SELECT max(x.id) FROM pass_handovers x WHERE x.book_id = b.id)
 GROUP BY 1, 2, 3, 4]]

local HOLDER = {[0] = nil, [1] = "beneficiary", [2] = "organisation"}

-- Spent per place as the scans name it. What each pass spent is worth: the
-- amount the export gave, else its order's value (0 for a pass no book
-- has, without an amount); coalesce asks the order only for a scan
-- without an amount, so an export with amounts is one pass over the scans.
local VENUES = [[
SELECT s.place_id, s.venue_id, count(*) AS spent,
       sum(coalesce(s.amount_cents,
                    (SELECT o.value_cents FROM pass_books b
                       JOIN pass_orders o ON o.id = b.order_id
                      WHERE b.id = s.book_id), 0)) AS value
  FROM pass_scans s
 GROUP BY s.place_id, s.venue_id]]

local SCAN_COLS = [[s.pass, s.on_date, s.venue_id, pl.name AS venue_name, pl.siret,
       b.id AS book_id, b.number AS book]]

local ANOMALY_SQL = {
  -- The scans no book has.
  unknown_pass = [[
SELECT s.pass, s.on_date, s.venue_id, pl.name AS venue_name, pl.siret
  FROM pass_scans s JOIN pass_places pl ON pl.id = s.place_id
 WHERE s.book_id IS NULL
 ORDER BY s.on_date, s.pass LIMIT ?]],
  -- From the books (CROSS JOIN keeps that order): a probe of the
  -- handovers a book, and the scans (by their book) of those never given
  -- to a person only.
  not_given = [[
SELECT ]] .. SCAN_COLS .. [[
  FROM pass_books b CROSS JOIN pass_scans s
  JOIN pass_places pl ON pl.id = s.place_id
 WHERE s.book_id = b.id
   AND NOT EXISTS (SELECT 1 FROM pass_handovers h
                    WHERE h.book_id = b.id AND h.beneficiary_id IS NOT NULL)
 ORDER BY s.on_date, s.pass LIMIT ?]],
  -- One pass over the scans: only those after the earliest end of a
  -- tolerance (?1) are taken to their book's order.
  after_validity = [[
SELECT ]] .. SCAN_COLS .. [[, o.valid_until
  FROM pass_scans s
  JOIN pass_books b ON b.id = s.book_id JOIN pass_orders o ON o.id = b.order_id
  JOIN pass_places pl ON pl.id = s.place_id
 WHERE s.on_date > ?1 AND s.on_date > date(o.valid_until, ?2)
 ORDER BY s.on_date, s.pass LIMIT ?3]],
  duplicate = [[
SELECT d.pass, d.on_date, d.venue_id, pl.name AS venue_name, pl.siret, d.line, d.source,
       s.on_date AS first_on, fpl.name AS first_venue, b.id AS book_id, b.number AS book
  FROM pass_duplicates d JOIN pass_places pl ON pl.id = d.place_id
  JOIN pass_scans s ON s.pass = d.pass JOIN pass_places fpl ON fpl.id = s.place_id
  LEFT JOIN pass_books b ON b.id = s.book_id
 ORDER BY d.on_date, d.pass LIMIT ?]],
  -- The scans at the places of the odd groups (one pass over the scans);
  -- which of them belong to an odd group is decided in Lua.
  venue_not_aptic = [[
SELECT ]] .. SCAN_COLS .. [[, s.place_id
  FROM pass_scans s JOIN pass_places pl ON pl.id = s.place_id
  LEFT JOIN pass_books b ON b.id = s.book_id
 WHERE s.place_id IN (%s)
 ORDER BY s.on_date, s.pass]],
}

-- Relais venues by id and by folded name (the import matched names so;
-- a venue created after the import is found here by its name).
local function relais_venues()
  local by_id, by_key = {}, {}
  for _, v in ipairs(assert(query("SELECT id, name, aptic FROM relais_v1_venues ORDER BY id DESC"))) do
    by_id[v.id] = v
    by_key[relais.fold(v.name)] = v
  end
  return by_id, by_key
end

local function place(r)
  return r.venue_name or (r.siret and ("SIRET " .. r.siret)) or "un lieu non précisé"
end

local function books_and_orders(today, tolerance)
  local counts = {total = 0}
  for _, st in ipairs(rules.STATUSES) do counts[st] = 0 end
  local orders_rows = assert(query("SELECT id, label, valid_until, value_cents FROM pass_orders" ..
                                   " ORDER BY valid_until, label"))
  local by_id = {}
  for _, o in ipairs(orders_rows) do by_id[o.id] = o end
  local per_order = {}
  for _, g in ipairs(assert(query(BOOKS))) do
    -- One book like them: two passes, both, one or none spent.
    local like = {passes = 2, used = g.full == 1 and 2 or g.some == 1 and 1 or 0,
                  valid_until = by_id[g.order_id].valid_until, holder = HOLDER[g.holder]}
    local st = rules.status(like, today)
    counts[st] = counts[st] + g.books
    counts.total = counts.total + g.books
    local o = per_order[g.order_id] or {books = 0, passes = 0, spent = 0}
    per_order[g.order_id] = o
    o.books, o.passes, o.spent = o.books + g.books, o.passes + g.passes, o.spent + g.used
  end
  local passes = {total = 0, spent = 0, unspent = 0, expired_unspent = 0,
                  expired_value_cents = 0}
  local orders = json.list()
  for _, o in ipairs(orders_rows) do
    local n = per_order[o.id] or {books = 0, passes = 0, spent = 0}
    local tolerated = dates.add_days(o.valid_until, tolerance)
    local over = today > tolerated
    local unspent = n.passes - n.spent
    passes.total = passes.total + n.passes
    passes.spent = passes.spent + n.spent
    passes.unspent = passes.unspent + unspent
    if over then
      passes.expired_unspent = passes.expired_unspent + unspent
      passes.expired_value_cents = passes.expired_value_cents + unspent * o.value_cents
    end
    orders[#orders + 1] = {
      id = o.id, order = o.label, valid_until = o.valid_until, tolerated_until = tolerated,
      value_cents = o.value_cents, books = n.books, passes = n.passes, spent = n.spent,
      unspent = unspent, over = over, expired_unspent = over and unspent or 0,
      credit_note_cents = over and unspent * o.value_cents or 0,
    }
  end
  return counts, passes, orders
end

-- Spent per venue (merged when two places are one Relais venue), and the
-- groups of scans made where no APTIC venue of Relais is known.
local function venues()
  local by_id, by_key = relais_venues()
  local places = {}
  for _, p in ipairs(assert(query("SELECT id, key, name, siret FROM pass_places"))) do
    places[p.id] = p
  end
  local merged, list, odd = {}, json.list(), {}
  for _, g in ipairs(assert(query(VENUES))) do
    local pl = places[g.place_id]
    local v = (g.venue_id and by_id[g.venue_id]) or by_key[pl.key]
    local key = v and ("#" .. v.id) or ("?" .. pl.key)
    local e = merged[key]
    if not e then
      e = {venue = v and v.name or pl.name or (pl.siret and ("SIRET " .. pl.siret)) or json.null,
           venue_id = v and v.id or json.null, aptic = v and v.aptic == 1 or false,
           siret = pl.siret or json.null, spent = 0, value_cents = 0}
      merged[key] = e
      list[#list + 1] = e
    end
    e.spent, e.value_cents = e.spent + g.spent, e.value_cents + g.value
    if not (v and v.aptic == 1) then
      odd[#odd + 1] = {place = g.place_id, id = g.venue_id, relais = v}
    end
  end
  table.sort(list, function(a, b)
    if a.spent ~= b.spent then return a.spent > b.spent end
    return tostring(a.venue) < tostring(b.venue)
  end)
  return list, odd
end

local function detail(kind, r, extra)
  local on, where = dates.fr(r.on_date), place(r)
  if kind == "unknown_pass" then
    return "pass utilisé le " .. on .. " à " .. where .. ", mais d'aucun carnet enregistré"
  elseif kind == "not_given" then
    return "pass du carnet " .. r.book .. " utilisé le " .. on .. " à " .. where ..
           ", alors que ce carnet n'a été remis à aucune personne"
  elseif kind == "after_validity" then
    return "pass utilisé le " .. on .. " à " .. where .. ", après la fin de validité (" ..
           dates.fr(r.valid_until) .. ", tolérance jusqu'au " .. dates.fr(extra) .. ")"
  elseif kind == "duplicate" then
    return "pass déjà utilisé le " .. dates.fr(r.first_on) .. " à " ..
           (r.first_venue or "un lieu non précisé") .. ", et de nouveau le " .. on .. " à " ..
           where .. (r.line and (" (ligne " .. r.line .. " de l'export)") or "")
  end
  return extra and ("pass utilisé le " .. on .. " à " .. where ..
                    ", lieu de Relais qui n'est pas labellisé APTIC")
         or ("pass utilisé le " .. on .. " à " .. where .. ", qui n'est pas un lieu de Relais")
end

local function anomaly(kind, r, extra)
  return {kind = kind, pass = r.pass, book = r.book or json.null,
          book_id = r.book_id or json.null, on = r.on_date,
          venue = place(r), venue_id = r.venue_id or json.null,
          detail = detail(kind, r, extra)}
end

-- The anomalies of kind ONLY (nil: all), at most MAX_ANOMALIES. ORDERS as
-- by_order shows them (by valid_until); UNKNOWN is how many scans have a
-- number no book has (their query is skipped when there are none).
local function anomalies(only, odd, orders, tolerance, unknown)
  local list, counts, room = json.list(), {}, M.MAX_ANOMALIES
  local truncated = false
  local function add(kind, rows, extra)
    for _, r in ipairs(rows) do
      if room == 0 then truncated = true return end
      list[#list + 1] = anomaly(kind, r, type(extra) == "function" and extra(r) or extra)
      counts[kind] = counts[kind] + 1
      room = room - 1
    end
  end
  for _, kind in ipairs(M.KINDS) do
    counts[kind] = 0
    if (not only or only == kind) and (kind ~= "unknown_pass" or unknown > 0) then
      local sql = ANOMALY_SQL[kind]
      if kind == "after_validity" then
        -- orders come by valid_until: the first one's tolerance ends first
        local earliest = orders[1] and orders[1].tolerated_until or "9999"
        add(kind, assert(query(sql, earliest, "+" .. tolerance .. " days", room + 1)), function(r)
          return dates.add_days(r.valid_until, tolerance)
        end)
      elseif kind == "venue_not_aptic" then
        -- place → {[venue id or false] = whether it is a Relais venue}
        local groups, ids = {}, {}
        for _, g in ipairs(odd) do
          if not groups[g.place] then
            groups[g.place] = {}
            ids[#ids + 1] = g.place
          end
          groups[g.place][g.id or false] = g.relais ~= nil
        end
        table.sort(ids)
        local rows = {}
        for _, r in ipairs(#ids > 0 and web.rows_in(sql, ids) or {}) do
          local relais_venue = groups[r.place_id][r.venue_id or false]
          if relais_venue ~= nil then
            r.relais = relais_venue
            rows[#rows + 1] = r
          end
        end
        table.sort(rows, function(a, b)
          if a.on_date ~= b.on_date then return a.on_date < b.on_date end
          return a.pass < b.pass
        end)
        add(kind, rows, function(r) return r.relais end)
      else
        add(kind, assert(query(sql, room + 1)))
      end
    end
  end
  return list, counts, truncated
end

function M.build(cfg, only)
  local today = dates.today()
  local tolerance = cfg.tolerance_days
  local books, passes, orders = books_and_orders(today, tolerance)
  local by_venue, odd = venues()
  -- Every scan is of a registered pass (counted per book) or of none.
  local scans = assert(query("SELECT count(*) AS n FROM pass_scans"))[1].n
  passes.unknown_spent = scans - passes.spent
  local list, counts, truncated = anomalies(only, odd, orders, tolerance, passes.unknown_spent)
  for _, o in ipairs(orders) do o.id = nil end
  -- The anomalies are many plain objects: encoded in C.
  return {today = today, tolerance_days = tolerance, books = books, passes = passes,
          by_order = orders, by_venue = by_venue,
          anomalies = #list > 0 and json.raw(relais.json.encode(list)) or json.list(),
          anomaly_counts = counts, anomalies_truncated = truncated}
end

return M
