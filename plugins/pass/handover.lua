-- POST /api/v1/pass/books/{id}/handover: a book goes to an organisation
-- (a distributor) or to one person, on a day. The rules (one book, one
-- person; a second book only when asked; in date order) are rules.handover.
local web = require "web"
local rules = require "rules"
local dates = require "dates"
local books = require "books"

local M = {}

local query, exec = relais.db.query, relais.db.exec

local FIELDS = {organisation_id = true, beneficiary_id = true, on = true, second = true}

function M.post(req)
  local id = web.id(req.params.id)
  local row = id and books.row(id)
  if not row then return web.problem(404, "no such book") end
  local body, res = web.body(req)
  if not body then return res end
  local check = web.check()
  check:known(body, FIELDS)
  local org = check:ref(body.organisation_id, "organisation_id")
  local person = check:ref(body.beneficiary_id, "beneficiary_id")
  local today = dates.today()
  local null = relais.json.null
  local on = check:date(body.on, "on") or ((body.on == nil or body.on == null) and today or nil)
  local second = check:boolean(body.second, "second")
  if on and on > today then check:add("on", "must not be in the future") end
  if body.organisation_id ~= nil and body.beneficiary_id ~= nil then
    check:add("beneficiary_id", "give organisation_id or beneficiary_id, not both")
  elseif body.organisation_id == nil and body.beneficiary_id == nil then
    check:add("beneficiary_id", "give organisation_id or beneficiary_id")
  end
  if org and not assert(query("SELECT id FROM relais_v1_organisations WHERE id = ?", org))[1] then
    check:add("organisation_id", "no such organisation")
  end
  if person and not assert(query(
      "SELECT id FROM relais_v1_people WHERE id = ? AND erased_at IS NULL", person))[1] then
    check:add("beneficiary_id", "no such beneficiary")
  end
  if not check:ok() then return check:problem() end

  local people = {}
  for _, h in ipairs(assert(query("SELECT DISTINCT beneficiary_id FROM pass_handovers" ..
      " WHERE book_id = ? AND beneficiary_id IS NOT NULL", id))) do
    people[h.beneficiary_id] = true
  end
  local holder = row.person and {type = "beneficiary", id = row.person}
                 or row.org and {type = "organisation", id = row.org} or nil
  local target = {type = person and "beneficiary" or "organisation", id = person or org,
                  on = on, second = second}
  local held = person and books.held_by(person, id, today) or 0
  local status, field, why = rules.handover({holder = holder, people = people,
                                             last_on = row.last_on}, target, held)
  if status == 422 then
    check:add(field, why)
    return check:problem()
  elseif status then
    return web.problem(status, why)
  end
  local now = relais.now()
  assert(exec("INSERT INTO pass_handovers (book_id, on_date, organisation_id, beneficiary_id," ..
              " second, created_at) VALUES (?, ?, ?, ?, ?, ?)", id, on, org, person,
              second and 1 or 0, now))
  assert(exec("UPDATE pass_books SET updated_at = ? WHERE id = ?", now, id))
  return web.reply(201, books.detail(id))
end

return M
