-- Fixture: HTTP routes, answered at once or after waiting for the network.
relais.route("GET", "/t/hello/{name}", function(req)
  return {status = 200, json = {name = req.params.name, q = req.query.q, m = req.query.m,
          h = req.headers["x-test"], url = req.url, method = req.method, path = req.path}}
end)

relais.route("POST", "/t/form", function(req)
  return {status = 200, headers = {["X-Plugin"] = "web"},
          json = {a = req.form.a, b = req.form.b, body = req.body}}
end)

relais.route("GET", "/t/wait", function(req)
  local res, err = relais.http.request{url = req.query.url, timeout = 5000}
  if not res then return relais.problem(502, "gateway unreachable") end
  return {status = 200, headers = {["Content-Type"] = "text/x-test"}, body = "got " .. res.body}
end)

relais.route("POST", "/t/write", function(req)
  relais.db.exec("INSERT INTO web_log (what) VALUES (?)", req.query.what)
  return {status = tonumber(req.query.status)}
end)

relais.route("POST", "/t/write-wait", function(req)
  relais.db.exec("INSERT INTO web_log (what) VALUES ('before')")
  relais.http.request{url = req.query.url}
  local ok, err = pcall(relais.db.exec, "INSERT INTO web_log (what) VALUES ('after')")
  if ok then return {status = 500} end
  return {status = 409, body = err}
end)

relais.route("GET", "/t/boom", function() error("boom") end)
relais.route("GET", "/t/loop", function() while true do end end)
relais.route("GET", "/t/mem", function()
  local t = {}
  while true do t[#t + 1] = string.rep("m", 1 << 20) .. #t end
end)
relais.route("GET", "/t/bad", function() return {status = 9000} end)
relais.route("GET", "/t/nothing", function() end)
relais.route("GET", "/t/problem", function() return relais.problem(409, "already done") end)
relais.route("DELETE", "/t/empty", function() return {status = 204} end)
relais.route("GET", "/api/v1/t/secret", function(req)
  return {status = 200, json = {role = req.role}}
end, {"admin"})

-- A gateway's callbacks: consent from an inbound SMS, a delivery report.
relais.route("POST", "/t/inbound", function(req)
  local n, err = relais.people.sms_consent(req.form.From, req.form.Body == "START")
  local reported = relais.outbox.report("sms", req.form.Sid, "delivered")
  relais.log.info("inbound: %d matched", n or -1)
  return {status = 200, json = {n = n, reported = reported}}
end)
