---@meta relais
-- LuaLS definitions of the `relais` table every plugin sees (plugins/API.md,
-- API version 1), for editors: add this folder to "Lua.workspace.library".
-- It is never run by Relais. tests/unit/test_plugins_gateway.c checks that it
-- declares every function and field of the live table, and nothing else:
-- one declaration per line, `function relais.a.b(` or `relais.a.b = `.

---@alias relais.Channel "sms"|"email"
---@alias relais.Kind "confirmation"|"reminder"|"change"|"cancellation"|"promoted"|"survey"

---@class relais.Venue
---@field name string
---@field address? string
---@field commune? string

---@class relais.Session
---@field id integer
---@field title string
---@field kind "workshop"|"permanence"|"training"
---@field status string
---@field starts_at integer Unix seconds
---@field ends_at integer Unix seconds
---@field when string French local day and time: "mar. 3 mars à 14h00"
---@field online boolean
---@field sequence integer
---@field venue? relais.Venue

---@class relais.Sender
---@field address string
---@field name? string

---@class relais.Notification what a channel function or a composer gets
---@field id integer
---@field kind relais.Kind
---@field channel relais.Channel
---@field to string E.164 number or e-mail address
---@field idem_key string the gateway's Idempotency-Key
---@field first_name? string
---@field session relais.Session
---@field change? {old_when?: string, old_venue?: string}
---@field link? string the /r/ page
---@field survey_link? string the /s/ page (survey only)
---@field ics? string e-mail only: the invitation
---@field ics_method? "REQUEST"|"CANCEL"
---@field from? relais.Sender e-mail composers: the selected gateway's declared sender

---@class relais.Result what a channel function or a gateway returns
---@field status "sent"|"retry"|"failed"
---@field provider_id? string|integer the gateway's id (up to 256 bytes)
---@field segments? integer 0..255
---@field error? string the reason (cut at 500 bytes; the recipient is masked)

---@class relais.SmsParts what the sms composer returns
---@field text string

---@class relais.EmailParts what the email composer returns
---@field subject string
---@field text string
---@field html? string
---@field ics? string
---@field ics_method? "REQUEST"|"CANCEL"
---@field message_id string
---@field message string the whole RFC 5322 message, CRLF lines

---@class relais.SmsMessage what an SMS gateway gets
---@field id integer
---@field kind relais.Kind
---@field to string E.164
---@field text string GSM 03.38 alphabet, at most 2 segments
---@field segments integer
---@field idempotency_key string

---@class relais.EmailMessage what an e-mail gateway gets
---@field id integer
---@field kind relais.Kind
---@field to string
---@field from? string the address the gateway declared
---@field subject string
---@field text string
---@field html? string
---@field ics? string
---@field ics_method? "REQUEST"|"CANCEL"
---@field message_id string
---@field message string
---@field idempotency_key string

---@class relais.GatewayOptions
---@field from? string e-mail gateways: the address they send from
---@field name? string its display name

---@class relais.Rule a key of a relais.config_check schema
---@field type "string"|"number"|"integer"|"boolean"|"url"|"table"
---@field required? boolean
---@field default? any
---@field min? number for strings: their length in bytes
---@field max? number
---@field one_of? any[]
---@field empty? boolean a string may be ""
---@field schemes? string[] URL schemes, default {"http", "https"}
---@field check? fun(value: any, checked: table): boolean, string?

---@class relais.Settings
---@field public_url string
---@field timezone string
---@field quiet_hours false|{from: string, to: string}
---@field reminders {confirmation: boolean, before: integer[]} before: seconds
---@field survey {after: integer} seconds
---@field themes string[] the accompaniments' themes, in order
---@field age_brackets integer[] the first age of each bracket after the first: {26, 36, 46, 56}
---@field territory {qpv: string[], qva: string[]} the territory's priority neighbourhoods

---@class relais.BodyFile an opaque handle on a spooled request body; #file is its size

---@class relais.Request
---@field method "GET"|"POST"|"PUT"|"PATCH"|"DELETE"
---@field path string
---@field params table<string, string>
---@field query table<string, string|string[]>
---@field headers table<string, string> lower-case names
---@field body string
---@field body_file? relais.BodyFile
---@field form? table<string, string|string[]>
---@field url string public_url .. path, with the query string
---@field role? "admin"|"coordinator"|"trainer"
---@field staff_id? integer

---@class relais.Response
---@field status? integer 100..599, default 200
---@field body? string
---@field json? any
---@field headers? table<string, string>

---@class relais.RouteOptions
---@field body? "file"|"string"
---@field max_body? integer
---@field budget? integer

---@class relais.StaticOptions
---@field headers? table<string, string>

---@class relais.HttpRequest
---@field method? string default GET (POST with a body)
---@field url string
---@field headers? table<string, string>
---@field body? string
---@field user? string HTTP Basic
---@field password? string
---@field timeout? integer milliseconds, 1..120000

---@class relais.HttpResponse
---@field status integer
---@field body string

---@class relais.SmtpMessage
---@field url string smtp:// or smtps://
---@field user? string
---@field password? string
---@field tls? boolean
---@field from string
---@field to string[]
---@field message string
---@field timeout? integer milliseconds

---@class relais.SmsText
---@field text string
---@field segments integer
---@field ucs2 boolean
---@field units integer

---@class relais.CsvOptions
---@field sep? string
---@field encoding? "utf-8"|"windows-1252"|"auto"
---@field trim? boolean

---@class relais.XlsxFormat a format of one workbook's cells (wb:format)

---@class relais.XlsxFormatSpec
---@field bold? boolean
---@field italic? boolean
---@field underline? boolean
---@field wrap? boolean
---@field font_size? number 1..409
---@field font_color? string "#RRGGBB"
---@field bg_color? string "#RRGGBB"
---@field border? integer 0..13
---@field indent? integer 0..15
---@field align? "left"|"center"|"right"|"fill"|"justify"
---@field valign? "top"|"vcenter"|"bottom"
---@field num_format? string "0.0%", "#,##0"…

---@class relais.XlsxChart
---@field sheet relais.XlsxSheet
---@field at integer[] {row, col}
---@field type? "bar"|"column"|"line"|"pie"|"doughnut"
---@field title? string
---@field categories? table {r1, c1, r2, c2 [, sheet = other]}
---@field values? table {r1, c1, r2, c2 [, sheet = other]}
---@field name? string
---@field series? table[] {{name, categories, values}, …} (1..16)
---@field width? integer pixels, 48..4000
---@field height? integer pixels, 48..4000
---@field legend? boolean
---@field labels? boolean

---@class relais.XlsxSheet a sheet of a workbook (wb:sheet)
---@field write fun(self: relais.XlsxSheet, row: integer, col: integer, value: string|number|boolean|nil, fmt?: relais.XlsxFormat)
---@field column fun(self: relais.XlsxSheet, first: integer, last: integer, width: number, fmt?: relais.XlsxFormat)
---@field freeze fun(self: relais.XlsxSheet, row: integer, col: integer)
---@field name fun(self: relais.XlsxSheet): string

---@class relais.XlsxWorkbook an Excel workbook being written (relais.xlsx.workbook)
---@field sheet fun(self: relais.XlsxWorkbook, name: string): relais.XlsxSheet
---@field format fun(self: relais.XlsxWorkbook, spec: relais.XlsxFormatSpec): relais.XlsxFormat
---@field chart fun(self: relais.XlsxWorkbook, spec: relais.XlsxChart)
---@field close fun(self: relais.XlsxWorkbook): string the .xlsx file's bytes

---@class relais
relais = {}

---@type integer the version of this API: 1
relais.api_version = 1

---@type string the plugin's name
relais.name = ""

---@type table the plugin's settings (plugins/API.md, "Names and settings")
relais.config = {}

---@type relais.Settings
relais.settings = {}

--- Checks SETTINGS against SCHEMA; returns a checked copy, or raises
--- "NAME.KEY: what is wrong" (at load: the server does not start).
---@param settings table?
---@param schema table<string, relais.Rule>
---@param name? string
---@return table
function relais.config_check(settings, schema, name) end

---@param event string
---@param fn fun(ev: table)
function relais.on(event, fn) end

---@param method "GET"|"POST"|"PUT"|"PATCH"|"DELETE"
---@param pattern string
---@param fn fun(req: relais.Request): relais.Response
---@param roles? ("admin"|"coordinator"|"trainer")[]
---@param options? relais.RouteOptions
function relais.route(method, pattern, fn, roles, options) end

---@param name relais.Channel
---@param fn fun(msg: relais.Notification): relais.Result
function relais.channel(name, fn) end

---@param channel relais.Channel
---@param fn fun(msg: relais.Notification): relais.SmsParts|relais.EmailParts|relais.Result
function relais.composer(channel, fn) end

--- Registers the gateway NAME of CHANNEL; true when the channel's provider is NAME.
---@param channel relais.Channel
---@param name string
---@param fn fun(msg: relais.SmsMessage|relais.EmailMessage): relais.Result
---@param options? relais.GatewayOptions
---@return boolean selected
function relais.gateway(channel, name, fn, options) end

---@param prefix string
---@param folder string
---@param options? relais.StaticOptions
function relais.static(prefix, folder, options) end

relais.log = {}

---@param fmt string
---@param ... any
function relais.log.debug(fmt, ...) end

---@param fmt string
---@param ... any
function relais.log.info(fmt, ...) end

---@param fmt string
---@param ... any
function relais.log.warn(fmt, ...) end

---@param fmt string
---@param ... any
function relais.log.error(fmt, ...) end

---@return integer seconds
function relais.now() end

relais.time = {}

---@param t integer
---@return string
function relais.time.rfc3339(t) end

---@param s string
---@return integer? seconds
---@return string? err
function relais.time.parse(s) end

---@param t integer
---@return string
function relais.time.fr(t) end

---@param date string "YYYY-MM-DD"
---@return integer? seconds
---@return string? err
function relais.time.local_date(date) end

relais.sms = {}

---@param text string
---@return relais.SmsText
function relais.sms.prepare(text) end

--- What SMS networks take as a sender: up to 15 digits ("+" allowed first), or
--- up to 11 letters, digits and spaces with at least one letter.
---@param s string
---@return boolean
function relais.sms.sender_ok(s) end

relais.http = {}

--- Yields until the answer: res, or nil, err, timed_out, code.
---@param r relais.HttpRequest
---@return relais.HttpResponse? res
---@return string? err
---@return boolean? timed_out
---@return integer? code
function relais.http.request(r) end

relais.smtp = {}

--- Yields until sent: true, code, or nil, err, timed_out, code.
---@param m relais.SmtpMessage
---@return boolean? ok
---@return string|integer? err_or_code
---@return boolean? timed_out
---@return integer? code
function relais.smtp.send(m) end

relais.outbox = {}

---@param channel relais.Channel
---@param provider_id string
---@param status "delivered"|"failed"
---@param error? string
---@return boolean? updated
---@return string? err
function relais.outbox.report(channel, provider_id, status, error) end

relais.people = {}

---@param phone string E.164
---@param consent boolean
---@return integer? matched
---@return string? err
function relais.people.sms_consent(phone, consent) end

relais.links = {}

---The enrollment a link token stands for; nil for no such token, nil and
---"expired" for a link whose session ended longer ago than links.expire_after
---(answer 410 with a French page), nil and another err on a database error.
---@param purpose "r"|"s"
---@param token string
---@return integer? enrollment_id
---@return string? err "expired", or a database error
function relais.links.lookup(purpose, token) end

---@param name string
---@param vars table
---@return string
function relais.template(name, vars) end

---@param status integer 400..599
---@param detail? string
---@return relais.Response
function relais.problem(status, detail) end

---@param s string
---@return string
function relais.fold(s) end

relais.json = {}

---@param v any
---@return string
function relais.json.encode(v) end

---@param s string
---@return any value
---@return string? err
function relais.json.decode(s) end

---@type lightuserdata JSON null, as decode gives it and encode writes it
relais.json.null = nil

relais.url = {}

---@param s string
---@return string
function relais.url.encode(s) end

---@param t table<string, string|number|boolean|(string|number|boolean)[]>
---@return string
function relais.url.form(t) end

---@param s string
---@return table<string, string|string[]>
function relais.url.parse_form(s) end

relais.crypto = {}

---@param key string
---@param data string
---@return string raw
function relais.crypto.hmac_sha1(key, data) end

---@param key string
---@param data string
---@return string raw
function relais.crypto.hmac_sha256(key, data) end

---@param data string
---@return string raw
function relais.crypto.sha256(data) end

---@param data string
---@return string raw
function relais.crypto.sha1(data) end

---@param s string
---@return string
function relais.crypto.base64(s) end

---@param s string
---@return string
function relais.crypto.hex(s) end

---@param a string
---@param b string
---@return boolean
function relais.crypto.equal(a, b) end

---@param n integer 1..4096
---@return string raw
function relais.crypto.random(n) end

relais.csv = {}

--- for rec, line, err in relais.csv.records(source) do … end
---@param source relais.BodyFile|string
---@param options? relais.CsvOptions
---@return fun(): (string[]|false)?, integer?, string?
function relais.csv.records(source, options) end

relais.db = {}

--- In a GET route the query runs on a reader thread (the call yields), on
--- one snapshot per route; elsewhere on the event loop.
---@param sql string
---@param ... nil|boolean|number|string
---@return table[]? rows
---@return string? err
function relais.db.query(sql, ...) end

---@param sql string
---@param ... nil|boolean|number|string
---@return integer? changed
---@return integer|string? id_or_err
function relais.db.exec(sql, ...) end

relais.xlsx = {}

--- A new workbook (at most 4 open at once per plugin).
---@return relais.XlsxWorkbook
function relais.xlsx.workbook() end
