-- The OVHcloud SMS gateway, written as any third party would, from
-- plugins/API.md alone: `sms = {provider = "ovh"}` with its settings in
-- `sms_ovh = {…}` (or beside `provider`). The signed API of
-- shared/reference/formats.md §3.3. With `dlr_token` set, OVHcloud's
-- delivery reports are taken at public_url .. "/hooks/sms/ovh/" .. dlr_token.
local cfg = relais.config_check(relais.config, {
  url = {type = "url", default = "https://eu.api.ovh.com"},
  application_key = {type = "string", required = true},
  application_secret = {type = "string", required = true},
  consumer_key = {type = "string", required = true},
  service_name = {type = "string", required = true},
  sender = {type = "string", check = function(v)   -- else a short code people may answer
    return v == nil or relais.sms.sender_ok(v), "must be up to 11 letters and digits, or a number"
  end},
  timeout = {type = "number", min = 0.001, max = 120, default = 10},
  dlr_token = {type = "string", min = 16},    -- the secret in the report address
})
local ms = math.floor(cfg.timeout * 1000)
local skew, checked = 0, -math.huge           -- OVHcloud's clock minus ours

-- An API call signed as OVHcloud wants: "$1$" .. SHA-1 of the secrets, the
-- method, the full URL, the body and the timestamp.
local function call(method, path, body, key)
  local url, ts = cfg.url .. "/1.0" .. path, tostring(relais.now() + skew)
  local sig = table.concat({cfg.application_secret, cfg.consumer_key, method, url, body, ts}, "+")
  return relais.http.request{method = method, url = url, body = body, timeout = ms, headers = {
    ["Idempotency-Key"] = key,
    ["Content-Type"] = "application/json", ["X-Ovh-Application"] = cfg.application_key,
    ["X-Ovh-Consumer"] = cfg.consumer_key, ["X-Ovh-Timestamp"] = ts,
    ["X-Ovh-Signature"] = "$1$" .. relais.crypto.hex(relais.crypto.sha1(sig))}}
end

relais.gateway("sms", "ovh", function(msg)
  if relais.now() - checked > 3600 then       -- our clock may drift from theirs
    local res = relais.http.request{url = cfg.url .. "/1.0/auth/time", timeout = ms}
    local t = res and res.status == 200 and math.tointeger(tonumber(res.body))
    if not t then return {status = "retry", error = "ovh: no time from /auth/time"} end
    skew, checked = t - relais.now(), relais.now()
  end
  local res, err, timed_out = call("POST", "/sms/" .. relais.url.encode(cfg.service_name)
    .. "/jobs", relais.json.encode{message = msg.text, receivers = {msg.to}, tag = msg.kind,
      sender = cfg.sender, senderForResponse = cfg.sender == nil, noStopClause = true,
      priority = "high", charset = "UTF-8",
      coding = relais.sms.prepare(msg.text).ucs2 and "8bit" or "7bit"}, msg.idempotency_key)
  if not res then
    return {status = "retry", error = timed_out and "ovh: time-out" or "ovh: " .. tostring(err)}
  end
  local answer = relais.json.decode(res.body)
  answer = type(answer) == "table" and answer or {}
  if res.status == 429 or res.status >= 500 then
    return {status = "retry", error = "ovh: HTTP " .. res.status}
  elseif res.status == 200 then
    local id = type(answer.ids) == "table" and math.tointeger(answer.ids[1])
    if type(answer.invalidReceivers) == "table" and #answer.invalidReceivers > 0 then
      return {status = "failed", error = "ovh: invalid receiver"}
    elseif not id then
      return {status = "retry", error = "ovh: malformed answer"}
    end
    return {status = "sent", provider_id = id, segments = msg.segments}
  elseif res.status == 401 or res.status == 403 or answer.errorCode == "INVALID_SIGNATURE" then
    relais.log.error("ovh refused our signature or keys (HTTP %d); check them", res.status)
    return {status = "retry", error = "ovh: authentication failed"}
  end
  local why = type(answer.message) == "string" and ": " .. answer.message or ""
  return {status = "failed", error = "ovh: HTTP " .. res.status .. why}
end)

if cfg.dlr_token then                         -- ptt: 4 delivered, 5 failed
  local function report(req)
    if not relais.crypto.equal(req.params.token, cfg.dlr_token) then
      return relais.problem(403, "unknown report address")
    end
    local p = req.form or req.query
    local state = ({["4"] = "delivered", ["5"] = "failed"})[p.ptt]
    if state and type(p.id) == "string" and p.id:match("^%d+$") then
      local err = state == "failed" and "ovh: not delivered" or nil
      if relais.outbox.report("sms", p.id, state, err) == nil then
        error("recording a delivery report failed", 0)
      end
    end
    return {status = 200, body = "OK"}
  end
  relais.route("GET", "/hooks/sms/ovh/{token}", report)
  relais.route("POST", "/hooks/sms/ovh/{token}", report)
end
