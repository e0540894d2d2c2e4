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
-- when it exists. SIGHUP (systemctl reload relais) re-reads log_level,
-- quiet_hours, reminders, survey, retry, plugins, plugins_dir, sms, email and
-- surveys, and reloads the plugins; the other keys take a restart.

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

-- The key that makes those links unguessable (HMAC-SHA256; at least 32
-- characters). Unset, Relais creates "<database>.secret" (64 random hex
-- digits, mode 0600) on first start and keeps using it: back it up with
-- the database, since a new key breaks every link already sent. Putting
-- that file's text here keeps the links the same.
-- link_secret = env "RELAIS_LINK_SECRET"

-- Where plugins are found, and which ones are loaded, in this order
-- (plugins/README.md tells how to write one): SMS and email gateways, PIX
-- imports, satisfaction surveys, the funders' activity report, and the web
-- console for coordinators and trainers (at {public_url}/console).
plugins_dir = "plugins"
plugins     = { "sms", "email", "pix", "surveys", "reports", "console" }

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

-- The questionnaire of the surveys plugin, per session kind (workshop,
-- permanence, training); a kind not listed asks the default one: four
-- scores from 1 to 4 (content, clarity, exchanges, overall) and three free
-- texts (liked, liked_less, next). Answers are stored under `id`: keep it
-- when rewording a label. type is "score" (1 to 4) or "text".
-- surveys = {
--   training = {
--     { id = "useful",  label = "La formation vous sera-t-elle utile ?", type = "score" },
--     { id = "overall", label = "Dans l'ensemble, êtes-vous satisfait·e ?", type = "score" },
--     { id = "next",    label = "Ce que vous aimeriez apprendre ensuite", type = "text" },
--   },
-- }

-- A gateway that fails for a passing reason (5xx, time-out, refused
-- connection) is tried again after `first`, then twice as long each time
-- up to `max` (with ±20 % jitter), `attempts` times in all; then the
-- notification is failed with the gateway's reason.
retry       = { first = "30s", max = "1h", attempts = 8 }

-- SMS gateway. "console" (the default) logs that a message would go and
-- sends nothing. Other keys belong to the provider; an unknown one stops
-- the sms plugin at load, with the key named.
sms   = { provider = "console" }
-- Twilio (Messages API): account_sid and auth_token required; from (a
-- number or an alphanumeric sender of up to 11 characters) or
-- messaging_service_sid; url defaults to https://api.twilio.com; timeout in
-- seconds (default 10). Delivery reports and replies (STOP/START) come back
-- to public_url .. "/hooks/sms/twilio/status" and "/inbound", signed.
-- sms = { provider = "twilio", account_sid = env "TWILIO_ACCOUNT_SID",
--         auth_token = env "TWILIO_AUTH_TOKEN", from = "RELAIS" }
-- Brevo (transactional SMS): api_key and sender required; url, timeout.
-- sms = { provider = "brevo", api_key = env "BREVO_API_KEY", sender = "RELAIS" }

-- Email. "console" (the default) logs and sends nothing; "smtp" sends.
-- smtp: url ("smtp://host:587", or "smtps://host:465" for implicit TLS)
-- and from ("addr" or "Name <addr>", also the invitations' organizer)
-- required; user (or username) and password for AUTH; tls = true requires
-- STARTTLS; name (display name, default "Relais"); timeout in seconds.
email = { provider = "console" }
-- email = { provider = "smtp", url = "smtp://mail.example.org:587", tls = true,
--           user = env "SMTP_USER", password = env "SMTP_PASSWORD",
--           from = "Relais <relais@example.org>" }

-- Beyond the contract's example:

-- Largest request body accepted, in bytes (1024 to 67108864); larger
-- bodies get 413.
body_limit  = 1048576

-- What one client may take of the server. Read at start (a reload keeps
-- the old values). Refusals are counted in /metrics as
-- relais_http_refused_total{reason=…}.
limits = {
  -- Request line and headers together, in bytes (1024 to 1048576); a
  -- larger head gets 431 and the connection is closed.
  header_size      = 32768,
  -- Connections open at once (1 to 100000), counted from the accept
  -- whatever they send; one more gets 503 with Retry-After and is closed,
  -- unless another address holds more connections than the newcomer's:
  -- then that address's oldest connection with no request under way makes
  -- room (a flood from one address only displaces its own). Keep it under
  -- the process's file limit (ulimit -n, LimitNOFILE in relais.service);
  -- when accept() runs out of descriptors anyway the server pauses
  -- accepting for 200 ms at a time (relais_http_accept_errors_total).
  connections      = 512,
  -- From the first byte of a request to its last ("1s" to "1h"): a client
  -- sending its head or body slower than that gets 408 and is closed
  -- (slowloris). Allow for the largest upload (a Pix export) on a slow link.
  request_timeout  = "60s",
  -- A connection that stays silent this long is closed ("1s" to "1h"):
  -- kept-alive connections between requests, and stalled reads or writes.
  idle_timeout     = "30s",
  -- Requests per client address to the public pages /r/… (appointment,
  -- cancel) and /s/… (surveys), whatever they answer: pages_burst at once,
  -- then pages_per_minute; beyond, 429 with Retry-After.
  pages_per_minute = 60,
  pages_burst      = 60,
  -- Wrong bearer tokens per client address in a minute. Past them, every
  -- request of that address that carries a token gets 429 with
  -- Retry-After, the right token too, until the count comes back down
  -- (one try back every 60/auth_failures seconds).
  auth_failures    = 10,
  -- Client addresses the rate limits remember (16 to 1048576, about 80
  -- bytes each); beyond, the longest-idle one is forgotten.
  clients          = 4096,
}

-- The least important log lines written to stderr: "debug", "info",
-- "warn" or "error".
log_level   = "info"

-- Beneficiaries' links (/r/… and /s/…) stop working this long after their
-- session ended ("1h" to "3650d"); the page then says the link expired
-- (410). Read at start.
links = {
  expire_after = "90d",
}

-- /metrics is public by default. With a token (16 characters or more,
-- from the environment), it wants "Authorization: Bearer TOKEN" and
-- answers 401 otherwise. Read at start.
-- metrics = { token = env "RELAIS_METRICS_TOKEN" }
