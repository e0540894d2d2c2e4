-- The sms = {…} table of the config file, checked once at load.
--
-- The core only knows that `provider` is "console", "twilio" or "brevo"; the
-- other keys belong to the provider and are checked here with the same rule
-- as the rest of the config: a missing required key, an unknown key or a
-- value of the wrong type stops the plugin at load with the key named, so a
-- typo never turns into messages that silently never leave.

local M = {}

-- key → {type, required}; "url" is a string starting with http(s)://.
local SCHEMA = {
  console = {},
  twilio = {
    url = {"url"}, account_sid = {"string", true}, auth_token = {"string", true},
    from = {"string"}, messaging_service_sid = {"string"}, timeout = {"number"},
  },
  brevo = {
    url = {"url"}, api_key = {"string", true}, sender = {"string", true},
    timeout = {"number"},
  },
}

local DEFAULT_URL = {twilio = "https://api.twilio.com", brevo = "https://api.brevo.com"}

local function bad(fmt, ...)
  error(string.format(fmt, ...), 0)
end

-- A sender an SMS network accepts: an alphanumeric ID of up to 11 letters,
-- digits or spaces (with at least one letter), or a number of up to 15
-- digits, optionally in E.164 with a "+".
local function valid_sender(s)
  if s:match("^%+?%d+$") then
    return #s:gsub("%+", "") <= 15
  end
  return #s <= 11 and s:match("^[%w ]+$") ~= nil and s:match("%a") ~= nil
end

-- Returns a checked copy of RAW with defaults filled in; raises an error
-- naming the key otherwise.
function M.check(raw)
  local provider = raw.provider or "console"
  local schema = SCHEMA[provider]
  if not schema then
    bad("'sms.provider' must be one of \"console\", \"twilio\", \"brevo\"")
  end
  local cfg = {provider = provider}
  for k, v in pairs(raw) do
    if k ~= "provider" then
      local rule = schema[k]
      if not rule then
        bad("unknown key 'sms.%s' for provider \"%s\"", tostring(k), provider)
      end
      local want = rule[1] == "url" and "string" or rule[1]
      if type(v) ~= want then
        bad("'sms.%s' must be a %s", k, want)
      end
      if rule[1] == "url" then
        if not v:match("^https?://[^/%s]+") then
          bad("'sms.%s' must be an http:// or https:// URL", k)
        end
        v = v:gsub("/+$", "")
      elseif rule[1] == "string" and v == "" then
        bad("'sms.%s' must not be empty", k)
      elseif rule[1] == "number" and not (v > 0 and v <= 120) then
        -- relais.http.request takes 1 ms to 120 s.
        bad("'sms.%s' must be a number of seconds, at most 120", k)
      end
      cfg[k] = v
    end
  end
  local keys = {}
  for k in pairs(schema) do
    keys[#keys + 1] = k
  end
  table.sort(keys)   -- the first missing key named is always the same one
  for _, k in ipairs(keys) do
    if schema[k][2] and cfg[k] == nil then
      bad("'sms.%s' is required for provider \"%s\"", k, provider)
    end
  end
  if provider == "twilio" then
    if cfg.from == nil and cfg.messaging_service_sid == nil then
      bad("'sms.from' (or 'sms.messaging_service_sid') is required for provider \"twilio\"")
    end
    if cfg.from ~= nil and cfg.messaging_service_sid ~= nil then
      bad("'sms.from' and 'sms.messaging_service_sid' cannot both be set: Twilio would use 'from'")
    end
    if cfg.from ~= nil and not valid_sender(cfg.from) then
      bad("'sms.from' must be a phone number or up to 11 letters and digits")
    end
  elseif provider == "brevo" and not valid_sender(cfg.sender) then
    bad("'sms.sender' must be up to 11 letters and digits, or up to 15 digits")
  end
  cfg.url = cfg.url or DEFAULT_URL[provider]
  -- Milliseconds for relais.http.request; 10 s unless set.
  cfg.timeout_ms = math.max(1, math.floor((cfg.timeout or 10) * 1000))
  return cfg
end

return M
