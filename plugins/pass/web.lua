-- What every route of the plugin shares: JSON replies, problems with their
-- list of bad fields, reading a JSON body as the core does (415, 400), ids
-- in paths, paging (?limit, ?cursor) and the field checks behind a 422
-- that lists every bad field at once.
local json = require "json"

local M = {}

M.ROLES = {"admin", "coordinator"}

function M.reply(status, value, headers)
  local h = headers or {}
  h["Content-Type"] = h["Content-Type"] or "application/json"
  return {status = status, body = json.encode(value), headers = h}
end

-- A problem (RFC 9457); ERRORS, when given, is the list of bad fields.
function M.problem(status, detail, errors)
  local res = relais.problem(status, detail)
  if errors then
    local doc = relais.json.decode(res.body)
    doc.errors = errors
    res.body = json.encode(doc)
  end
  return res
end

-- The JSON object of a writing request, or nil and the problem to answer.
function M.body(req)
  local ct = (req.headers["content-type"] or ""):lower()
  if ct ~= "" then
    local media, rest = ct:match("^%s*([^;%s]+)%s*(.*)$")
    local charset = rest and rest:match("charset%s*=%s*\"?([%w%-_]+)")
    if media ~= "application/json" or (charset and charset ~= "utf-8") then
      return nil, M.problem(415, "the body must be application/json")
    end
  end
  local text = req.body or ""
  if text == "" then return nil, M.problem(400, "a JSON body is required") end
  if text:find("\\u0000", 1, true) then
    return nil, M.problem(400, "strings must not contain \\u0000")
  end
  local doc, err = relais.json.decode(text)
  if doc == nil then return nil, M.problem(400, "malformed JSON: " .. tostring(err)) end
  if type(doc) ~= "table" or not text:match("^%s*{") then
    return nil, M.problem(400, "the body must be a JSON object")
  end
  return doc
end

-- A path id ("12") → integer, or nil.
function M.id(s)
  if type(s) ~= "string" or #s > 15 or not s:match("^[1-9]%d*$") then return nil end
  return math.tointeger(tonumber(s))
end

-- --- field checks ------------------------------------------------------------

local Check = {}
Check.__index = Check

function M.check()
  return setmetatable({errors = json.list()}, Check)
end

function Check:add(field, message)
  self.errors[#self.errors + 1] = {field = field, message = message}
end

function Check:ok()
  return #self.errors == 0
end

function Check:problem()
  return M.problem(422, "some fields are invalid", self.errors)
end

-- Fields of OBJ not in ALLOWED (a set) are refused, named PREFIX..name.
function Check:known(obj, allowed, prefix)
  local names = {}
  for k in pairs(obj) do names[#names + 1] = tostring(k) end
  table.sort(names)
  for _, k in ipairs(names) do
    if not allowed[k] then self:add((prefix or "") .. k, "unknown field") end
  end
end

local null = relais.json.null

-- A text field: trimmed; blank or null → nil (an error when required).
function Check:text(v, field, max, required)
  if v == nil or v == null then
    if required then self:add(field, "required") end
    return nil
  end
  if type(v) ~= "string" then
    self:add(field, "must be a string")
    return nil
  end
  if #v > 4 * max then   -- checked before trimming: the pattern reads it all
    self:add(field, "at most " .. max .. " bytes")
    return nil
  end
  v = v:match("^%s*(.-)%s*$")
  if v == "" then
    if required then self:add(field, "required") end
    return nil
  end
  if #v > max then
    self:add(field, "at most " .. max .. " bytes")
    return nil
  end
  return v
end

-- A whole number in [MIN, MAX].
function Check:integer(v, field, min, max, required)
  if v == nil or v == null then
    if required then self:add(field, "required") end
    return nil
  end
  local n = math.type(v) == "integer" and v or (math.type(v) == "float" and v == math.floor(v)
            and math.tointeger(v))
  if not n or n < min or n > max then
    self:add(field, string.format("must be an integer between %d and %d", min, max))
    return nil
  end
  return n
end

-- A local date "YYYY-MM-DD".
function Check:date(v, field, required)
  local dates = require "dates"
  if v == nil or v == null then
    if required then self:add(field, "required") end
    return nil
  end
  if type(v) ~= "string" or not dates.valid(v) then
    self:add(field, "must be a local date YYYY-MM-DD")
    return nil
  end
  return v
end

function Check:boolean(v, field)
  if v == nil or v == null then return nil end
  if type(v) ~= "boolean" then
    self:add(field, "must be true or false")
    return nil
  end
  return v
end

-- An id referring to something: a positive integer.
function Check:ref(v, field, required)
  return self:integer(v, field, 1, 2^53 - 1, required)
end

-- --- lookups of many keys -----------------------------------------------------

-- The rows of SQL, whose "(%s)" is an IN list, for every value of LIST:
-- asked IN_SIZE values at a time, the last chunk padded with NULLs (which
-- match nothing), so that the statement's text never changes and the host
-- keeps it compiled. ORDER BY orders each chunk: give LIST sorted.
M.IN_SIZE = 100
local IN = string.rep("?, ", M.IN_SIZE - 1) .. "?"

function M.rows_in(sql, list)
  local out, text, n = {}, sql:format(IN), M.IN_SIZE
  for i = 1, #list, n do
    local args = table.move(list, i, math.min(i + n - 1, #list), 1, {})
    for _, r in ipairs(assert(relais.db.query(text, table.unpack(args, 1, n)))) do
      out[#out + 1] = r
    end
  end
  return out
end

-- --- paging ------------------------------------------------------------------

M.PAGE_DEFAULT, M.PAGE_MAX = 50, 500

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(s)
  if #s % 2 ~= 0 or s:find("[^0-9a-f]") then return nil end
  return (s:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
end

-- An opaque cursor for "after this id".
function M.cursor(id)
  return hex("pass1:" .. id)
end

-- ?limit and ?cursor → limit, after-id (0 from the start); errors in CHECK.
function M.page(req, check)
  local limit, after = M.PAGE_DEFAULT, 0
  local l, c = req.query.limit, req.query.cursor
  if l ~= nil then
    limit = type(l) == "string" and #l <= 4 and l:match("^%d+$") and tonumber(l)
    if not limit or limit < 1 or limit > M.PAGE_MAX then
      check:add("limit", "must be an integer between 1 and " .. M.PAGE_MAX)
      limit = M.PAGE_DEFAULT
    end
  end
  if c ~= nil then
    local raw = type(c) == "string" and #c <= 64 and unhex(c)
    local id = raw and raw:match("^pass1:(%d+)$")
    after = id and math.tointeger(tonumber(id))
    if not after then
      check:add("cursor", "must be the \"next\" value of a previous page")
      after = 0
    end
  end
  return math.tointeger(limit), after
end

-- One value of a query parameter (a name given twice is an error).
function M.query(req, name, check)
  local v = req.query[name]
  if type(v) == "table" then
    check:add(name, "given more than once")
    return nil
  end
  return v
end

return M
