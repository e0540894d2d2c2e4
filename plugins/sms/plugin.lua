-- The SMS composer: writes each notification as a short text in plain French
-- (texts.lua, templates/), in the GSM 03.38 alphabet and at most two
-- segments, and returns it; the core hands it to the gateway that
-- `sms = {provider = …}` selects (plugins/sms-console, sms-twilio, sms-brevo,
-- sms-ovh, or a third party's: plugins/API.md, "Gateways").
--
-- The core has already checked the number (E.164) and fills in the rest of
-- what the gateway gets (id, kind, to, segments, idempotency key). Nothing
-- personal (number, name, text) goes into a log line.

local texts = require "texts"

relais.composer("sms", function(msg)
  return {text = texts.compose(msg).text}
end)
