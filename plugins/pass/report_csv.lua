-- The funders' table as CSV, for a spreadsheet (French Excel opens it as
-- is): UTF-8 with a byte-order mark, ";" between fields, CRLF line ends,
-- decimal comma. One table per block: a title line (the JSON path of the
-- block), a header line (key, then each period FROM..TO and "total", each
-- followed by "%"), one line per key, a "total" line, then an empty line.
-- A text a spreadsheet would run as a formula (= + - @) gets a leading
-- apostrophe.
local tables = require "tables"

local M = {}

local function field(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if math.type(v) == "float" then
      return (string.format("%.2f", v):gsub("%.", ","))
    end
    return tostring(v)
  end
  local s = tostring(v)
  if s:match("^[=+%-@\t\r]") then s = "'" .. s end
  if s:find('[;"\r\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function line(out, cells)
  for i, c in ipairs(cells) do cells[i] = field(c) end
  out[#out + 1] = table.concat(cells, ";")
end

function M.render(r)
  local out = {}
  local names = tables.column_names(r)
  line(out, {"report", "pass"})
  line(out, {"key", "value"})
  for i, p in ipairs(r.periods) do line(out, {"period " .. i, p.from .. ".." .. p.to}) end
  out[#out + 1] = ""
  for _, t in ipairs(tables.build(r)) do
    line(out, {t.path})
    local head = {"key"}
    for _, name in ipairs(names) do head[#head + 1] = name; head[#head + 1] = "%" end
    line(out, head)
    for _, row in ipairs(t.rows) do
      local cells = {row.key}
      for i, c in ipairs(row.counts) do
        cells[#cells + 1] = c
        cells[#cells + 1] = row.shares[i] and row.shares[i] + 0.0 or ""
      end
      line(out, cells)
    end
    local cells = {"total"}
    for _, c in ipairs(t.total) do cells[#cells + 1] = c; cells[#cells + 1] = "" end
    line(out, cells)
    out[#out + 1] = ""
  end
  return "\239\187\191" .. table.concat(out, "\r\n") .. "\r\n"
end

return M
