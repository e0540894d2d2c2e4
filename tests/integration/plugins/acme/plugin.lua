-- Test fixture: a third-party SMS gateway written from plugins/API.md alone:
-- listed in `plugins`, selected by `sms = {provider = "acme"}`, its settings
-- in its own table `acme = {url = …, token = …}`. It sends the message it
-- gets as JSON, so that the test sees exactly what a gateway is given, and
-- leaves `segments` out of its result (the core's count is kept).
local cfg = relais.config_check(relais.config, {
  url = {type = "url", required = true},
  token = {type = "string", required = true},
  mode = {type = "string", one_of = {"send", "throw"}, default = "send"},
})

relais.gateway("sms", "acme", function(msg)
  if cfg.mode == "throw" then
    error("acme could not send to " .. msg.to)
  end
  local res, err = relais.http.request{
    method = "POST", url = cfg.url .. "/acme/send", body = relais.json.encode(msg),
    headers = {["Authorization"] = "Bearer " .. cfg.token, ["Content-Type"] = "application/json",
               ["Idempotency-Key"] = msg.idempotency_key}}
  if not res then
    return {status = "retry", error = "acme: " .. tostring(err)}
  end
  local answer = relais.json.decode(res.body) or {}
  if res.status >= 500 then
    return {status = "retry", error = "acme: HTTP " .. res.status}
  elseif res.status >= 400 then
    return {status = "failed", error = "acme: " .. tostring(answer.message)}
  end
  return {status = "sent", provider_id = answer.id}
end)
