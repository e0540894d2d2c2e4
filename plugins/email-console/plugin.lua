-- The console e-mail gateway, the default (`email = {provider = "console"}`):
-- logs that an e-mail would go, without the address or the text, and sends
-- nothing. The message is still written in full by the composer, so that a
-- broken template shows at once. It takes no settings.

relais.config_check(relais.config, {})

relais.gateway("email", "console", function(msg)
  relais.log.info("email (console): %s notification %d, not sent to any server", msg.kind,
                  msg.id)
  return {status = "sent", provider_id = msg.message_id, segments = 0}
end)
