-- The funders' table as a printable French HTML page, like the activity
-- report: one section per table, the periods side by side with the total
-- last and a share (%) beside each count, then an inline SVG bar chart of
-- the total column (role="img" with <title> and <desc> listing every
-- value: the table is what a screen reader reads). No script, no external
-- asset; print CSS starts each section on a new page. Every text from the
-- database is escaped.
local tables = require "tables"

local M = {}

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;"}))
end

local function pct(x)
  if not x then return "" end
  return (string.format("%.2f", x):gsub("%.", ",")) .. " %"
end

-- 1234567 → "1 234 567" (narrow no-break spaces, as French writes it).
local function thousands(n)
  local s = tostring(n)
  local head = (#s - 1) % 3 + 1
  local out = {s:sub(1, head)}
  for i = head + 1, #s, 3 do out[#out + 1] = s:sub(i, i + 2) end
  return table.concat(out, "\u{202F}")
end

-- S cut to N bytes on a character boundary, with an ellipsis.
local function cut(s, n)
  if #s <= n then return s end
  while n > 0 and (s:byte(n + 1) or 0) & 0xC0 == 0x80 do n = n - 1 end
  return s:sub(1, n) .. "…"
end

-- A horizontal bar chart of ROWS = {{label, value}, …}.
local function chart(out, id, title, rows)
  local bar_h, gap, left, width, right = 22, 8, 300, 340, 70
  local max = 0
  for _, r in ipairs(rows) do if r[2] > max then max = r[2] end end
  local h = #rows * (bar_h + gap) + gap
  local desc = {}
  for _, r in ipairs(rows) do desc[#desc + 1] = r[1] .. " : " .. r[2] end
  out[#out + 1] = string.format(
    '<svg role="img" aria-labelledby="%s-t %s-d" width="%d" height="%d" viewBox="0 0 %d %d">',
    id, id, left + width + right, h, left + width + right, h)
  out[#out + 1] = string.format('<title id="%s-t">%s</title><desc id="%s-d">%s</desc>',
                                id, esc(title), id, esc(table.concat(desc, " ; ")))
  for i, r in ipairs(rows) do
    local y = gap + (i - 1) * (bar_h + gap)
    local w = max > 0 and math.floor(r[2] * width / max + 0.5) or 0
    local text = cut(r[1], 44)
    out[#out + 1] = string.format(
      '<text x="%d" y="%d" text-anchor="end">%s</text>'
      .. '<rect x="%d" y="%d" width="%d" height="%d"></rect>'
      .. '<text x="%d" y="%d">%d</text>',
      left - 8, y + 16, esc(text), left, y, w, bar_h, left + w + 6, y + 16, r[2])
  end
  out[#out + 1] = "</svg>"
end

local CSS = [[
body{font-family:system-ui,sans-serif;color:#1a1a1a;margin:2rem;max-width:70rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #888;padding:.3rem .6rem;text-align:right}
th:first-child,td:first-child{text-align:left}
thead th{background:#eef}tr.total td{font-weight:bold}
td.share{color:#333;font-size:.9em}
svg rect{fill:#2b5797}svg text{font-size:13px;fill:#1a1a1a}
@media print{section+section{break-before:page}body{margin:0}}
]]

function M.render(r)
  local out = {}
  local heads = tables.column_titles(r)
  out[#out + 1] = '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
  out[#out + 1] = '<meta name="viewport" content="width=device-width, initial-scale=1">'
  out[#out + 1] = "<title>Pass numériques (APTIC) — tableau des financeurs</title>"
  out[#out + 1] = "<style>" .. CSS .. "</style></head><body><main>"
  out[#out + 1] = "<h1>Pass numériques (APTIC) — tableau des financeurs</h1>"
  out[#out + 1] = "<p>Périodes : "
  local ps = {}
  for i = 1, #r.periods do ps[i] = esc(heads[i]) end
  out[#out + 1] = table.concat(ps, " ; ") .. ". Pass utilisés au total : <strong>" ..
    thousands(r.spent.total[#r.spent.total]) .. "</strong> ; personnes : <strong>" ..
    thousands(r.people.total[#r.people.total]) .. "</strong>.</p>"
  for _, t in ipairs(tables.build(r)) do
    out[#out + 1] = string.format('<section id="%s"><h2>%s</h2>', t.id, esc(t.title))
    out[#out + 1] = '<table><thead><tr><th scope="col">' .. esc(t.title) .. "</th>"
    for _, h in ipairs(heads) do
      out[#out + 1] = '<th scope="col">' .. esc(h) .. '</th><th scope="col">%</th>'
    end
    out[#out + 1] = "</tr></thead><tbody>"
    local bars = {}
    for _, row in ipairs(t.rows) do
      out[#out + 1] = '<tr><th scope="row">' .. esc(row.label) .. "</th>"
      for i, c in ipairs(row.counts) do
        out[#out + 1] = "<td>" .. thousands(c) .. '</td><td class="share">' ..
                        pct(row.shares[i]) .. "</td>"
      end
      out[#out + 1] = "</tr>"
      bars[#bars + 1] = {row.label, row.counts[#row.counts]}
    end
    out[#out + 1] = '<tr class="total"><th scope="row">Total</th>'
    for _, c in ipairs(t.total) do
      out[#out + 1] = "<td>" .. thousands(c) .. "</td><td></td>"
    end
    out[#out + 1] = "</tr></tbody></table>"
    chart(out, t.id .. "-chart", t.title .. " (total)", bars)
    out[#out + 1] = "</section>"
  end
  out[#out + 1] = "</main></body></html>\n"
  return table.concat(out)
end

return M
