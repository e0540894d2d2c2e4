-- Fixture: relais.xlsx (tests/unit/test_xlsx.c). Each hook records what it
-- got in xlsxp_out: the bytes of a file, or an error's message, by tag.
local function record(tag, ok, data)
  relais.db.exec("INSERT INTO xlsxp_out (tag, ok, data) VALUES (?, ?, ?)", tag, ok, data)
end

-- A workbook as the reports write them: two sheets, formats, a bar chart
-- beside its table and a column chart of two series on another sheet.
relais.on("build", function()
  local wb = relais.xlsx.workbook()
  local ws = wb:sheet("Personnes")
  local head = wb:format{bold = true, bg_color = "#DDEBF7", border = 1, wrap = true,
                         align = "center", valign = "vcenter"}
  local pct = wb:format{num_format = "0.0%", italic = true, font_color = "#1F4E79"}
  ws:write(1, 1, "Genre", head)
  ws:write(1, 2, "2022", head)
  ws:write(1, 3, "%", head)
  local rows = {{"Femmes", 104}, {"Hommes", 40}, {"Autre (X)", 0}}
  for i, r in ipairs(rows) do
    ws:write(i + 1, 1, r[1])
    ws:write(i + 1, 2, r[2])
    ws:write(i + 1, 3, r[2] / 144, pct)
  end
  ws:write(5, 1, "=SUM(B2:B4)")   -- text, never run as a formula
  ws:write(6, 1, true)
  ws:write(7, 1, nil, head)       -- a blank cell carrying a format
  ws:write(8, 1, "Écrit à Chambéry — « Le Biollay »")
  ws:column(1, 1, 30)
  ws:column(2, 3, 10, pct)
  ws:freeze(2, 2)
  local other = wb:sheet("Quartiers d'été")
  wb:chart{sheet = ws, at = {1, 5}, type = "bar", title = "Personnes par genre",
           categories = {2, 1, 4, 1}, values = {2, 2, 4, 2}, labels = true,
           width = 520, height = 400}
  wb:chart{sheet = other, at = {1, 1}, type = "column", title = "Deux séries",
           series = {{name = "2022", categories = {2, 1, 4, 1, sheet = ws},
                      values = {2, 2, 4, 2, sheet = ws}},
                     {name = "Part", values = {2, 3, 4, 3, sheet = ws}}}}
  record("names", 1, ws:name() .. "|" .. other:name())
  record("build", 1, wb:close())
end)

-- Each call below must fail with a Lua error (a message), and the state
-- must go on.
local bad = {
  closed = function()
    local wb = relais.xlsx.workbook()
    local ws = wb:sheet("A")
    wb:close()
    ws:write(1, 1, "late")
  end,
  closed_twice = function()
    local wb = relais.xlsx.workbook()
    wb:close()
    wb:close()
  end,
  dup_sheet = function()
    local wb = relais.xlsx.workbook()
    wb:sheet("Personnes")
    wb:sheet("PERSONNES")
  end,
  bad_sheet_char = function() relais.xlsx.workbook():sheet("a/b") end,
  long_sheet = function() relais.xlsx.workbook():sheet(string.rep("é", 32)) end,
  empty_sheet = function() relais.xlsx.workbook():sheet("") end,
  quote_sheet = function() relais.xlsx.workbook():sheet("'x") end,
  row_zero = function() relais.xlsx.workbook():sheet("A"):write(0, 1, 1) end,
  col_big = function() relais.xlsx.workbook():sheet("A"):write(1, 16385, 1) end,
  row_float = function() relais.xlsx.workbook():sheet("A"):write(1.5, 1, 1) end,
  nan = function() relais.xlsx.workbook():sheet("A"):write(1, 1, 0 / 0) end,
  inf = function() relais.xlsx.workbook():sheet("A"):write(1, 1, math.huge) end,
  not_utf8 = function() relais.xlsx.workbook():sheet("A"):write(1, 1, "\xff\xfe") end,
  nul = function() relais.xlsx.workbook():sheet("A"):write(1, 1, "a\0b") end,
  long_text = function() relais.xlsx.workbook():sheet("A"):write(1, 1, string.rep("x", 32768)) end,
  table_value = function() relais.xlsx.workbook():sheet("A"):write(1, 1, {}) end,
  other_format = function()
    local f = relais.xlsx.workbook():format{bold = true}
    relais.xlsx.workbook():sheet("A"):write(1, 1, "x", f)
  end,
  unknown_format = function() relais.xlsx.workbook():format{blink = true} end,
  bad_color = function() relais.xlsx.workbook():format{bg_color = "red"} end,
  bad_align = function() relais.xlsx.workbook():format{align = "middle"} end,
  chart_no_sheet = function()
    relais.xlsx.workbook():chart{at = {1, 1}, values = {1, 1, 2, 1}}
  end,
  chart_other_sheet = function()
    local ws = relais.xlsx.workbook():sheet("A")
    relais.xlsx.workbook():chart{sheet = ws, at = {1, 1}, values = {1, 1, 2, 1}}
  end,
  chart_backwards = function()
    local wb = relais.xlsx.workbook()
    wb:chart{sheet = wb:sheet("A"), at = {1, 1}, values = {3, 1, 2, 1}}
  end,
  chart_formula_title = function()
    local wb = relais.xlsx.workbook()
    wb:chart{sheet = wb:sheet("A"), at = {1, 1}, values = {1, 1, 2, 1}, title = "=A1"}
  end,
  chart_type = function()
    local wb = relais.xlsx.workbook()
    wb:chart{sheet = wb:sheet("A"), at = {1, 1}, values = {1, 1, 2, 1}, type = "radar3d"}
  end,
  chart_key = function()
    local wb = relais.xlsx.workbook()
    wb:chart{sheet = wb:sheet("A"), at = {1, 1}, values = {1, 1, 2, 1}, colour = "red"}
  end,
  chart_series = function()
    local wb = relais.xlsx.workbook()
    local s = {}
    for i = 1, 17 do s[i] = {values = {1, 1, 2, 1}} end
    wb:chart{sheet = wb:sheet("A"), at = {1, 1}, series = s}
  end,
  sheets = function()
    local wb = relais.xlsx.workbook()
    for i = 1, 65 do wb:sheet("S" .. i) end
  end,
  not_a_book = function() relais.xlsx.workbook().sheet({}, "A") end,
}

relais.on("bad", function()
  for tag, fn in pairs(bad) do
    local ok, err = pcall(fn)
    record(tag, ok and 1 or 0, ok and "" or tostring(err))
    collectgarbage("collect")   -- the workbooks left open are released
  end
end)

-- At most four workbooks open at once; a collected one frees its place.
relais.on("open", function()
  local keep = {}
  for i = 1, 4 do keep[i] = relais.xlsx.workbook() end
  local ok, err = pcall(relais.xlsx.workbook)
  record("fifth", ok and 1 or 0, ok and "" or tostring(err))
  keep[1]:close()
  keep[2] = nil
  collectgarbage("collect")
  local a, b = relais.xlsx.workbook(), relais.xlsx.workbook()
  record("after", 1, tostring(a ~= nil and b ~= nil))
end)

-- The cells' memory counts against the plugin's cap …
-- The workbook stays open from one call to the next: each call writes
-- 8 MiB of text (a byte of text costs an instruction, so one call cannot
-- write more than its budget allows), until the cap stops one.
local mem = {n = 0}
relais.on("memory", function()
  mem.wb = mem.wb or relais.xlsx.workbook()
  mem.ws = mem.ws or mem.wb:sheet("A")
  local text = string.rep("m", 2000)
  local ok, err = pcall(function()
    for _ = 1, 4000 do mem.ws:write(mem.n + 1, 1, text); mem.n = mem.n + 1 end
  end)
  if not ok then
    record("memory", 0, tostring(err) .. " after " .. mem.n)
    mem = {n = 0}
  end
end)

-- … and is given back when a workbook closes: 40 workbooks of 1 MiB each
-- one after the other (5 a call, 8 calls) fit under the 32 MiB cap.
local refunds = 0
relais.on("refund", function()
  local text = string.rep("r", 1000)
  for _ = 1, 5 do
    local wb = relais.xlsx.workbook()
    local ws = wb:sheet("A")
    for r = 1, 1000 do ws:write(r, 1, text) end
    wb:close()
    refunds = refunds + 1
  end
  if refunds == 40 then record("refund", 1, "done") end
end)

-- The cells of one workbook are bounded.
relais.on("cells", function()
  local wb = relais.xlsx.workbook()
  local ws = wb:sheet("A")
  local n = 0
  local ok, err = pcall(function()
    for r = 1, 200000 do ws:write(r, 1, r); n = r end
  end)
  record("cells", ok and 1 or 0, (ok and "" or tostring(err)) .. " after " .. n)
end)

-- Its text is paid for as it is checked (an instruction a byte, as
-- utf8.len): 24 MiB in one call is more than the 20 million instructions of
-- its budget, though under the memory cap.
relais.on("priced", function()
  local wb = relais.xlsx.workbook()
  local ws = wb:sheet("A")
  local text = string.rep("p", 8000)
  local n = 0
  local ok, err = pcall(function()
    for r = 1, 3000 do ws:write(r, 1, text); n = r end
  end)
  record("priced", ok and 1 or 0, (ok and "" or tostring(err)) .. " after " .. n)
end)

relais.on("collect", function() collectgarbage("collect") end)
