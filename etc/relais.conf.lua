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
-- `relais serve -c FILE` reads FILE; without -c, the installed file
-- (sysconfdir/relais/relais.conf.lua, e.g. /etc/relais/relais.conf.lua) is
-- read when it exists, else etc/relais.conf.lua of the working directory.
-- SIGHUP (systemctl reload relais) re-reads log_level, quiet_hours,
-- reminders, survey, retry, plugins, plugins_dir, sms, email, surveys,
-- the plugins' own tables, body_limit, limits, trusted_proxies, territory,
-- themes, reports, links and metrics, reloads the plugins, and logs one
-- line naming what changed; listen, database, timezone, public_url and
-- link_secret take a restart (the line names them too when they changed).

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
-- (plugins/API.md tells how to write one): the SMS and email composers,
-- PIX imports, satisfaction surveys, the funders' activity report, the
-- web console for coordinators and trainers (at {public_url}/console), and
-- the pass numérique (APTIC) circuit (its settings: `pass` below). The
-- gateways that `sms` and `email` below name are loaded too, unlisted. A
-- plugin's settings are a table named after it ('-' read as '_'):
--   plugins = { …, "acme" }
--   acme    = { url = "https://…", token = env "ACME_TOKEN" }
-- checked by the plugin when it loads: a mistake stops Relais at start,
-- with the key named.
plugins_dir = "plugins"
plugins     = { "sms", "email", "pix", "surveys", "reports", "console", "pass" }

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

-- SMS gateway: `provider` names a gateway plugin (plugins/sms-NAME, or a
-- listed plugin that provides it); a name no plugin provides stops Relais at
-- start. "console" (the default) logs that a message would go and sends
-- nothing. The other keys are the gateway's settings (or put them in the
-- gateway's own table, sms_twilio = {…}, not both); an unknown one stops
-- Relais at start, with the key named.
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
-- OVHcloud (signed SMS API): application_key, application_secret,
-- consumer_key (an API token with POST /sms/*/jobs) and service_name
-- ("sms-ab12345-1") required; sender (else a short code people may answer),
-- url (default https://eu.api.ovh.com), timeout; dlr_token (16 characters
-- or more) takes OVHcloud's delivery reports at
-- public_url .. "/hooks/sms/ovh/" .. dlr_token (set that as the callback).
-- sms     = { provider = "ovh" }
-- sms_ovh = { application_key = env "OVH_AK", application_secret = env "OVH_AS",
--             consumer_key = env "OVH_CK", service_name = "sms-ab12345-1",
--             sender = "RELAIS" }

-- Email gateway, named the same way (plugins/email-NAME). "console" (the
-- default) logs and sends nothing; "smtp" sends.
-- smtp: url ("smtp://host:587", or "smtps://host:465" for implicit TLS)
-- and from ("addr" or "Name <addr>"; written beside provider, also the
-- invitations' organizer) required; user (or username) and password for
-- AUTH; tls = true requires STARTTLS; name (display name, default
-- "Relais"); timeout in seconds.
email = { provider = "console" }
-- email = { provider = "smtp", url = "smtp://mail.example.org:587", tls = true,
--           user = env "SMTP_USER", password = env "SMTP_PASSWORD",
--           from = "Relais <relais@example.org>" }

-- Beyond the contract's example:

-- Largest request body accepted, in bytes (1024 to 67108864); larger
-- bodies get 413.
body_limit  = 1048576

-- What one client may take of the server. A reload applies them to what
-- comes next (every client keeps its rate-limit bucket, unless `clients`
-- changed). Refusals are counted in /metrics as
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

-- Behind a reverse proxy (nginx, Caddy: docs/operations.md), every
-- connection comes from the proxy, and the client's address is in the
-- X-Forwarded-For header it adds. List the proxies' addresses here (CIDR
-- ranges, IPv4 or IPv6; a bare address is that one host): their header is
-- then believed, and the rate limits above count per real client (the
-- right-most address of the header that is not itself a trusted proxy).
-- From any other peer the header is ignored. None by default.
-- trusted_proxies = { "127.0.0.1/32", "::1/128" }

-- The programme's records (docs/api.md, "Organisations", "Accompaniments").

-- The territory's priority neighbourhoods: a beneficiary whose neighborhood
-- is in one of these lists, and whose residence is not given, gets the
-- residence "qpv" (quartier prioritaire de la politique de la ville) or
-- "qva" (quartier de veille active). Names are matched whatever the case,
-- accents, hyphens and spaces ("les epinettes" is "Les Épinettes").
-- `relais migrate` sets the residence of people who have none from these
-- lists: run it again after changing them. Default: empty lists. These are
-- the QPV of the agglomeration of Chambéry (programme-figures.md §4).
territory = {
  qpv = {
    -- Chambéry
    "Les Hauts-de-Chambéry", "Bellevue", "Le Biollay", "Chantemerle", "Le Piochet",
    "La Cassine", "Le Mas Barral",
    -- Barby; La Ravoire shares part of Les Épinettes
    "Le Clos Gaillard", "Les Épinettes",
    -- Cognin
    "La Forgerie", "La Poterie",
    -- La Ravoire
    "Le Val Fleuri", "Féjaz",
    -- Jacob-Bellecombette, Saint-Alban-Leysse, La Motte-Servolex
    "Le Corbelet", "Les Tournelles", "Les Chantres",
    -- Saint-Baldoph, Barberaz
    "L'Espinier", "Le Pré Rond", "La Galerie de Chartreuse",
  },
  qva = {},
}

-- The themes an accompaniment may have (at least one of them each), in the
-- order the console shows them. Changing the list later keeps the themes
-- already recorded. The default is the programme's typology:
themes = { "smartphone", "ordinateur", "e-mail", "internet", "bons usages",
           "identité numérique", "démarches en ligne", "santé", "impôts",
           "droits et allocations", "emploi", "énergie", "autre" }

-- The report's age brackets: the first age of each bracket after the first,
-- increasing. { 26, 36, 46, 56 } (the default) makes "<26", "26-35",
-- "36-45", "46-55" and "56+", the labels walk-ins and anonymous
-- accompaniments are counted by. Handed to the reports plugin as its
-- relais.config.
reports = { age_brackets = { 26, 36, 46, 56 } }

-- Staff sign-in to the console (e-mail and password; see docs/api.md). A
-- sign-in lasts until it has been unused for `idle`, and at most `max`
-- after it was made (then sign in again); a set-password link sent by
-- e-mail works for `invite`. Durations: s, m, h, d.
login = {
  idle   = "12h",
  max    = "7d",
  invite = "3d",
}

-- Beneficiaries' links (/r/… and /s/…) stop working this long after their
-- session ended ("1h" to "3650d"); the page then says the link expired
-- (410). A reload (SIGHUP) applies a change.
links = {
  expire_after = "90d",
}

-- /metrics is public by default. With a token (16 characters or more,
-- from the environment), it wants "Authorization: Bearer TOKEN" and
-- answers 401 otherwise. A reload (SIGHUP) applies a change.
-- metrics = { token = env "RELAIS_METRICS_TOKEN" }

-- The pass numérique (APTIC) plugin: how many days after a book's validity
-- date (valid_until) the platform still takes its passes. APTIC's own rule
-- is valid until 31/12, tolerated until 31/01 (31 days, the default); a
-- pass spent later is shown as an anomaly, and the passes left unspent
-- once it is over make the credit note of the reconciliation.
pass = { tolerance_days = 31 }
