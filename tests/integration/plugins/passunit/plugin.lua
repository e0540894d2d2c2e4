-- Unit tests of the pass plugin's pure modules (plugins/pass: numbering,
-- rules, dates, header), run inside the real plugin host: the modules are
-- symbolic links to the plugin's own files, loaded with its `require` and
-- its sandbox. GET /passunit runs every case and answers
-- [{name, ok, error}] (test_pass.py turns each into a TAP line).
local numbering = require "numbering"
local rules = require "rules"
local dates = require "dates"
local header = require "header"

local cases = {}
local function case(name, fn) cases[#cases + 1] = {name, fn} end

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %s, want %s", what or "value", tostring(got), tostring(want)), 2)
  end
end

local function list_eq(got, want, what)
  eq(type(got), "table", what)
  eq(#got, #want, (what or "list") .. " length")
  for i = 1, #want do eq(got[i], want[i], (what or "list") .. "[" .. i .. "]") end
end

-- --- numbering -----------------------------------------------------------------

case("numbering: consecutive passes", function()
  list_eq(numbering.expand("2200100001", 5),
          {"2200100001", "2200100002", "2200100003", "2200100004", "2200100005"})
end)

case("numbering: zero padding is kept across a carry", function()
  list_eq(numbering.expand("0098", 4), {"0098", "0099", "0100", "0101"})
  list_eq(numbering.expand("007", 1), {"007"})
end)

case("numbering: a prefix is kept", function()
  list_eq(numbering.expand("AB-0998", 3), {"AB-0998", "AB-0999", "AB-1000"})
  list_eq(numbering.expand("2023/09", 2), {"2023/09", "2023/10"})
end)

case("numbering: numbers longer than an integer", function()
  list_eq(numbering.expand("09999999999999999999998", 3),
          {"09999999999999999999998", "09999999999999999999999", "10000000000000000000000"})
  eq(numbering.expand("99999999999999999999998", 3), nil, "overflow")
end)

case("numbering: no digit left to count up", function()
  local got, why = numbering.expand("99", 2)
  eq(got, nil, "99 + 1")
  assert(why:find("more digits"), why)
  got = numbering.expand("A9999", 2)
  eq(got, nil, "A9999 + 1")
  got, why = numbering.expand("CARNET", 2)
  eq(got, nil, "no digits")
  assert(why:find("end with digits"), why)
end)

case("numbering: count bounds", function()
  eq(#numbering.expand("0001", 1000), 1000, "1000 passes")
  eq(numbering.expand("0001", 1000)[1000], "1000", "the last")
  eq(numbering.expand("0001", 0), nil, "0")
  eq(numbering.expand("0001", 1001), nil, "1001")
  eq(numbering.expand("0001", 2.5), nil, "not whole")
end)

-- --- status --------------------------------------------------------------------

local TODAY = "2023-06-15"
local function book(t)
  return {passes = t.passes or 5, used = t.used or 0, valid_until = t.valid_until or "2023-12-31",
          holder = t.holder}
end

case("status: stock, distributed, assigned", function()
  eq(rules.status(book{}, TODAY), "stock")
  eq(rules.status(book{holder = "organisation"}, TODAY), "distributed")
  eq(rules.status(book{holder = "beneficiary"}, TODAY), "assigned")
end)

case("status: started and used", function()
  eq(rules.status(book{holder = "beneficiary", used = 1}, TODAY), "started")
  eq(rules.status(book{holder = "beneficiary", used = 5}, TODAY), "used")
  -- spent passes count even when nobody was recorded as holding the book
  eq(rules.status(book{used = 2}, TODAY), "started")
  eq(rules.status(book{used = 5}, TODAY), "used")
end)

case("status: expired the day after valid_until, with passes left", function()
  eq(rules.status(book{valid_until = "2023-06-15"}, TODAY), "stock", "on the last day")
  eq(rules.status(book{valid_until = "2023-06-14"}, TODAY), "expired", "the day after")
  eq(rules.status(book{valid_until = "2022-12-31", holder = "beneficiary", used = 3}, TODAY),
     "expired", "started then expired")
end)

case("status: precedence used > expired > started > assigned > distributed", function()
  eq(rules.status(book{valid_until = "2022-12-31", used = 5}, TODAY), "used")
  eq(rules.status(book{valid_until = "2022-12-31", holder = "organisation"}, TODAY), "expired")
  eq(rules.status(book{holder = "organisation", used = 1}, TODAY), "started")
  list_eq(rules.STATUSES, {"used", "expired", "started", "assigned", "distributed", "stock"})
end)

-- --- handovers -----------------------------------------------------------------

local function target(t)
  return {type = t[1], id = t[2], on = t.on or "2023-03-01", second = t.second}
end

case("handover: to an organisation, then to a person", function()
  eq(rules.handover({people = {}}, target{"organisation", 1}, 0), nil)
  eq(rules.handover({holder = {type = "organisation", id = 1}, people = {},
                     last_on = "2023-02-01"}, target{"beneficiary", 7}, 0), nil)
end)

case("handover: one book, one person", function()
  local b = {holder = {type = "beneficiary", id = 7}, people = {[7] = true}}
  local st, field, why = rules.handover(b, target{"beneficiary", 8}, 0)
  eq(st, 409)
  eq(field, nil)
  assert(why:find("another person"), why)
  -- back to a distributor, then to the same person again: allowed; to
  -- another: refused
  b = {holder = {type = "organisation", id = 1}, people = {[7] = true}}
  eq(rules.handover(b, target{"beneficiary", 7}, 0), nil)
  eq(rules.handover(b, target{"beneficiary", 8}, 0), 409)
end)

case("handover: to its holder changes nothing", function()
  eq(rules.handover({holder = {type = "organisation", id = 1}, people = {}},
                    target{"organisation", 1}, 0), 409)
  eq(rules.handover({holder = {type = "beneficiary", id = 7}, people = {[7] = true}},
                    target{"beneficiary", 7}, 0), 409)
  eq(rules.handover({holder = {type = "organisation", id = 1}, people = {}},
                    target{"organisation", 2}, 0), nil)
end)

case("handover: a second book only when asked", function()
  local st, _, why = rules.handover({people = {}}, target{"beneficiary", 7}, 1)
  eq(st, 409)
  assert(why:find("second"), why)
  eq(rules.handover({people = {}}, target{"beneficiary", 7, second = true}, 1), nil)
  eq(rules.handover({people = {}}, target{"beneficiary", 7}, 0), nil)
end)

case("handover: not dated before the last one", function()
  local st, field = rules.handover({holder = {type = "organisation", id = 1}, people = {},
                                    last_on = "2023-03-02"}, target{"beneficiary", 7}, 0)
  eq(st, 422)
  eq(field, "on")
  eq(rules.handover({holder = {type = "organisation", id = 1}, people = {},
                     last_on = "2023-03-01"}, target{"beneficiary", 7}, 0), nil, "same day")
end)

-- --- dates ---------------------------------------------------------------------

local function parsed(s, want_date, want_at)
  local d, at = dates.parse(s)
  eq(d, want_date, s)
  if want_at ~= nil then eq(at, want_at, s .. " (time)") end
end

local function refused(s, why)
  local d, w = dates.parse(s)
  eq(d, nil, s)
  eq(w, why, s .. " (why)")
end

case("dates: JJ/MM/AAAA with or without a time", function()
  parsed("05/03/2023", "2023-03-05")
  eq(select(2, dates.parse("05/03/2023")), nil, "no time")
  -- a wall time in the configured zone (Europe/Paris, UTC+1 in March)
  parsed("05/03/2023 14:05", "2023-03-05", 1678021500)
  parsed("05/03/2023 14:05:33", "2023-03-05", 1678021533)
  parsed("5/3/2023 9h05", "2023-03-05", 1678003500)
  parsed("05-03-2023", "2023-03-05")
  parsed("05.03.2023", "2023-03-05")
end)

case("dates: ISO 8601, an offset moves the local day", function()
  parsed("2023-03-05", "2023-03-05")
  parsed("2023-03-05T14:05:00Z", "2023-03-05", 1678025100)
  parsed("2023-03-05 14:05", "2023-03-05", 1678021500)
  -- 23:30 at UTC-2 is 01:30 UTC, 02:30 in Paris: the 6th
  parsed("2023-03-05T23:30:00-02:00", "2023-03-06", 1678066200)
  parsed("2023-03-05T14:05:00.250+0100", "2023-03-05", 1678021500)
end)

case("dates: days that do not exist", function()
  refused("31/02/2023", "impossible")
  refused("29/02/2023", "impossible")
  parsed("29/02/2024", "2024-02-29")
  refused("32/01/2023", "impossible")
  refused("00/01/2023", "impossible")
  refused("05/13/2023", "impossible")
  refused("05/03/2023 25:00", "impossible")
  refused("2023-02-30", "impossible")
end)

case("dates: unreadable, cut short, implausible", function()
  refused("12/03/20", "unreadable")        -- a line cut short, or a two-digit year
  refused("2023/03/05", "unreadable")
  refused("hier", "unreadable")
  refused("05/03/2023 14", "unreadable")
  refused("05/03/2023 soir", "unreadable")
  refused("2023-03-05T14:05:00+1", "unreadable")
  refused("01/01/1923", "year")
  refused("01/01/2123", "year")
end)

case("dates: an Excel serial day", function()
  parsed("44990", "2023-03-05")
  parsed("44990,5", "2023-03-05")
  parsed("44990.75", "2023-03-05")
  refused("20000", "year")
end)

case("dates: local dates, days after, French", function()
  eq(dates.valid("2024-02-29"), true)
  eq(dates.valid("2023-02-29"), false)
  eq(dates.valid("2023-2-01"), false)
  eq(dates.add_days("2022-12-31", 31), "2023-01-31")
  eq(dates.add_days("2024-02-28", 1), "2024-02-29")
  eq(dates.fr("2023-03-05"), "05/03/2023")
end)

-- --- header --------------------------------------------------------------------

case("header: the contract's labels", function()
  local p = header.plan{"Numéro du pass", "Date de scan", "Lieu", "SIRET", "Service", "Niveau",
                        "Montant"}
  eq(p.pass, 1) eq(p.date, 2) eq(p.venue, 3) eq(p.siret, 4) eq(p.service, 5) eq(p.level, 6)
  eq(p.amount, 7)
end)

case("header: case, accents and punctuation do not matter", function()
  local p = header.plan{"NUMERO DE CHEQUE", " date ", "STRUCTURE", "prestation", "niveau",
                        "Montant (€)"}
  eq(p.pass, 1) eq(p.date, 2) eq(p.venue, 3) eq(p.service, 4) eq(p.level, 5) eq(p.amount, 6)
  eq(header.plan{"N° pass", "Date"}.pass, 1)
  eq(header.plan{"n° PASS", "Nom du lieu"}.venue, 2)
end)

case("header: the most specific label wins", function()
  local p = header.plan{"Pass", "Date", "Numéro du pass", "Date de scan", "Structure", "Lieu"}
  eq(p.pass, 3) eq(p.date, 4) eq(p.venue, 6)
end)

case("header: no pass-number column", function()
  eq(header.plan{"Date de scan", "Lieu", "Montant"}, nil)
  eq(header.plan{}, nil)
  eq(header.plan{"Numéro du pass;Date de scan;Lieu"}, nil, "one field: another separator")
end)

relais.route("GET", "/passunit", function()
  local out = {}
  for i, c in ipairs(cases) do
    local ok, err = pcall(c[2])
    out[i] = {name = c[1], ok = ok, error = ok and "" or tostring(err)}
  end
  return {json = out}
end)
