-- Test fixture: a plugin that keeps notes about people and erases them in
-- its "beneficiary.erased" hook, then fails there in the way the test asks
-- (POST /api/v1/eraser/mode {"mode": …}): an error, the instruction budget,
-- memory, a network wait, a bare coroutine.yield; "ok" erases for good.
local mode = "ok"

relais.route("POST", "/api/v1/eraser/mode", function(req)
  mode = relais.json.decode(req.body).mode
  return {json = {mode = mode}}
end, {"admin"})

relais.route("POST", "/api/v1/eraser/notes", function(req)
  local b = relais.json.decode(req.body)
  local _, id = relais.db.exec("INSERT INTO eraser_notes (beneficiary_id, note) VALUES (?, ?)",
                               b.beneficiary_id, b.note)
  return {status = 201, json = {id = id}}
end, {"admin"})

relais.on("beneficiary.erased", function(ev)
  -- Its part first, as a real plugin does: a veto must undo this too.
  relais.db.exec("DELETE FROM eraser_notes WHERE beneficiary_id = ?", ev.id)
  if mode == "error" then
    error("cannot erase, on purpose")
  elseif mode == "budget" then
    while true do end
  elseif mode == "memory" then
    local t = {}
    for i = 1, math.huge do t[i] = string.rep("x", 4096) .. i end
  elseif mode == "wait" then
    relais.http.request{url = "http://127.0.0.1:9/", timeout = 1000}
  elseif mode == "yield" then
    coroutine.yield()
  end
end)
