-- The email channel: writes each notification as a multipart email in plain
-- French (compose.lua, templates/) with the session's iCalendar invitation
-- (REQUEST, or CANCEL when it was cancelled), and sends it:
--   console  logs that an email would go (nothing is sent)
--   smtp     through the server's SMTP client (relais.smtp.send)
-- The Message-ID is made from the notification's idempotency key, so an
-- email resent after a crash carries the same Message-ID as the first one.
-- Nothing personal (address, name, text) goes into a log line or a reason.

local config = require "config"
local compose = require "compose"
local mime = require "mime"

local cfg = config.check(relais.config)
local host = mime.url_host(relais.settings.public_url)

-- SMTP replies that say our login is wrong rather than the message: the
-- message waits (retry) for the operator to fix the account.
local AUTH_CODES = {[530] = true, [534] = true, [535] = true, [538] = true}

-- The SMTP reply code of a failure: a fourth result when the host gives
-- one, else the code libcurl names at the end of its message ("RCPT
-- failed: 550"). Refusals at the end of DATA come without either.
local function reply_code(err, code)
  local n = math.tointeger(tonumber(code or ""))
  if n then
    return n
  end
  if type(err) == "string" then
    n = err:match(":%s*(%d%d%d)%s*$") or err:match("code (%d%d%d)")
    return math.tointeger(tonumber(n or ""))
  end
  return nil
end

local function smtp(msg, message_id, message)
  local ok, err, timed_out, code = relais.smtp.send{
    url = cfg.url, user = cfg.user, password = cfg.password, tls = cfg.tls,
    from = cfg.from_addr, to = {msg.to}, message = message,
    timeout = cfg.timeout_ms,
  }
  if ok then
    return {status = "sent", provider_id = message_id, segments = 0}
  end
  if timed_out then
    return {status = "retry", error = "smtp: time-out"}
  end
  local n = reply_code(err, code)
  -- libcurl reports a refused AUTH as "Login denied", without the code.
  if not n and type(err) == "string" and err:find("Login denied", 1, true) then
    n = 535
  end
  if n and AUTH_CODES[n] then
    relais.log.error("smtp: the server refused our login (%d); "
                     .. "check email.user and email.password", n)
    return {status = "retry", error = "smtp " .. n .. ": authentication"}
  end
  if n and n >= 500 and n < 600 then
    return {status = "failed", error = "smtp " .. n}
  end
  if n then
    return {status = "retry", error = "smtp " .. n}
  end
  -- libcurl's message names the server and port at most, never the recipient.
  local reason = tostring(err or "network error"):gsub("[%c]", " ")
  reason = reason:gsub(msg.to:gsub("%p", "%%%0"), "[address]"):sub(1, 200)
  return {status = "retry", error = "smtp: " .. reason}
end

relais.channel("email", function(msg)
  if type(msg.to) ~= "string" or not config.address_ok(msg.to) then
    return {status = "failed", error = "no valid email address"}
  end
  -- An internationalised address (RFC 6531) needs SMTPUTF8 end to end,
  -- which we cannot know of the relay: say so rather than send a header
  -- that servers may mangle.
  if msg.to:find("[\128-\255]") then
    return {status = "failed", error = "non-ASCII address (SMTPUTF8) not supported"}
  end
  local message_id = "<" .. msg.idem_key .. "@" .. host .. ">"
  -- Written even for the console, so that a broken template shows at once.
  local body = compose.render(msg)
  if cfg.provider == "console" then
    relais.log.info("email (console): %s notification %d, not sent to any server",
                    tostring(msg.kind), msg.id)
    return {status = "sent", provider_id = message_id, segments = 0}
  end
  local message = mime.build{
    date = relais.now(),
    from = mime.phrase(cfg.display_name) .. " <" .. cfg.from_addr .. ">",
    to = msg.to,
    subject = body.subject,
    message_id = message_id,
    text = body.text,
    html = body.html,
    ics = body.ics,
    ics_method = body.ics_method,
  }
  return smtp(msg, message_id, message)
end)

relais.log.info("provider %s", cfg.provider)
