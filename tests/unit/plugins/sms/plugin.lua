-- Fixture: the sender of the sms channel, through an HTTP gateway.
local cfg = relais.config

relais.channel("sms", function(msg)
  local res, err = relais.http.request{
    method = "POST", url = cfg.url .. "/send", timeout = 3000,
    headers = {["Idempotency-Key"] = msg.idem_key, ["Content-Type"] = "application/json"},
    body = relais.json.encode{to = msg.to, kind = msg.kind, first_name = msg.first_name,
                              when = msg.session.when, venue = msg.session.venue.name,
                              id = msg.id, channel = msg.channel}}
  if not res then return {status = "retry", error = "no answer"} end
  if res.status == 500 then error("the gateway refused " .. msg.to) end
  if res.status == 400 then return {status = "failed", error = "invalid number"} end
  if res.status == 418 then return {status = "sent?"} end
  return {status = "sent", provider_id = relais.json.decode(res.body).id, segments = 2}
end)
