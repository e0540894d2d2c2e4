-- The funders' table as an Excel workbook (relais.xlsx: libxlsxwriter
-- writes it, this module never writes XML). The first sheet says what the
-- workbook holds (the periods, the rule of each share); then one sheet per
-- table of tables.lua, in that order: a title, the periods side by side
-- with the total last, each count followed by its share, the table's
-- total row, and beside it a native bar chart (one series per period, the
-- categories in the table's order; the total alone when there is one
-- period). A share is written as the exact fraction (count ÷ the
-- column's total; for levels ÷ the passes with a level) in a percentage
-- format with two decimals: Excel shows 34,99 % where the JSON says
-- 34.99, and a sum over it stays exact.
local tables = require "tables"

local M = {}

M.TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

local HEAD = 4   -- the header's row; the table's rows follow it

function M.render(r)
  local wb = relais.xlsx.workbook()
  local f = {
    title = wb:format{bold = true, font_size = 14},
    note = wb:format{italic = true, font_color = "#444444"},
    head = wb:format{bold = true, bg_color = "#DDEBF7", border = 1, wrap = true,
                     valign = "vcenter", align = "center"},
    label = wb:format{border = 1, wrap = true, valign = "vcenter"},
    total = wb:format{border = 1, bold = true},
    count = wb:format{border = 1, num_format = "#,##0"},
    bold_count = wb:format{border = 1, bold = true, num_format = "#,##0"},
    share = wb:format{border = 1, num_format = "0.00%", font_color = "#444444"},
    blank = wb:format{border = 1},
  }
  local titles = tables.column_titles(r)
  local list = tables.build(r)
  local np = #r.periods

  local ws = wb:sheet("Tableau")
  ws:write(1, 1, "Pass numériques : le tableau des financeurs", f.title)
  ws:write(2, 1, "Un pass compte pour la personne à qui son carnet a été remis" ..
                 " (« Non renseigné » sinon) ; son âge est celui de l'année du début" ..
                 " de la période.", f.note)
  ws:write(HEAD, 1, "Période", f.head)
  ws:write(HEAD, 2, "Du", f.head)
  ws:write(HEAD, 3, "Au", f.head)
  for i, p in ipairs(r.periods) do
    ws:write(HEAD + i, 1, titles[i], f.label)
    ws:write(HEAD + i, 2, p.from, f.label)
    ws:write(HEAD + i, 3, p.to, f.label)
  end
  local y = HEAD + np + 2
  ws:write(y, 1, "Feuilles", f.head)
  for i, t in ipairs(list) do ws:write(y + i, 1, t.sheet .. " : " .. t.title, f.label) end
  ws:write(y + #list + 2, 1, "Part (%) : le nombre ÷ le total de sa colonne ; par niveau," ..
                             " ÷ les pass dont le niveau est connu.", f.note)
  ws:column(1, 1, 60)
  ws:column(2, 3, 12)

  for _, t in ipairs(list) do
    ws = wb:sheet(t.sheet)
    ws:write(1, 1, t.title, f.title)
    ws:write(2, 1, np > 1 and (np .. " périodes, puis le total") or titles[1], f.note)
    ws:write(HEAD, 1, "", f.head)
    for i, c in ipairs(titles) do
      local col = 2 * i
      ws:write(HEAD, col, c, f.head)
      ws:write(HEAD, col + 1, "%", f.head)
    end
    for k, row in ipairs(t.rows) do
      local yy = HEAD + k
      ws:write(yy, 1, row.label, f.label)
      for i, c in ipairs(row.counts) do
        local whole = t.total[i]
        ws:write(yy, 2 * i, c, f.count)
        if whole > 0 and not (t.no_share and t.no_share[row.key]) then
          ws:write(yy, 2 * i + 1, c / whole, f.share)
        else
          ws:write(yy, 2 * i + 1, nil, f.blank)
        end
      end
    end
    local last = HEAD + #t.rows
    ws:write(last + 1, 1, t.id == "levels" and "Total (niveau connu)" or "Total", f.total)
    for i, c in ipairs(t.total) do
      ws:write(last + 1, 2 * i, c, f.bold_count)
      ws:write(last + 1, 2 * i + 1, nil, f.blank)
    end
    ws:column(1, 1, 40)
    ws:column(2, 1 + 2 * #titles, 12)
    ws:freeze(HEAD + 1, 2)
    if #t.rows > 0 then
      -- One series per period; with a single period, the total is it.
      local series, n = {}, np > 1 and np or 1
      for i = 1, n do
        local col = 2 * i
        series[i] = {name = titles[i], categories = {HEAD + 1, 1, last, 1},
                     values = {HEAD + 1, col, last, col}}
      end
      wb:chart{sheet = ws, at = {HEAD, 3 + 2 * #titles}, type = "bar", title = t.title,
               series = series, labels = true, width = 620,
               height = math.max(288, 90 + #t.rows * (n > 1 and 14 * n + 8 or 26))}
    end
  end
  return wb:close()
end

return M
