-- Fixture: relais.config_check, checked at load (a failed check stops the
-- load). The test gives this plugin the table
-- cfgchk = {url = "https://x.example/api//", port = 8080.0, name = "n"}.
local check = relais.config_check

local function eq(got, want, what)
  if got ~= want then
    error(string.format("%s: got %q, want %q", what, tostring(got), tostring(want)), 2)
  end
end

-- The error CFG gets against SCHEMA (named "t").
local function refused(cfg, schema)
  local ok, err = pcall(check, cfg, schema, "t")
  eq(ok, false, "refused")
  return err
end

-- relais.config, checked under its own name; defaults filled, URL cleaned,
-- a whole float made an integer.
local c = check(relais.config, {
  url = {type = "url", required = true},
  port = {type = "integer", min = 1, max = 65535},
  name = {type = "string"},
  tls = {type = "boolean", default = true},
  timeout = {type = "number", default = 10},
})
eq(c.url, "https://x.example/api", "trailing slashes removed")
eq(math.type(c.port), "integer", "integer")
eq(c.port, 8080, "port")
eq(c.tls, true, "default")
eq(c.timeout, 10, "number default")
eq(relais.config.tls, nil, "relais.config itself unchanged")
local ok, err = pcall(check, relais.config, {url = {type = "url"}})
eq(ok, false, "unknown keys")
eq(err, "cfgchk.name: unknown key (the keys are: url)", "named after its table")

-- Every kind of mistake, named.
eq(refused({}, {a = {type = "string", required = true}}), "t.a: is required", "required")
eq(refused({a = 1}, {a = {type = "string"}}), "t.a: must be a string", "string")
eq(refused({a = ""}, {a = {type = "string"}}), "t.a: must not be empty", "empty")
eq(check({a = ""}, {a = {type = "string", empty = true}}).a, "", "empty allowed")
eq(refused({a = "abcd"}, {a = {type = "string", max = 3}}), "t.a: must be at most 3 characters",
   "length")
eq(refused({a = "x"}, {a = {type = "number"}}), "t.a: must be a number", "number")
eq(refused({a = 1.5}, {a = {type = "integer"}}), "t.a: must be a whole number", "integer")
eq(refused({a = 0}, {a = {type = "number", min = 0.5, max = 120}}),
   "t.a: must be from 0.5 to 120", "range")
eq(refused({a = 200}, {a = {type = "number", max = 120}}), "t.a: must be at most 120", "max")
eq(refused({a = "yes"}, {a = {type = "boolean"}}), "t.a: must be true or false", "boolean")
eq(refused({a = "ftp://h"}, {a = {type = "url"}}),
   "t.a: must be a URL starting with http:// or https://", "scheme")
eq(refused({a = "http:// h"}, {a = {type = "url"}}),
   "t.a: must be a URL starting with http:// or https://", "space")
eq(refused({a = "http:///x"}, {a = {type = "url"}}),
   "t.a: must be a URL starting with http:// or https://", "no host")
eq(check({a = "smtps://mail:465"}, {a = {type = "url", schemes = {"smtp", "smtps"}}}).a,
   "smtps://mail:465", "schemes")
eq(refused({a = 3}, {a = {type = "table"}}), "t.a: must be a table", "table")
eq(refused({a = "c"}, {a = {type = "string", one_of = {"a", "b"}}}),
   't.a: must be one of "a", "b"', "one_of")
eq(refused({b = 1, a = 2, [1] = 3}, {}), "t[1]: unknown key (there are none)", "first unknown")
eq(refused({zz = 1, b = 1}, {a = {type = "number"}}), "t.b: unknown key (the keys are: a)",
   "sorted")
eq(refused({a = 1, b = 2}, {a = {type = "number", check = function(v, all)
  return v > all.b, "must be more than b"
end}, b = {type = "number"}}), "t.a: must be more than b", "check sees every key")
eq(refused({}, {a = {type = "number", check = function(v) return v ~= nil end}}),
   "t.a: is not valid", "check of an absent key")
-- The schema is the plugin's code: a wrong one is an ordinary error.
ok, err = pcall(check, {}, {a = {type = "float"}})
eq(ok, false, "bad type")
eq(err:find("has no known type", 1, true) ~= nil, true, "bad type message")
