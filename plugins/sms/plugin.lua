-- The SMS channel: writes each notification as a short text in plain French
-- (texts.lua, templates/) and hands it to the configured gateway:
--   console  logs that a message of N segments would go (nothing is sent)
--   twilio   the Messages API, with delivery reports and STOP/START replies
--            on /hooks/sms/twilio/status and /hooks/sms/twilio/inbound
--   brevo    the transactional SMS API
-- Every gateway request carries the notification's Idempotency-Key, so a
-- retry after a time-out or a crash is recognised as the same message.
-- Nothing personal (number, name, text) goes into a log line or a reason.

local config = require "config"
local texts = require "texts"
local twilio = require "twilio"
local brevo = require "brevo"

local cfg = config.check(relais.config)

local function console(_, msg, sms)
  relais.log.info("sms (console): %s notification %d, %d segment(s), not sent to any gateway",
                  tostring(msg.kind), msg.id, sms.segments)
  return {status = "sent", provider_id = string.format("console-%d", msg.id),
          segments = sms.segments}
end

local send = ({console = console, twilio = twilio.send, brevo = brevo.send})[cfg.provider]

relais.channel("sms", function(msg)
  if type(msg.to) ~= "string" or not msg.to:match("^%+%d+$") then
    return {status = "failed", error = "no valid phone number"}
  end
  return send(cfg, msg, texts.compose(msg))
end)

twilio.routes(cfg)

relais.log.info("provider %s", cfg.provider)
