-- The e-mail composer: writes each notification as a multipart e-mail in
-- plain French (compose.lua, templates/) with the session's iCalendar
-- invitation (REQUEST, or CANCEL when it was cancelled), as its parts and
-- as the whole RFC 5322 message (mime.lua); the core hands them to the
-- gateway that `email = {provider = …}` selects (plugins/email-console,
-- email-smtp, or a third party's: plugins/API.md, "Gateways").
--
-- The From header is the sender the selected gateway declared (msg.from),
-- since it is that gateway's account that sends. The Message-ID is made
-- from the notification's idempotency key, so an e-mail resent after a
-- crash carries the same Message-ID as the first one. Nothing personal
-- (address, name, text) goes into a log line.

local compose = require "compose"
local mime = require "mime"

local host = mime.url_host(relais.settings.public_url)

local function address_ok(a)
  return #a <= 254 and a:match("^[^%s<>@\"(),;:]+@[^%s<>@\"(),;:]+$") ~= nil
end

relais.composer("email", function(msg)
  if not address_ok(msg.to) then
    return {status = "failed", error = "no valid email address"}
  end
  -- An internationalised address (RFC 6531) needs SMTPUTF8 end to end,
  -- which we cannot know of the relay: say so rather than send a header
  -- that servers may mangle.
  if msg.to:find("[\128-\255]") then
    return {status = "failed", error = "non-ASCII address (SMTPUTF8) not supported"}
  end
  local from = msg.from or {}
  local address = from.address or ("relais@" .. host)
  local body = compose.render(msg)
  local message_id = "<" .. msg.idem_key .. "@" .. host .. ">"
  return {
    subject = body.subject,
    text = body.text,
    html = body.html,
    ics = body.ics,
    ics_method = body.ics and body.ics_method or nil,
    message_id = message_id,
    message = mime.build{
      date = relais.now(),
      from = mime.phrase(from.name or "Relais") .. " <" .. address .. ">",
      to = msg.to,
      subject = body.subject,
      message_id = message_id,
      text = body.text,
      html = body.html,
      ics = body.ics,
      ics_method = body.ics_method,
    },
  }
end)
