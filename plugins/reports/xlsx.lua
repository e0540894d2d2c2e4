-- The report as an Excel workbook (relais.xlsx, libxlsxwriter): one sheet
-- per table of tables.lua, the periods side by side with the total last,
-- each count followed by its share (a percentage cell), and beside every
-- breakdown a native bar chart of the periods (horizontal bars, one series
-- per period, the categories in the table's order; taller with more rows,
-- so that 19 neighbourhoods stay legible). The first sheet is the summary
-- with the scope of the report.

local M = {}

function M.render(model, meta)
  local wb = relais.xlsx.workbook()
  local f = {
    title = wb:format{bold = true, font_size = 14},
    note = wb:format{italic = true, font_color = "#444444"},
    head = wb:format{bold = true, bg_color = "#DDEBF7", border = 1, wrap = true,
                     valign = "vcenter", align = "center"},
    label = wb:format{border = 1, wrap = true, valign = "vcenter"},
    count = wb:format{border = 1, num_format = "#,##0"},
    share = wb:format{border = 1, num_format = "0.0%", font_color = "#444444"},
    rate = wb:format{border = 1, num_format = "0%"},
    hours = wb:format{border = 1, num_format = "#,##0.00"},
    mean = wb:format{border = 1, num_format = "0.00"},
    blank = wb:format{border = 1},
  }
  local columns = meta.columns
  local series = #meta.ids > 1 and #columns - 1 or #columns
  local scope = #meta.scope > 0 and ("Périmètre : " .. table.concat(meta.scope, ", ")) or
                "Périmètre : tout le programme"
  local HEAD = 4   -- the header's row; the rows follow

  for _, t in ipairs(model) do
    local ws = wb:sheet(t.sheet)
    local per = t.wholes and 2 or 1          -- cells per column: the value, its share
    ws:write(1, 1, t.title, f.title)
    ws:write(2, 1, scope, f.note)
    ws:write(HEAD, 1, t.head, f.head)
    for i, c in ipairs(columns) do
      local col = 2 + (i - 1) * per
      ws:write(HEAD, col, c, f.head)
      if t.wholes then ws:write(HEAD, col + 1, "%", f.head) end
    end
    for r, row in ipairs(t.rows) do
      local y = HEAD + r
      ws:write(y, 1, row.label, f.label)
      local kind = row.kind or t.kind
      for i, v in ipairs(row.values) do
        local col = 2 + (i - 1) * per
        if v == relais.json.null then
          ws:write(y, col, nil, f.blank)
        else
          ws:write(y, col, v, f[kind] or f.count)
        end
        if t.wholes then
          -- The exact fraction: the cell's format shows it as a percentage.
          local whole = t.wholes[i]
          if type(v) == "number" and whole and whole > 0 then
            ws:write(y, col + 1, v / whole, f.share)
          else
            ws:write(y, col + 1, nil, f.blank)
          end
        end
      end
    end
    ws:column(1, 1, 38)
    ws:column(2, 1 + #columns * per, t.wholes and 11 or 14)
    ws:freeze(HEAD + 1, 2)
    if t.chart and #t.rows > 0 then
      local last = HEAD + #t.rows
      local list = {}
      for i = 1, series do
        local col = 2 + (i - 1) * per
        list[i] = {name = columns[i], categories = {HEAD + 1, 1, last, 1},
                   values = {HEAD + 1, col, last, col}}
      end
      wb:chart{sheet = ws, at = {HEAD, 3 + #columns * per}, type = "bar", title = t.title,
               series = list, labels = true, width = 620,
               height = math.max(288, 90 + #t.rows * (series > 1 and 14 * series + 8 or 26))}
    end
  end
  return wb:close()
end

return M
