-- Fixture: a workbook made with relais.xlsx and served as a file
-- (tests/integration/test_xlsx.py reads it back with Python's zipfile).
local XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

relais.route("GET", "/api/v1/test/workbook", function(req)
  local wb = relais.xlsx.workbook()
  local head = wb:format{bold = true, bg_color = "#DDEBF7", border = 1}
  local pct = wb:format{num_format = "0.0%"}
  local ws = wb:sheet("Personnes")
  ws:write(1, 1, "Tranche d'âge", head)
  ws:write(1, 2, "Personnes", head)
  ws:write(1, 3, "Part", head)
  local rows = {{"12-34", 231}, {"35-59", 105}, {"60+", 343}, {"Non renseigné", 21}}
  for i, r in ipairs(rows) do
    ws:write(i + 1, 1, r[1])
    ws:write(i + 1, 2, r[2])
    ws:write(i + 1, 3, r[2] / 700, pct)
  end
  ws:write(6, 1, "=1+1")          -- stays text
  ws:write(7, 1, req.query.text or "")
  ws:column(1, 1, 24)
  ws:freeze(2, 1)
  wb:chart{sheet = ws, at = {1, 5}, type = "bar", title = "Personnes par âge",
           categories = {2, 1, 5, 1}, values = {2, 2, 5, 2}, labels = true, height = 320}
  local other = wb:sheet("Vide")
  other:write(1, 1, 3.25)
  other:write(2, 1, false)
  return {status = 200, body = wb:close(),
          headers = {["Content-Type"] = XLSX,
                     ["Content-Disposition"] = 'attachment; filename="test.xlsx"'}}
end, {"admin"})

-- A route that fails half-way: the workbook left open is collected.
relais.route("GET", "/api/v1/test/broken", function(req)
  local wb = relais.xlsx.workbook()
  wb:sheet("A"):write(0, 1, "row 0 does not exist")
  return {status = 200, body = wb:close()}
end, {"admin"})
