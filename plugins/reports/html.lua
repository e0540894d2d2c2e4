-- The report as a printable French HTML page, like the funders' report: a
-- summary, then one section per table (tables.lua), the periods side by
-- side with the total last and each count's share beside it, followed by
-- an inline SVG horizontal bar chart of the periods (role="img" with
-- <title> and <desc> listing every value; the table is what a screen
-- reader reads). Long labels (19 neighbourhoods, a theme in full) wrap on
-- several lines and the chart grows with them. No script, no external
-- asset; print CSS keeps a section on one page. Every text is escaped.

local tables = require "tables"

local M = {}

local PALETTE = {"#1f4e79", "#c55a11", "#3b6e22", "#7030a0", "#8a6d00", "#a61c4a",
                 "#2e6f8e", "#5b5b5b", "#8c3c00", "#40407a", "#006d5b", "#7a4a00"}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;"}))
end

-- 2307 → "2 307" (narrow no-break spaces), 0.5 → "0,5".
local function num(v)
  if v == nil or v == relais.json.null then return "—" end
  if math.type(v) == "float" then
    local s = string.format("%.2f", v):gsub("0+$", ""):gsub("%.$", ""):gsub("%.", ",")
    return s
  end
  local s, k = tostring(v), 1
  while k > 0 do s, k = s:gsub("^(%-?%d+)(%d%d%d)", "%1\226\128\175%2") end
  return s
end

local function pct(v)
  if v == nil or v == relais.json.null then return "—" end
  return (string.format("%.0f", v * 100)) .. " %"
end

local function show(v, kind)
  if kind == "rate" then return pct(v) end
  return num(v)
end

local function share(v, whole)
  local s = tables.share(v, whole)
  if not s then return "—" end
  return (string.format("%.1f", s):gsub("%.", ",")) .. " %"
end

-- TEXT cut into lines of at most WIDTH characters, at spaces when it can.
local function wrap(text, width)
  local lines, cur = {}, ""
  for word in tostring(text):gmatch("%S+") do
    while utf8.len(word) and utf8.len(word) > width do
      if cur ~= "" then lines[#lines + 1] = cur; cur = "" end
      local cut = utf8.offset(word, width + 1)
      lines[#lines + 1] = word:sub(1, cut - 1)
      word = word:sub(cut)
    end
    if cur == "" then
      cur = word
    elseif utf8.len(cur) + 1 + utf8.len(word) <= width then
      cur = cur .. " " .. word
    else
      lines[#lines + 1] = cur
      cur = word
    end
  end
  if cur ~= "" or #lines == 0 then lines[#lines + 1] = cur end
  return lines
end

-- A horizontal bar chart of T's rows: one bar per period (SERIES columns),
-- a legend when there are several.
local function chart(out, id, t, columns, series)
  local label_w, bar_w, right, line_h = 250, 340, 70, 15
  local bar_h = series > 1 and 12 or 18
  local max = 0
  for _, row in ipairs(t.rows) do
    for i = 1, series do
      local v = row.values[i]
      if type(v) == "number" and v > max then max = v end
    end
  end
  local legend_h = series > 1 and (series * 18 + 8) or 0
  local y, parts, desc = legend_h + 6, {}, {}
  for _, row in ipairs(t.rows) do
    local lines = wrap(row.label, 32)
    local h = math.max(#lines * line_h, series * (bar_h + 2)) + 10
    local vals = {}
    for i, l in ipairs(lines) do
      parts[#parts + 1] = string.format('<text x="%d" y="%d" text-anchor="end">%s</text>',
                                        label_w - 8, y + 12 + (i - 1) * line_h, esc(l))
    end
    for i = 1, series do
      local v = row.values[i]
      local n = type(v) == "number" and v or 0
      local w = max > 0 and math.floor(n * bar_w / max + 0.5) or 0
      local by = y + (i - 1) * (bar_h + 2)
      parts[#parts + 1] = string.format(
        '<rect x="%d" y="%d" width="%d" height="%d" fill="%s"></rect>'
        .. '<text x="%d" y="%d">%s</text>', label_w, by, w, bar_h, PALETTE[(i - 1) % 12 + 1],
        label_w + w + 5, by + bar_h - 2, esc(show(v, t.kind)))
      vals[#vals + 1] = show(v, t.kind) .. (series > 1 and (" (" .. columns[i] .. ")") or "")
    end
    desc[#desc + 1] = row.label .. " : " .. table.concat(vals, ", ")
    y = y + h
  end
  local width = label_w + bar_w + right
  out[#out + 1] = string.format(
    '<svg role="img" aria-labelledby="%s-t %s-d" width="%d" height="%d" viewBox="0 0 %d %d">',
    id, id, width, y + 4, width, y + 4)
  out[#out + 1] = string.format('<title id="%s-t">%s</title><desc id="%s-d">%s</desc>', id,
                                esc(t.title), id, esc(table.concat(desc, " ; ")))
  for i = 1, legend_h > 0 and series or 0 do
    out[#out + 1] = string.format(
      '<rect x="%d" y="%d" width="12" height="12" fill="%s"></rect><text x="%d" y="%d">%s</text>',
      label_w, (i - 1) * 18 + 2, PALETTE[(i - 1) % 12 + 1], label_w + 18, (i - 1) * 18 + 12,
      esc(columns[i]))
  end
  out[#out + 1] = table.concat(parts)
  out[#out + 1] = "</svg>"
end

local function section(out, t, columns, series)
  local id = t.id:gsub("[^%w]", "-")
  out[#out + 1] = string.format('<section id="%s"><h2>%s</h2><table><thead><tr>'
                                .. '<th scope="col">%s</th>', id, esc(t.title), esc(t.head))
  for _, c in ipairs(columns) do
    out[#out + 1] = '<th scope="col">' .. esc(c) .. "</th>"
    if t.wholes then out[#out + 1] = '<th scope="col" class="pc">%</th>' end
  end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, row in ipairs(t.rows) do
    out[#out + 1] = '<tr><th scope="row">' .. esc(row.label) .. "</th>"
    for i, v in ipairs(row.values) do
      out[#out + 1] = "<td>" .. esc(show(v, row.kind or t.kind)) .. "</td>"
      if t.wholes then out[#out + 1] = '<td class="pc">' .. esc(share(v, t.wholes[i])) .. "</td>" end
    end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</tbody></table>"
  if t.chart then chart(out, id .. "-chart", t, columns, series) end
  out[#out + 1] = "</section>"
end

local CSS = [[
body{font-family:system-ui,sans-serif;color:#111;margin:2em auto;max-width:62em;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #999;padding:.3em .6em;text-align:right}td{white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}
td.pc,th.pc{color:#444;font-size:.9em}
svg{max-width:100%;height:auto}svg text{font-size:13px;fill:#111}
@media print{body{margin:0;max-width:none}
section{break-inside:avoid;page-break-inside:avoid}h2{break-after:avoid}
table{display:table;overflow:visible}}
]]

function M.render(model, meta)
  local columns = meta.columns
  -- The chart shows the periods, not their total.
  local series = #meta.ids > 1 and #columns - 1 or #columns
  local out = {
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>Rapport d'activité</title><style>" .. CSS .. "</style></head><body>",
    "<header><h1>Rapport d'activité</h1>",
  }
  local spans = {}
  for i = 1, series do spans[#spans + 1] = "<strong>" .. esc(columns[i]) .. "</strong>" end
  out[#out + 1] = "<p>Séances et accompagnements commençant " .. (series > 1 and "sur les périodes "
                  or "sur la période ") .. table.concat(spans, ", ") .. " (dates incluses)"
                  .. (series > 1 and ", et leur total." or ".") .. "</p>"
  if #meta.scope > 0 then
    out[#out + 1] = "<p>Périmètre : " .. esc(table.concat(meta.scope, ", ")) .. ".</p>"
  end
  out[#out + 1] = "<p>Les habitants et les professionnels formés sont comptés à part "
                  .. "(« par public ») ; les pourcentages sont la part de chaque ligne "
                  .. "dans le total de sa colonne.</p></header><main>"
  for _, t in ipairs(model) do section(out, t, columns, series) end
  out[#out + 1] = "</main></body></html>\n"
  return table.concat(out, "\n")
end

return M
