-- Fixture: a plugin providing the sms gateway "other" under another name
-- than its own, so settings written beside sms.provider cannot reach it.
relais.gateway("sms", "other", function()
  return {status = "sent", provider_id = "other"}
end)
