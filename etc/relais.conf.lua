-- Relais configuration.
--
-- This file is Lua, evaluated in a sandbox: no files, no programs, no
-- modules; only string, table, math and utf8, plus `env "NAME"`, which
-- returns the environment variable NAME (or nil), so that secrets stay out of
-- this file. Every key below is optional: a missing key takes the default
-- shown. An unknown key or a value of the wrong type stops Relais at start,
-- with the key named, so a typo never goes unnoticed. Relative paths are
-- relative to the working directory.
--
-- `relais serve -c FILE` reads FILE; without -c, etc/relais.conf.lua is read
-- when it exists. SIGHUP re-reads log_level (other keys take a restart).

-- Address and port the HTTP server listens on: "host:port", "[::1]:8080"
-- for IPv6, port 0 for any free port.
listen      = "127.0.0.1:8080"

-- The SQLite database, created on first start (with its directory).
database    = "var/relais.db"

-- The time zone of every local time: messages, quiet hours, reports,
-- recurring sessions. A name from the system's tzdata.
timezone    = "Europe/Paris"

-- Base of the links sent to beneficiaries ({public_url}/r/{token}) and of
-- the gateway callbacks. http:// or https://; a trailing "/" is dropped.
public_url  = "http://127.0.0.1:8080"

-- Where plugins are found, and which ones are loaded, in this order.
plugins_dir = "plugins"
plugins     = { "sms", "email", "pix", "surveys", "reports" }

-- Nothing is sent inside these hours (local time, "HH:MM"); the window may
-- cross midnight. false: messages go at any hour.
quiet_hours = { from = "20:00", to = "08:00" }
-- quiet_hours = false

-- A confirmation at enrollment, and a reminder at each offset before the
-- session starts. Durations: a whole number and a unit, s, m, h or d
-- ("90s", "30m", "48h", "2d"). before = {} sends no reminder.
reminders   = { confirmation = true, before = { "48h", "2h" } }

-- The satisfaction survey link goes this long after a session ends.
survey      = { after = "30m" }

-- SMS gateway. "console" (the default) logs that a message would go and
-- sends nothing. Other keys belong to the provider (strings, numbers or
-- booleans).
sms   = { provider = "console" }
-- sms = { provider = "twilio", url = "https://api.twilio.com",
--         account_sid = env "TWILIO_ACCOUNT_SID",
--         auth_token = env "TWILIO_AUTH_TOKEN", from = "RELAIS" }
-- sms = { provider = "brevo", url = "https://api.brevo.com",
--         api_key = env "BREVO_API_KEY", sender = "RELAIS" }

-- Email. "console" (the default) logs and sends nothing; "smtp" sends.
email = { provider = "console" }
-- email = { provider = "smtp", url = "smtp://mail.example.org:587",
--           username = env "SMTP_USER", password = env "SMTP_PASSWORD",
--           from = "Relais <relais@example.org>" }

-- Beyond the contract's example:

-- Largest request body accepted, in bytes (1024 to 67108864); larger
-- bodies get 413.
body_limit  = 1048576

-- The least important log lines written to stderr: "debug", "info",
-- "warn" or "error".
log_level   = "info"
