-- The console SMS gateway, the default (`sms = {provider = "console"}`):
-- logs that a text of N segments would go, without the number or the text,
-- and sends nothing. It takes no settings.

relais.config_check(relais.config, {})

relais.gateway("sms", "console", function(msg)
  relais.log.info("sms (console): %s notification %d, %d segment(s), not sent to any gateway",
                  msg.kind, msg.id, msg.segments)
  return {status = "sent", provider_id = string.format("console-%d", msg.id),
          segments = msg.segments}
end)
