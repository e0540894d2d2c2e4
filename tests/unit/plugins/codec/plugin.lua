-- Fixture: relais.json, url, crypto, template, time, sms, problem and the
-- settings, checked at load (a failed check stops the load).
local json = relais.json

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %q, want %q", what, tostring(got), tostring(want)), 2)
  end
end

-- json round trip
local doc = {name = "Zoé", n = 3, f = 1.5, list = {1, 2, 3}, nested = {ok = true, no = false},
             empty = {}}
local back = json.decode(json.encode(doc))
eq(back.name, "Zoé", "string")
eq(math.type(back.n), "integer", "integer type")
eq(back.f, 1.5, "float")
eq(#back.list, 3, "list length")
eq(back.list[3], 3, "list item")
eq(back.nested.ok, true, "true")
eq(back.nested.no, false, "false")
eq(next(back.empty), nil, "empty table")
eq(json.encode({1, 2, "x"}), '[1,2,"x"]', "list")
eq(json.encode({a = {b = 1}}), '{"a":{"b":1}}', "object")
eq(json.encode("a\"b\n\1"), '"a\\"b\\n\\u0001"', "escapes")
eq(json.encode(json.null), "null", "null")
eq(json.encode(2^53), "9007199254740992", "big float")
eq(json.encode(0.1), "0.1", "short float")
local v = json.decode('{"a":null,"b":[1,null,3],"c":1e2,"d":-0.5}')
eq(v.a, json.null, "null member")
eq(v.b[2], json.null, "null item")
eq(v.b[3], 3, "item after null")
eq(v.c, 100, "exponent")
eq(v.d, -0.5, "negative")
eq(json.decode('"x"'), "x", "scalar")
local nv, nerr = json.decode('{"a":01}')
eq(nv, nil, "leading zero")
assert(nerr:find("invalid JSON at byte"), nerr)
eq(json.decode("[1,2,]"), nil, "trailing comma")
eq(json.decode("\"\255\""), nil, "not UTF-8")
local deep = string.rep("[", 100) .. string.rep("]", 100)
eq(json.decode(deep), nil, "too deep")
assert(not pcall(json.encode, {1, 2, x = 3}), "mixed table")
assert(not pcall(json.encode, {[1] = 1, [3] = 3}), "holes")
local cyc = {}
cyc.self = cyc
assert(not pcall(json.encode, cyc), "cycle")
assert(not pcall(json.encode, "\255"), "not UTF-8 out")
assert(not pcall(json.encode, 0 / 0), "NaN")
assert(not pcall(json.encode, print), "function")

-- url
eq(relais.url.encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~", "url.encode")
eq(relais.url.form{b = "2", a = "x y", c = {"1", "2"}, d = 5, e = true},
   "a=x%20y&b=2&c=1&c=2&d=5&e=true", "url.form")
local form = relais.url.parse_form("a=1&b=x+y%21&b=2&c&=empty&d=%zz&&")
eq(form.a, "1", "form a")
eq(form.b[1], "x y!", "form b1")
eq(form.b[2], "2", "form b2")
eq(form.c, "", "form c")
eq(form[""], "empty", "form empty name")
eq(form.d, "%zz", "form broken escape")

-- crypto (RFC 4231-style vectors from the HMAC article and FIPS 180)
local c = relais.crypto
eq(c.hex(c.sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256")
eq(c.hex(c.sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d", "sha1")
for s, ok in pairs({["RELAIS"] = true, ["Mairie 73"] = true, ["+33612345678"] = true,
                    ["123456789012345"] = true, ["1234567890123456"] = false,
                    ["ABCDEFGHIJKL"] = false, ["12345"] = true, [""] = false, ["+"] = false,
                    ["Mairie-73"] = false, ["73 000"] = false, ["Zoé"] = false}) do
  eq(relais.sms.sender_ok(s), ok, "sender_ok " .. s)
end
eq(c.hex(c.sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1 of nothing")
local fox = "The quick brown fox jumps over the lazy dog"
eq(c.hex(c.hmac_sha256("key", fox)),
   "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", "hmac_sha256")
eq(c.base64(c.hmac_sha1("key", fox)), "3nybhbi3iqa8ino29wqQcBydtNk=", "hmac_sha1")
eq(c.base64(""), "", "base64 empty")
eq(c.base64("f"), "Zg==", "base64 f")
assert(c.equal("abc", "abc") and not c.equal("abc", "abd") and not c.equal("abc", "ab"), "equal")
assert(#c.random(16) == 16 and c.random(16) ~= c.random(16), "random")

-- templates
eq(relais.template("page.html", {name = "<b>Ana & \"Bo\" l'a</b>", raw = "<i>ok</i>"}),
   "<p>Bonjour &lt;b&gt;Ana &amp; &quot;Bo&quot; l&#39;a&lt;/b&gt; <i>ok</i></p>\n", "html")
local vars = {first_name = "Ana", session = {title = "Smartphone", venue = {name = "Médiathèque"}},
              n = 3, f = 2.5, yes = true, empty = "", null = json.null}
eq(relais.template("msg.txt", vars),
   "Bonjour Ana!\nSmartphone à Médiathèque (Médiathèque)\n3 2.5 true [] y z\n", "text")
eq(relais.template("msg.txt"), "Bonjour !\n à \n   [] y z\n", "no vars")
local okb, eb = pcall(relais.template, "bad.txt", {})
assert(not okb and eb:find("never closed"), "unclosed section: " .. tostring(eb))
local okm, em = pcall(relais.template, "mismatch.txt", {})
assert(not okm and em:find("closes"), "mismatched section: " .. tostring(em))
assert(not pcall(relais.template, "../plugin.lua", {}), "template outside the folder")
local okn, en = pcall(relais.template, "nope.txt", {})
assert(not okn and en:find("cannot read"), "missing template: " .. tostring(en))

-- time, sms, problem, settings, config
eq(relais.time.rfc3339(0), "1970-01-01T00:00:00Z", "rfc3339")
eq(relais.time.parse("2026-03-03T14:00:00+01:00"), 1772542800, "parse")
eq(relais.time.parse("soon"), nil, "parse error")
eq(relais.time.fr(1772542800), "mar. 3 mars à 14h00", "fr")
eq(math.type(relais.now()), "integer", "now")
local sms = relais.sms.prepare("Être à l’atelier")
eq(sms.segments, 1, "segments")
eq(sms.ucs2, false, "gsm")
eq(sms.text, "Etre à l'atelier", "transliteration")
local p = relais.problem(404, "no such thing")
eq(p.status, 404, "problem status")
eq(p.headers["Content-Type"], "application/problem+json", "problem type")
eq(json.decode(p.body).detail, "no such thing", "problem detail")
eq(relais.settings.public_url, "http://127.0.0.1:8080", "public_url")
eq(relais.settings.timezone, "Europe/Paris", "timezone")
eq(relais.settings.reminders.before[1], 172800, "reminders")
eq(next(relais.config), nil, "config of a plugin the core does not know")
eq(relais.name, "codec", "name")
relais.log.info("codec %s %d", "checked", 1)
assert(not pcall(relais.log.info, "%d", "x"), "log format error")

-- csv.records: encodings (a string source; a body file reads the same way)
local function all(text, opts)
  local out = {}
  for rec, line, why in relais.csv.records(text, opts) do
    out[#out + 1] = rec and (line .. ":" .. table.concat(rec, "|")) or (line .. "!" .. why)
  end
  return table.concat(out, "\n")
end
eq(all("Num\xE9ro;Lieu\r\n1;Caf\xE9\r\n", {sep = ";"}),
   "1!the line is not valid UTF-8\n2!the line is not valid UTF-8", "utf-8 by default")
eq(all("Num\xE9ro;Lieu\r\n1;Caf\xE9\r\n", {sep = ";", encoding = "windows-1252"}),
   "1:Numéro|Lieu\n2:1|Café", "windows-1252")
eq(all("\xEF\xBB\xBFNuméro,x\n1,Caf\xE9 \x80\n2,Café\n", {encoding = "auto"}),
   "1:Numéro|x\n2:1|Café €\n3:2|Café", "auto, record by record")
eq(all("a;b", {sep = ";", encoding = "utf-8"}), "1:a|b", "utf-8 named")
assert(not pcall(relais.csv.records, "a", {encoding = "latin-9"}), "unknown encoding")
assert(not pcall(relais.csv.records, "a", {encoding = 1252}), "encoding not a string")
eq(all("a,b", {}), "1:a|b", "options without sep: ','")
assert(not pcall(relais.csv.records, "a", {sep = 59}), "sep not a string")
eq(all(" a ;\tb\t;\" c \";;  \n", {sep = ";", trim = true}), "1:a|b|c||", "trim")
eq(all(" a ; b ", {sep = ";"}), "1: a | b ", "no trim by default")
assert(not pcall(relais.csv.records, "a", {trim = "yes"}), "trim not a boolean")
