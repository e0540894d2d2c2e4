-- The SMTP e-mail gateway: `email = {provider = "smtp", url = "smtp://host:587",
-- from = "Relais <relais@example.org>", user = …, password = …, tls = true}`
-- (or the same keys in `email_smtp = {…}`). Hands the composer's RFC 5322
-- message to the server's SMTP client (relais.smtp.send), whose transfer
-- never blocks the loop. The From header the composer writes is the sender
-- declared here.

local ADDRESS = "^[^%s<>@\"(),;:]+@[^%s<>@\"(),;:]+$"

-- "Name <addr>" or "addr" → addr, name (nil when absent).
local function split_from(s)
  local name, addr = s:match("^%s*(.-)%s*<([^<>]+)>%s*$")
  if addr then
    name = name:gsub('^"(.*)"$', "%1")
    return addr, name ~= "" and name or nil
  end
  return s:match("^%s*(.-)%s*$"), nil
end

local cfg = relais.config_check(relais.config, {
  url = {type = "url", required = true, schemes = {"smtp", "smtps"}},
  from = {type = "string", required = true, check = function(v)
    local addr = split_from(v)
    return #addr <= 254 and addr:match(ADDRESS) ~= nil,
           'must be an address ("relais@example.org" or "Relais <relais@example.org>")'
  end},
  name = {type = "string", check = function(v)
    return v == nil or not v:match("%c"), "must be on one line"
  end},
  -- `username` is another name for `user` (etc/relais.conf.lua used it first).
  user = {type = "string", check = function(v, c)
    return v == nil or c.username == nil, "and username are the same key: set only one"
  end},
  username = {type = "string"},
  password = {type = "string", empty = true, check = function(v, c)
    return v == nil or (c.user or c.username) ~= nil, "needs user"
  end},
  tls = {type = "boolean", default = false},
  timeout = {type = "number", min = 0.001, max = 120, default = 30},   -- seconds
})
local user = cfg.user or cfg.username
local from_addr, from_name = split_from(cfg.from)

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

relais.gateway("email", "smtp", function(msg)
  local ok, err, timed_out, code = relais.smtp.send{
    url = cfg.url, user = user, password = cfg.password, tls = cfg.tls,
    from = from_addr, to = {msg.to}, message = msg.message,
    timeout = math.floor(cfg.timeout * 1000),
  }
  if ok then
    return {status = "sent", provider_id = msg.message_id, segments = 0}
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
                     .. "check the user and password settings", n)
    return {status = "retry", error = "smtp " .. n .. ": authentication"}
  end
  if n and n >= 500 and n < 600 then
    return {status = "failed", error = "smtp " .. n}
  end
  if n then
    return {status = "retry", error = "smtp " .. n}
  end
  -- libcurl's message names the server and port at most; the core masks
  -- the recipient should one ever appear.
  return {status = "retry", error = "smtp: " .. tostring(err or "network error")}
end, {from = from_addr, name = cfg.name or from_name or "Relais"})
