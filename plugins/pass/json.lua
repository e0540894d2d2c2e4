-- JSON out, with lists that stay lists: relais.json.encode writes an empty
-- table as {}, and the API's lists ("items", "history", "errors") must be
-- [] when empty. A table made with M.list() is always an array; any other
-- table is an array when it has keys 1..n only, else an object (keys
-- sorted, so that answers are stable). M.null is JSON null.
local M = {}

local LIST = {}
local RAW = {}
M.null = relais.json.null

function M.list(t)
  return setmetatable(t or {}, LIST)
end

-- JSON text already made (relais.json.encode, in C, of a long list of
-- plain objects: much faster than walking it here), written as it is.
function M.raw(text)
  return setmetatable({text = text}, RAW)
end

local encode_string = relais.json.encode
local concat, sort, type, tostring, format = table.concat, table.sort, type, tostring, string.format
local mtype = math.type

local function enc(v, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = encode_string(v)
  elseif t == "number" then
    if mtype(v) == "integer" then
      out[#out + 1] = tostring(v)
    elseif v ~= v or v == math.huge or v == -math.huge then
      error("json: a number that is not finite")
    elseif v == math.floor(v) and v > -2^53 and v < 2^53 then
      out[#out + 1] = format("%d", v)
    else
      out[#out + 1] = format("%.14g", v)
    end
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif t == "table" and getmetatable(v) == RAW then
    out[#out + 1] = v.text
  elseif t == "table" then
    local n, keys = #v, 0
    if n > 0 and getmetatable(v) ~= LIST then
      for _ in pairs(v) do keys = keys + 1 end
    end
    if getmetatable(v) == LIST or (n > 0 and keys == n) then
      out[#out + 1] = "["
      for i = 1, n do
        if i > 1 then out[#out + 1] = "," end
        enc(v[i], out)
      end
      out[#out + 1] = "]"
    else
      local names = {}
      for k in pairs(v) do
        if type(k) ~= "string" then error("json: a key that is not a string") end
        names[#names + 1] = k
      end
      sort(names)
      out[#out + 1] = "{"
      for i, k in ipairs(names) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        enc(v[k], out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t)
  end
end

function M.encode(v)
  local out = {}
  enc(v, out)
  return concat(out)
end

return M
