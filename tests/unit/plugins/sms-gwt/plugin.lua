-- Fixture: the sms gateway "gwt", loaded because sms.provider names it (it
-- is not listed). It posts the message it gets, as JSON, to the test's
-- gateway, and on a 400 answers with a reason that quotes the number.
local cfg = relais.config_check(relais.config, {url = {type = "url", required = true}})

relais.gateway("sms", "gwt", function(msg)
  local res = relais.http.request{
    method = "POST", url = cfg.url .. "/send", body = relais.json.encode(msg),
    headers = {["Idempotency-Key"] = msg.idempotency_key, ["Content-Type"] = "application/json"}}
  if not res then
    return {status = "retry", error = "no answer"}
  elseif res.status == 400 then
    return {status = "failed", error = "refused " .. msg.to .. " (" .. msg.to:sub(2)
            .. ", or 06 12 34 56 78) at 1200"}
  end
  return {status = "sent", provider_id = relais.json.decode(res.body).id}
end)
