-- The rules of the circuit, in one place: a book's status, derived from
-- what is recorded, and whether a handover may be made. Pure functions of
-- plain tables, so that they are tested on their own
-- (tests/integration/plugins/passunit) and every route applies the same.
local M = {}

-- A book's statuses, in the contract's precedence: when several hold, the
-- first of this list is the book's status.
M.STATUSES = {"used", "expired", "started", "assigned", "distributed", "stock"}

M.IS_STATUS = {}
for _, s in ipairs(M.STATUSES) do M.IS_STATUS[s] = true end

-- B = {passes = N, used = N (its passes spent), valid_until = "YYYY-MM-DD",
-- holder = "organisation" | "beneficiary" | nil (the last handover)};
-- TODAY = "YYYY-MM-DD" (local). A book is expired the day after its
-- valid_until while it has passes left; APTIC's tolerance (a month more to
-- scan) does not change its status, only what counts as a late scan and
-- when the credit note is due (reconcile.lua).
local holds = {
  used = function(b) return b.used >= b.passes end,
  expired = function(b, today) return today > b.valid_until end,
  started = function(b) return b.used > 0 end,
  assigned = function(b) return b.holder == "beneficiary" end,
  distributed = function(b) return b.holder == "organisation" end,
  stock = function() return true end,
}

function M.status(b, today)
  for _, s in ipairs(M.STATUSES) do
    if holds[s](b, today) then return s end
  end
end

-- Whether BOOK may go to TARGET. BOOK = {holder = {type, id} | nil (the
-- last handover), people = {[id] = true} (everyone it was ever given to),
-- last_on = "YYYY-MM-DD" | nil}; TARGET = {type, id, on, second};
-- HELD = the books of TARGET's person other than BOOK that are not used up
-- nor expired (a count), when TARGET is a person. Returns nil when it may,
-- else status (409 or 422), field, message.
--   - one book, one person: a book given to a person never goes to
--     another (it may go back to an organisation, and to that same person
--     again);
--   - one person, one book: a person who holds a book with passes left
--     gets a second one only when asked for ("second": true);
--   - a handover to the book's holder changes nothing: refused;
--   - the history reads in order: a handover is not dated before the last.
function M.handover(book, target, held)
  if book.last_on and target.on < book.last_on then
    return 422, "on", "must not be before the last handover (" .. book.last_on .. ")"
  end
  local h = book.holder
  if h and h.type == target.type and h.id == target.id then
    return 409, nil, "the book is already held by this " ..
      (target.type == "beneficiary" and "person" or "organisation")
  end
  if target.type == "beneficiary" then
    for id in pairs(book.people) do
      if id ~= target.id then
        return 409, nil, "the book was already given to another person: one book, one person"
      end
    end
    if held > 0 and not target.second then
      return 409, nil, "this person already holds a book with passes left:" ..
        " send \"second\": true to give a second one"
    end
  end
  return nil
end

return M
