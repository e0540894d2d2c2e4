-- Fixture: the composer of the sms channel. What it returns depends on the
-- person's first name, so that one test can try every kind of result.
relais.composer("sms", function(msg)
  local name = msg.first_name
  if name == "Bad" then
    return {text = "x", extra = 1}
  elseif name == "Fail" then
    return {status = "failed", error = "the composer refused"}
  elseif name == "Sent" then
    return {status = "sent", provider_id = "nothing"}
  elseif name == "Long" then
    return {text = string.rep("a", 1601)}
  end
  return {text = "Bonjour " .. name .. ", rendez-vous " .. msg.session.when}
end)
