-- POST /api/v1/pass/scans: a pass spent at a Relais venue, recorded by
-- hand (the venue has no access to the platform's export, or the scan is
-- known before it). A pass is spent once: a second record of it is a 409
-- naming when and where it was spent (the import, which cannot refuse a
-- line the platform wrote, keeps such a sighting as a duplicate anomaly).
-- A number no book has is kept, as the import keeps it: an unknown_pass
-- anomaly until its book is registered.
local web = require "web"
local dates = require "dates"
local places = require "places"
local numbering = require "numbering"

local M = {}

local query, exec = relais.db.query, relais.db.exec

local FIELDS = {pass = true, on = true, venue_id = true, level = true, service = true,
                amount_cents = true}

function M.render(id)
  local s = assert(query([[
    SELECT s.id, s.pass, s.on_date, s.venue_id, pl.name AS venue_name, pl.siret, s.service,
           s.level, s.amount_cents, s.source, s.line, s.created_at, s.book_id,
           b.number AS book
      FROM pass_scans s
      JOIN pass_places pl ON pl.id = s.place_id
      LEFT JOIN pass_books b ON b.id = s.book_id
     WHERE s.id = ?]], id))[1]
  local null = relais.json.null
  return {id = s.id, pass = s.pass, on = s.on_date, venue_id = s.venue_id or null,
          venue = s.venue_name or null, siret = s.siret or null, service = s.service or null,
          level = s.level or null, amount_cents = s.amount_cents or null, source = s.source,
          line = s.line or null, known = s.book_id ~= nil, book_id = s.book_id or null,
          book = s.book or null, created_at = relais.time.rfc3339(s.created_at)}
end

function M.post(req)
  local body, res = web.body(req)
  if not body then return res end
  local check = web.check()
  check:known(body, FIELDS)
  local pass = check:text(body.pass, "pass", numbering.MAX_LENGTH, true)
  local today = dates.today()
  local on = check:date(body.on, "on")
             or ((body.on == nil or body.on == relais.json.null) and today or nil)
  if on and on > today then check:add("on", "must not be in the future") end
  local venue_id = check:ref(body.venue_id, "venue_id", true)
  local level = check:integer(body.level, "level", 1, 3)
  local service = check:text(body.service, "service", 200)
  local amount = check:integer(body.amount_cents, "amount_cents", 0, 100000)
  local venue
  if venue_id then
    venue = assert(query("SELECT id, name FROM relais_v1_venues WHERE id = ?", venue_id))[1]
    if not venue then check:add("venue_id", "no such venue") end
  end
  if not check:ok() then return check:problem() end
  local known = assert(query("SELECT s.on_date, pl.name AS venue_name FROM pass_scans s" ..
                             " JOIN pass_places pl ON pl.id = s.place_id WHERE s.pass = ?",
                             pass))[1]
  if known then
    return web.problem(409, "this pass was already spent on " .. known.on_date ..
      (known.venue_name and (" at " .. known.venue_name) or ""))
  end
  local n, id = exec([[
    INSERT INTO pass_scans (pass, book_id, on_date, place_id, venue_id, service, level,
                            amount_cents, source, created_at)
    VALUES (?1, (SELECT book_id FROM pass_passes WHERE number = ?1), ?2, ?3, ?4, ?5, ?6, ?7,
            'manual', ?8)]], pass, on, (places.id(venue.name)), venue.id, service, level,
    amount, relais.now())
  assert(n == 1, id)
  return web.reply(201, M.render(id))
end

return M
