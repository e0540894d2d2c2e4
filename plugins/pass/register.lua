-- POST /api/v1/pass/books: an order's books and their passes, all or
-- nothing. Every field is checked before anything is written, and a book
-- or pass number already registered (or given twice in the request) is a
-- bad field like any other: the 422 lists them all (books[2].number,
-- books[0].first_pass, books[3].passes[1]), and nothing is stored.
local web = require "web"
local json = require "json"
local numbering = require "numbering"

local M = {}

M.MAX_BOOKS = 10000        -- books in one request
M.MAX_PASSES = 100000      -- passes in one request
M.MAX_ORDER = 50           -- bytes of an order's label
M.MAX_LABEL = 100          -- bytes of a book's local label

local query, exec = relais.db.query, relais.db.exec

local TOP = {order = true, valid_until = true, value_cents = true, books = true}
local BOOK = {number = true, label = true, first_pass = true, count = true, passes = true}

-- The numbers of LIST already registered as WHAT ("books", "passes"): a set.
local EXISTING = {
  books = "SELECT number FROM pass_books WHERE number IN (%s)",
  passes = "SELECT number FROM pass_passes WHERE number IN (%s)",
}

local function existing(what, list)
  local found = {}
  for _, r in ipairs(web.rows_in(EXISTING[what], list)) do found[r.number] = true end
  return found
end

-- The order: its label, and the validity and value it has or is given.
local function order_of(body, check)
  local label = body.order
  if math.type(label) == "integer" then label = tostring(label) end
  label = check:text(label, "order", M.MAX_ORDER, true)
  local valid_until = check:date(body.valid_until, "valid_until")
  local value = check:integer(body.value_cents, "value_cents", 0, 100000)
  if not label then return nil end
  local row = assert(query("SELECT id, valid_until, value_cents FROM pass_orders WHERE label = ?",
                           label))[1]
  if row then
    -- Books added to an order keep its validity and value.
    if valid_until and valid_until ~= row.valid_until then
      check:add("valid_until", "the order " .. label .. " is valid until " .. row.valid_until)
    end
    if value and value ~= row.value_cents then
      check:add("value_cents", "the order " .. label .. " has passes of " .. row.value_cents
                .. " cents")
    end
    return {id = row.id}
  end
  if body.valid_until == nil then check:add("valid_until", "required for a new order") end
  if body.value_cents == nil then check:add("value_cents", "required for a new order") end
  return {label = label, valid_until = valid_until, value_cents = value}
end

-- The passes of book I: a list of numbers, and the field that gave them.
local function passes_of(b, prefix, check)
  local has_first, has_list = b.first_pass ~= nil, b.passes ~= nil
  if has_first and has_list then
    check:add(prefix .. "passes", "give first_pass and count, or passes, not both")
    return nil
  end
  if has_list then
    local list = b.passes
    if type(list) ~= "table" or list == relais.json.null or (next(list) ~= nil and #list == 0) then
      check:add(prefix .. "passes", "must be an array of pass numbers")
      return nil
    end
    if #list < 1 or #list > numbering.MAX_COUNT then
      check:add(prefix .. "passes", "must hold 1 to " .. numbering.MAX_COUNT .. " numbers")
      return nil
    end
    local out, fields = {}, {}
    for j, v in ipairs(list) do
      local field = string.format("%spasses[%d]", prefix, j - 1)
      local n = check:text(v, field, numbering.MAX_LENGTH, true)
      if n then
        out[#out + 1] = n
        fields[#fields + 1] = field
      end
    end
    return out, fields   -- the good ones: each is checked against those registered
  end
  if not has_first then
    check:add(prefix .. "first_pass", "give first_pass and count, or passes")
    return nil
  end
  local first = check:text(b.first_pass, prefix .. "first_pass", numbering.MAX_LENGTH, true)
  local count = check:integer(b.count, prefix .. "count", 1, numbering.MAX_COUNT, true)
  if not first or not count then return nil end
  local list, why = numbering.expand(first, count)
  if not list then
    check:add(prefix .. "first_pass", why)
    return nil
  end
  local fields = {}
  for j = 1, #list do fields[j] = prefix .. "first_pass" end
  return list, fields
end

-- Checks BODY; returns the plan {order, books = {{number, label, passes}}}
-- or nil when CHECK has errors.
local function plan(body, check)
  check:known(body, TOP)
  local order = order_of(body, check)
  local books = body.books
  if books == nil or books == relais.json.null then
    check:add("books", "required")
    return nil
  end
  if type(books) ~= "table" or (next(books) ~= nil and #books == 0) then
    check:add("books", "must be an array of books")
    return nil
  end
  if #books < 1 or #books > M.MAX_BOOKS then
    check:add("books", "must hold 1 to " .. M.MAX_BOOKS .. " books")
    return nil
  end
  local out, seen_books, seen_passes, total = {}, {}, {}, 0
  local book_numbers, pass_numbers = {}, {}
  for i, b in ipairs(books) do
    local prefix = string.format("books[%d].", i - 1)
    if type(b) ~= "table" or b == relais.json.null or #b > 0 then
      check:add(string.format("books[%d]", i - 1), "must be an object")
    else
      check:known(b, BOOK, prefix)
      local number = check:text(b.number, prefix .. "number", numbering.MAX_LENGTH, true)
      local label = check:text(b.label, prefix .. "label", M.MAX_LABEL)
      if number then
        if seen_books[number] then
          check:add(prefix .. "number", "appears more than once in this request")
        else
          seen_books[number] = prefix .. "number"
          book_numbers[#book_numbers + 1] = number
        end
      end
      local passes, fields = passes_of(b, prefix, check)
      if passes then
        total = total + #passes
        for j, n in ipairs(passes) do
          if seen_passes[n] then
            check:add(fields[j], "pass " .. n .. " appears more than once in this request")
          else
            seen_passes[n] = fields[j]
            pass_numbers[#pass_numbers + 1] = n
          end
        end
      end
      out[i] = {number = number, label = label, passes = passes}
    end
    if total > M.MAX_PASSES then
      check:add("books", "at most " .. M.MAX_PASSES .. " passes in one request")
      return nil
    end
  end
  local found = existing("books", book_numbers)
  for _, n in ipairs(book_numbers) do
    if found[n] then check:add(seen_books[n], "book " .. n .. " is already registered") end
  end
  found = existing("passes", pass_numbers)
  for _, n in ipairs(pass_numbers) do
    if found[n] then check:add(seen_passes[n], "pass " .. n .. " is already registered") end
  end
  if not check:ok() then return nil end
  return {order = order, books = out}
end

-- Multi-row INSERTs of the passes: N rows of (number, book, position),
-- one statement text per N (only the last batch of a request is shorter).
local BATCH = 200
local insert_passes = setmetatable({}, {__index = function(t, n)
  local rows = {}
  for i = 1, n do rows[i] = "(?, ?, ?)" end
  local sql = "INSERT INTO pass_passes (number, book_id, position) VALUES " ..
              table.concat(rows, ", ")
  t[n] = sql
  return sql
end})

local function store(p)
  local now = relais.now()
  local order_id = p.order.id
  if not order_id then
    local n, id = exec("INSERT INTO pass_orders (label, valid_until, value_cents, created_at)" ..
                       " VALUES (?, ?, ?, ?)", p.order.label, p.order.valid_until,
                       p.order.value_cents, now)
    assert(n == 1, id)
    order_id = id
  end
  local ids = json.list()
  local args, rows = {}, 0
  local function flush()
    if rows > 0 then
      assert(exec(insert_passes[rows], table.unpack(args, 1, rows * 3)))
      rows = 0
    end
  end
  for i, b in ipairs(p.books) do
    local n, id = exec("INSERT INTO pass_books (order_id, number, label, passes, created_at," ..
                       " updated_at) VALUES (?, ?, ?, ?, ?, ?)", order_id, b.number, b.label,
                       #b.passes, now, now)
    assert(n == 1, id)
    ids[i] = id
    for pos, number in ipairs(b.passes) do
      local o = rows * 3
      args[o + 1], args[o + 2], args[o + 3] = number, id, pos
      rows = rows + 1
      if rows == BATCH then flush() end
    end
  end
  flush()
  return ids
end

function M.post(req)
  local body, res = web.body(req)
  if not body then return res end
  local check = web.check()
  local p = plan(body, check)
  if not p then return check:problem() end
  local ids = store(p)
  return web.reply(201, {created = #ids, ids = ids})
end

return M
