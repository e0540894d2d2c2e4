-- Fixture: relais.http.request / relais.smtp.send from a hook; each outcome
-- is written down for the C test.
local function record(tag, res, err, timed_out)
  if res then
    relais.db.exec("INSERT INTO netp_results (tag, status, body) VALUES (?, ?, ?)",
                   tag, res.status, res.body)
  else
    relais.db.exec("INSERT INTO netp_results (tag, err, timed_out) VALUES (?, ?, ?)",
                   tag, err, timed_out and 1 or 0)
  end
end

relais.on("fetch", function(ev)
  record(ev.tag, relais.http.request{url = ev.url, timeout = ev.timeout,
                                     headers = {["X-Test"] = "yes"}})
end)

-- Two waits in one entry, the second inside pcall.
relais.on("twice", function(ev)
  local a = relais.http.request{url = ev.url}
  local ok, b = pcall(relais.http.request, {method = "POST", url = ev.url, body = "second"})
  record(ev.tag, {status = a.status + (ok and b.status or 0), body = a.body .. "+" .. b.body})
end)

relais.on("smtp", function(ev)
  local ok, err, timed_out = relais.smtp.send{url = ev.url, from = "relais@example.org",
    to = {"someone@example.org"}, message = "Subject: t\r\n\r\nhello\r\n", timeout = 2000}
  record(ev.tag, ok and {status = err, body = ""} or nil, err, timed_out)
end)

relais.on("badargs", function(ev)
  local ok, err = pcall(relais.http.request, {url = ev.url, timeout = -1})
  record(ev.tag, nil, ok and "accepted" or "refused", false)
end)
