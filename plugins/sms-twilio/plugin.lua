-- The Twilio SMS gateway: `sms = {provider = "twilio", account_sid = …,
-- auth_token = …, from = …}` (or the same keys in `sms_twilio = {…}`).
-- Sends through the Messages API and serves the two webhooks Twilio calls
-- back, both signed with X-Twilio-Signature: delivery reports
-- (/hooks/sms/twilio/status) and replies (/hooks/sms/twilio/inbound: STOP
-- and START change the sender's SMS consent; a replayed reply is ignored).
-- Protocol facts: shared/reference/formats.md §3.1.

local twilio = require "twilio"

local cfg = relais.config_check(relais.config, {
  url = {type = "url", default = "https://api.twilio.com"},
  account_sid = {type = "string", required = true},
  auth_token = {type = "string", required = true},
  messaging_service_sid = {type = "string"},
  timeout = {type = "number", min = 0.001, max = 120, default = 10},   -- seconds
  from = {type = "string", check = function(v, c)
    if v == nil and c.messaging_service_sid == nil then
      return false, "is required (or messaging_service_sid)"
    elseif v ~= nil and c.messaging_service_sid ~= nil then
      return false, "and messaging_service_sid cannot both be set: Twilio would use from"
    elseif v ~= nil and not relais.sms.sender_ok(v) then
      return false, "must be a phone number or up to 11 letters and digits"
    end
    return true
  end},
})
cfg.timeout_ms = math.floor(cfg.timeout * 1000)

relais.gateway("sms", "twilio", function(msg)
  return twilio.send(cfg, msg)
end)
twilio.routes(cfg)
