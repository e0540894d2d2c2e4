-- Brevo: the transactional SMS API (POST /v3/transactionalSMS/send).
-- Protocol facts: shared/reference/formats.md §3.2. Reminders and
-- confirmations are transactional, which Brevo delivers at any hour and
-- without a STOP mention.

local gateway = require "gateway"

local M = {}

function M.send(cfg, msg, sms)
  local body = {
    sender = cfg.sender,
    recipient = (msg.to:gsub("^%+", "")),
    content = sms.text,
    type = "transactional",
    tag = msg.kind,
  }
  if sms.ucs2 then
    body.unicodeEnabled = true
  end
  local res, err, timed_out = relais.http.request{
    method = "POST",
    url = cfg.url .. "/v3/transactionalSMS/send",
    headers = {
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
      ["api-key"] = cfg.api_key,
      ["Idempotency-Key"] = msg.idem_key,
    },
    body = relais.json.encode(body),
    timeout = cfg.timeout_ms,
  }
  if not res then
    return gateway.no_answer("brevo", err, timed_out)
  end
  local status = res.status
  local answer = gateway.json(res.body)
  if status == 200 or status == 201 then
    local id = answer and gateway.id_text(answer.messageId)
    if not id then
      return {status = "retry", error = "brevo: malformed answer (HTTP " .. status .. ")"}
    end
    return {status = "sent", provider_id = id, segments = sms.segments}
  end
  if status == 429 or status >= 500 then
    return {status = "retry", error = "brevo: HTTP " .. status}
  end
  if status == 401 then
    relais.log.error("brevo refused the API key (HTTP 401); check sms.api_key")
    return {status = "retry", error = "brevo: authentication failed"}
  end
  local code = answer and type(answer.code) == "string" and gateway.scrub(answer.code, msg.to)
  local detail = answer and gateway.scrub(answer.message, msg.to) or ""
  if code and code ~= "" then
    return {status = "failed", error = string.format("brevo %d %s: %s", status, code, detail)}
  end
  return {status = "failed", error = "brevo: HTTP " .. status}
end

return M
