-- Twilio: the Messages API to send, and the two webhooks it calls back
-- (delivery reports and replies), both authenticated by X-Twilio-Signature.
-- Protocol facts: shared/reference/formats.md §3.1. Reasons may quote what
-- Twilio says: the core masks the number in them.

local M = {}

local STATUS_PATH = "/hooks/sms/twilio/status"
local INBOUND_PATH = "/hooks/sms/twilio/inbound"

-- Error codes Twilio answers for a message that can never go (invalid or
-- non-mobile number, recipient who replied STOP, unroutable): reported as
-- such. Any other 4xx fails too, but these are the expected ones.
local PERMANENT = {
  [21211] = true, [21408] = true, [21610] = true, [21612] = true,
  [21614] = true, [21635] = true, [21606] = true, [21617] = true,
}

-- The JSON object of an answer body, or nil.
local function json(body)
  local v = type(body) == "string" and body ~= "" and relais.json.decode(body)
  return type(v) == "table" and v or nil
end

function M.send(cfg, msg)
  local form = {
    To = msg.to,
    Body = msg.text,
    StatusCallback = relais.settings.public_url .. STATUS_PATH,
  }
  if cfg.messaging_service_sid then
    form.MessagingServiceSid = cfg.messaging_service_sid
  else
    form.From = cfg.from
  end
  local res, err, timed_out = relais.http.request{
    method = "POST",
    url = cfg.url .. "/2010-04-01/Accounts/" .. relais.url.encode(cfg.account_sid)
      .. "/Messages.json",
    headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Accept"] = "application/json",
      ["Idempotency-Key"] = msg.idempotency_key,
    },
    body = relais.url.form(form),
    user = cfg.account_sid, password = cfg.auth_token,
    timeout = cfg.timeout_ms,
  }
  if not res then
    -- Refused, reset, DNS, time-out: worth another try with the same key.
    return {status = "retry",
            error = timed_out and "twilio: time-out" or "twilio: " .. tostring(err)}
  end
  local status = res.status
  local answer = json(res.body)
  if status == 200 or status == 201 then
    local sid = answer and type(answer.sid) == "string" and answer.sid:match("^%w+$")
    if not sid then
      -- Accepted or not, we cannot tell: try again with the same key rather
      -- than lose the message.
      return {status = "retry", error = "twilio: malformed answer (HTTP " .. status .. ")"}
    end
    local segments = math.tointeger(tonumber(answer.num_segments or ""))
    if not segments or segments < 1 then
      segments = msg.segments
    end
    return {status = "sent", provider_id = sid, segments = segments}
  end
  if status == 429 or status >= 500 then
    return {status = "retry", error = "twilio: HTTP " .. status}
  end
  local code = answer and math.tointeger(tonumber(answer.code or ""))
  local detail = answer and type(answer.message) == "string" and answer.message or ""
  if status == 401 then
    -- Our credentials, not this message: keep it for when they are fixed.
    relais.log.error("twilio refused the account credentials (HTTP 401); "
                     .. "check the account_sid and auth_token settings")
    return {status = "retry", error = "twilio: authentication failed"}
  end
  if code then
    if not PERMANENT[code] then
      relais.log.warn("twilio refused notification %d with code %d", msg.id, code)
    end
    return {status = "failed", error = string.format("twilio %d: %s", code, detail)}
  end
  return {status = "failed", error = "twilio: HTTP " .. status}
end

-- Twilio's request validation: Base64(HMAC-SHA1(auth token, the full URL it
-- called followed by every POST parameter name and value, sorted by name)).
-- The URL is req.url: public_url and the path, which is what Twilio called
-- even behind a TLS proxy that forwards to a local address.
local function signed(cfg, req, form)
  local sig = req.headers and req.headers["x-twilio-signature"]
  if type(sig) ~= "string" or sig == "" then
    return false
  end
  local names = {}
  for k in pairs(form) do
    names[#names + 1] = k
  end
  table.sort(names)
  local parts = {req.url}
  for _, k in ipairs(names) do
    local v = form[k]
    if type(v) == "table" then
      -- A repeated parameter: Twilio sorts its values too.
      local vals = {}
      for _, x in ipairs(v) do
        vals[#vals + 1] = tostring(x)
      end
      table.sort(vals)
      for _, x in ipairs(vals) do
        parts[#parts + 1] = k .. x
      end
    else
      parts[#parts + 1] = k .. tostring(v)
    end
  end
  local want = relais.crypto.base64(relais.crypto.hmac_sha1(cfg.auth_token, table.concat(parts)))
  return relais.crypto.equal(want, sig)
end

local function form_of(req)
  if type(req.form) == "table" then
    return req.form
  end
  return relais.url.parse_form(req.body or "") or {}
end

local function forbidden()
  return relais.problem(403, "missing or invalid X-Twilio-Signature")
end

local function text(v)
  if type(v) == "string" and v ~= "" then
    return v
  end
  return nil
end

-- Replies that change consent: Twilio's own opt-out and opt-in keywords
-- that cannot be mistaken for anything else, plus the French "ARRÊT".
local OPT_OUT = {STOP = true, STOPALL = true, UNSUBSCRIBE = true, ARRET = true}
local OPT_IN = {START = true, UNSTOP = true}

-- The keyword of a reply: trimmed, upper-cased, Ê/ê read as E.
local function keyword(body)
  if not body:find("%S") then return "" end
  local s = body:match("^%s*(.*%S)")   -- one pass, whatever the spaces
  s = s:gsub("\195\138", "E"):gsub("\195\170", "E")
  return s:upper()
end

local function twiml()
  -- No reply: the answer is an empty TwiML document.
  return {
    status = 200,
    headers = {["Content-Type"] = "text/xml; charset=utf-8"},
    body = '<?xml version="1.0" encoding="UTF-8"?><Response/>',
  }
end

-- 1 the first time Twilio's message SID is seen, 0 for a replay (recorded
-- in the request's transaction, with the consent change it causes).
local function first_time(sid)
  local n, err = relais.db.exec(
    "INSERT OR IGNORE INTO sms_twilio_inbound (sid, received_at) VALUES (?, ?)",
    sid, relais.now())
  if not n then
    error("recording an inbound message failed: " .. tostring(err), 0)
  end
  return n
end

-- Registers both webhooks.
function M.routes(cfg)
  relais.route("POST", STATUS_PATH, function(req)
    local form = form_of(req)
    if not signed(cfg, req, form) then
      return forbidden()
    end
    local sid, status = text(form.MessageSid), text(form.MessageStatus)
    if not sid or not status then
      return relais.problem(400, "MessageSid and MessageStatus are required")
    end
    local done, err = true, nil
    if status == "delivered" then
      done, err = relais.outbox.report("sms", sid, "delivered")
    elseif status == "failed" or status == "undelivered" then
      local code = text(form.ErrorCode)
      local reason = "twilio " .. (code and code:match("^%d+$") or status)
      done, err = relais.outbox.report("sms", sid, "failed", reason)
    end
    if done == nil then
      -- A 500 rather than a report silently lost.
      error("recording a delivery report failed: " .. tostring(err), 0)
    end
    -- queued, sent, accepted…: steps on the way, nothing to record.
    return {status = 204}
  end)

  relais.route("POST", INBOUND_PATH, function(req)
    local form = form_of(req)
    if not signed(cfg, req, form) then
      return forbidden()
    end
    local from, body = text(form.From), form.Body
    -- Twilio sends a MessageSid with every reply and signs it: a request
    -- replayed as it was captured carries the same one.
    local sid = text(form.MessageSid)
    if sid and first_time(sid) == 0 then
      relais.log.info("inbound message already handled; replay ignored")
      return twiml()
    end
    if from and from:match("^%+%d+$") and type(body) == "string" then
      local word = keyword(body)
      local consent = nil
      if OPT_OUT[word] then
        consent = false
      elseif OPT_IN[word] then
        consent = true
      end
      if consent ~= nil then
        local n = relais.people.sms_consent(from, consent)
        if not n then
          -- A 500 rather than a STOP silently lost (the error may quote
          -- the number, so it is not repeated).
          error("recording a consent change failed", 0)
        end
        relais.log.info("inbound %s matched %d beneficiaries", consent and "START" or "STOP", n)
      end
    end
    return twiml()
  end)
end

return M
