-- The Brevo SMS gateway: `sms = {provider = "brevo", api_key = …, sender = …}`
-- (or the same keys in `sms_brevo = {…}`), through the transactional SMS API
-- (POST /v3/transactionalSMS/send). Protocol facts:
-- shared/reference/formats.md §3.2. Reminders and confirmations are
-- transactional, which Brevo delivers at any hour and without a STOP
-- mention. Reasons may quote what Brevo says: the core masks the number.

local cfg = relais.config_check(relais.config, {
  url = {type = "url", default = "https://api.brevo.com"},
  api_key = {type = "string", required = true},
  sender = {type = "string", required = true, check = function(v)
    return relais.sms.sender_ok(v), "must be up to 11 letters and digits, or up to 15 digits"
  end},
  timeout = {type = "number", min = 0.001, max = 120, default = 10},   -- seconds
})

local function json(body)
  local v = type(body) == "string" and body ~= "" and relais.json.decode(body)
  return type(v) == "table" and v or nil
end

-- Brevo's messageId, an integer that JSON may hand over as a float.
local function id_text(v)
  if math.type(v) == "integer" and v >= 0 then
    return tostring(v)
  elseif math.type(v) == "float" and v >= 0 and v == math.floor(v) and v < 2^63 then
    return string.format("%.0f", v)
  end
  return type(v) == "string" and v:match("^%w+$") or nil
end

relais.gateway("sms", "brevo", function(msg)
  local body = {
    sender = cfg.sender,
    recipient = (msg.to:gsub("^%+", "")),
    content = msg.text,
    type = "transactional",
    tag = msg.kind,
  }
  if relais.sms.prepare(msg.text).ucs2 then
    body.unicodeEnabled = true
  end
  local res, err, timed_out = relais.http.request{
    method = "POST",
    url = cfg.url .. "/v3/transactionalSMS/send",
    headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["api-key"] = cfg.api_key,
      ["Idempotency-Key"] = msg.idempotency_key,
    },
    body = relais.json.encode(body),
    timeout = math.floor(cfg.timeout * 1000),
  }
  if not res then
    return {status = "retry",
            error = timed_out and "brevo: time-out" or "brevo: " .. tostring(err)}
  end
  local status = res.status
  local answer = json(res.body)
  if status == 200 or status == 201 then
    local id = answer and id_text(answer.messageId)
    if not id then
      return {status = "retry", error = "brevo: malformed answer (HTTP " .. status .. ")"}
    end
    return {status = "sent", provider_id = id, segments = msg.segments}
  end
  if status == 429 or status >= 500 then
    return {status = "retry", error = "brevo: HTTP " .. status}
  end
  if status == 401 then
    relais.log.error("brevo refused the API key (HTTP 401); check the api_key setting")
    return {status = "retry", error = "brevo: authentication failed"}
  end
  local code = answer and type(answer.code) == "string" and answer.code ~= "" and answer.code
  local detail = answer and type(answer.message) == "string" and answer.message or ""
  if code then
    return {status = "failed", error = string.format("brevo %d %s: %s", status, code, detail)}
  end
  return {status = "failed", error = "brevo: HTTP " .. status}
end)
