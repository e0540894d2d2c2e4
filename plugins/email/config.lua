-- The email = {…} table of the config file, checked once at load: a missing
-- required key, an unknown key or a value of the wrong type stops the plugin
-- at load with the key named (the host logs it).

local M = {}

-- key → {type, required}. `username` is accepted as another name for
-- `user` (etc/relais.conf.lua used it first).
local SCHEMA = {
  console = {},
  smtp = {
    url = {"string", true}, from = {"string", true}, user = {"string"},
    username = {"string"}, password = {"string"}, tls = {"boolean"},
    name = {"string"}, timeout = {"number"},
  },
}

local function bad(fmt, ...)
  error(string.format(fmt, ...), 0)
end

local function address_ok(a)
  return #a <= 254 and a:match("^[^%s<>@\"(),;:]+@[^%s<>@\"(),;:]+$") ~= nil
end

-- "Name <addr>" or "addr" → addr, name (nil when absent).
local function split_from(s)
  local name, addr = s:match("^%s*(.-)%s*<([^<>]+)>%s*$")
  if addr then
    name = name:gsub('^"(.*)"$', "%1")
    return addr, name ~= "" and name or nil
  end
  return s:match("^%s*(.-)%s*$"), nil
end

function M.check(raw)
  local provider = raw.provider or "console"
  local schema = SCHEMA[provider]
  if not schema then
    bad("'email.provider' must be one of \"console\", \"smtp\"")
  end
  local cfg = {provider = provider}
  for k, v in pairs(raw) do
    if k ~= "provider" then
      local rule = schema[k]
      if not rule then
        bad("unknown key 'email.%s' for provider \"%s\"", tostring(k), provider)
      end
      if type(v) ~= rule[1] then
        bad("'email.%s' must be a %s", k, rule[1])
      end
      if rule[1] == "string" and v == "" and k ~= "password" then
        bad("'email.%s' must not be empty", k)
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
      bad("'email.%s' is required for provider \"%s\"", k, provider)
    end
  end
  if provider ~= "smtp" then
    return cfg
  end
  if not cfg.url:match("^smtps?://[^/%s]+") then
    bad("'email.url' must be an smtp:// or smtps:// URL")
  end
  if cfg.user and cfg.username then
    bad("'email.user' and 'email.username' are the same key: set only one")
  end
  cfg.user = cfg.user or cfg.username
  cfg.username = nil
  if cfg.password and not cfg.user then
    bad("'email.password' needs 'email.user'")
  end
  local addr, name = split_from(cfg.from)
  if not address_ok(addr) then
    bad("'email.from' must be an address (\"relais@example.org\" or "
        .. "\"Relais <relais@example.org>\")")
  end
  cfg.from_addr = addr
  cfg.display_name = cfg.name or name or "Relais"
  if cfg.display_name:match("[%c]") then
    bad("'email.name' must be on one line")
  end
  -- relais.smtp.send takes 1 ms to 120 s.
  if cfg.timeout and not (cfg.timeout > 0 and cfg.timeout <= 120) then
    bad("'email.timeout' must be a number of seconds, at most 120")
  end
  cfg.timeout_ms = math.max(1, math.floor((cfg.timeout or 30) * 1000))
  cfg.tls = cfg.tls == true
  return cfg
end

M.address_ok = address_ok

return M
