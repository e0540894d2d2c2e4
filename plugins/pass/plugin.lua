-- The pass numérique (APTIC) circuit (contract: "Pass numérique (APTIC)";
-- README.md here): the books a territory buys, who holds each, the passes
-- spent (imported from the platform's export or recorded by hand), the
-- reconciliation that used to be ticked off by hand, and the funders'
-- table. Admins and coordinators only: a trainer gets 403 everywhere here.
local web = require "web"
local json = require "json"
local config = require "config"
local rules = require "rules"
local books = require "books"
local register = require "register"
local handover = require "handover"
local scans = require "scans"
local import = require "import"
local reconcile = require "reconcile"
local report = require "report"
local report_csv = require "report_csv"
local report_html = require "report_html"
local report_xlsx = require "report_xlsx"

local cfg = config.load(relais.config)
local ROLES = web.ROLES

-- Registering a year's books (thousands, with their passes), importing an
-- export of 100,000 lines and reconciling as many scans take more than the
-- default instruction budget; a request never waits on the network.
local BIG = 2000000000

relais.route("POST", "/api/v1/pass/books", register.post, ROLES, {budget = BIG})

relais.route("GET", "/api/v1/pass/books", function(req)
  local check = web.check()
  local limit, after = web.page(req, check)
  local f = {}
  f.status = web.query(req, "status", check)
  if f.status and not rules.IS_STATUS[f.status] then
    check:add("status", "must be one of: " .. table.concat(rules.STATUSES, ", "))
  end
  for _, name in ipairs{"organisation_id", "beneficiary_id"} do
    local v = web.query(req, name, check)
    if v then
      f[name] = web.id(v)
      if not f[name] then check:add(name, "must be a positive integer id") end
    end
  end
  f.order = web.query(req, "order", check)
  f.q = web.query(req, "q", check)
  if f.q and #f.q > 64 then check:add("q", "at most 64 bytes") end
  if f.q == "" then f.q = nil end
  if not check:ok() then return check:problem() end
  local items, last = books.list(f, limit, after)
  return web.reply(200, {items = items, next = last and web.cursor(last) or json.null})
end, ROLES, {budget = BIG})

relais.route("GET", "/api/v1/pass/books/{id}", function(req)
  local id = web.id(req.params.id)
  local book = id and books.detail(id)
  if not book then return web.problem(404, "no such book") end
  return web.reply(200, book)
end, ROLES)

relais.route("POST", "/api/v1/pass/books/{id}/handover", handover.post, ROLES)

relais.route("GET", "/api/v1/pass/orders", function()
  local items = json.list()
  for _, o in ipairs(assert(relais.db.query([[
      SELECT o.label, o.valid_until, o.value_cents, count(b.id) AS books,
             coalesce(sum(b.passes), 0) AS passes
        FROM pass_orders o LEFT JOIN pass_books b ON b.order_id = o.id
       GROUP BY o.id ORDER BY o.valid_until DESC, o.label]]))) do
    items[#items + 1] = {order = o.label, valid_until = o.valid_until,
                         value_cents = o.value_cents, books = o.books, passes = o.passes}
  end
  return web.reply(200, {items = items, next = json.null})
end, ROLES)

relais.route("POST", "/api/v1/pass/scans", scans.post, ROLES)

-- The export arrives as a file (spooled by the server, read in pieces):
-- 100,000 lines are never held in memory.
relais.route("POST", "/api/v1/imports/aptic", function(req)
  local res, status, detail = import.run(req.body_file or req.body)
  if not res then
    return web.problem(status, detail, {{field = "file", message = detail}})
  end
  return web.reply(200, res)
end, ROLES, {body = "file", max_body = 512 * 1024 * 1024, budget = BIG})

relais.route("GET", "/api/v1/pass/reconciliation", function(req)
  local check = web.check()
  local kind = web.query(req, "kind", check)
  if kind and not reconcile.IS_KIND[kind] then
    check:add("kind", "must be one of: " .. table.concat(reconcile.KINDS, ", "))
  end
  if not check:ok() then return check:problem() end
  return web.reply(200, reconcile.build(cfg, kind))
end, ROLES, {budget = BIG})

-- "json", "csv", "html" or "xlsx": ?format= first, else whichever of
-- these media types the Accept header names first (JSON when it names
-- none), as the activity report does.
local FORMATS = {["application/json"] = "json", ["text/csv"] = "csv", ["text/html"] = "html",
                 [report_xlsx.TYPE] = "xlsx"}

local function negotiate(req, check)
  local f = web.query(req, "format", check)
  if f ~= nil then
    if f == "json" or f == "csv" or f == "html" or f == "xlsx" then return f end
    check:add("format", "must be one of: json, csv, html, xlsx")
    return nil
  end
  local accept = (req.headers.accept or ""):lower()
  local best, at = "json", math.huge
  for media, fmt in pairs(FORMATS) do
    local i = accept:find(media, 1, true)
    if i and i < at then best, at = fmt, i end
  end
  return best
end

local function pass_report(req, forced)
  local check = web.check()
  local fmt = forced or negotiate(req, check)
  local periods = report.periods(req, check)
  if not check:ok() then return check:problem() end
  local r = report.build(periods)
  if fmt == "csv" then
    return {status = 200, body = report_csv.render(r),
            headers = {["Content-Type"] = "text/csv; charset=utf-8",
                       ["Content-Disposition"] = 'attachment; filename="pass-numeriques.csv"'}}
  elseif fmt == "html" then
    return {status = 200, body = report_html.render(r),
            headers = {["Content-Type"] = "text/html; charset=utf-8"}}
  elseif fmt == "xlsx" then
    return {status = 200, body = report_xlsx.render(r),
            headers = {["Content-Type"] = report_xlsx.TYPE,
                       ["Content-Disposition"] = 'attachment; filename="pass-numeriques.xlsx"'}}
  end
  return web.reply(200, r)
end

relais.route("GET", "/api/v1/reports/pass", function(req) return pass_report(req) end, ROLES,
             {budget = BIG})
for _, f in ipairs{"html", "csv", "xlsx"} do
  relais.route("GET", "/api/v1/reports/pass." .. f,
               function(req) return pass_report(req, f) end, ROLES, {budget = BIG})
end
