-- Fixture: what a plugin must not reach, and what still works. Any failed
-- check stops the load, which the C test sees.
assert(io == nil, "io is reachable")
assert(os.execute == nil and os.getenv == nil and os.exit == nil, "os is too wide")
assert(os.remove == nil and os.rename == nil and os.tmpname == nil, "os files reachable")
assert(debug == nil, "debug is reachable")
assert(package == nil, "package is reachable")
assert(string.dump == nil, "string.dump is reachable")
assert(dofile == nil and loadfile == nil, "dofile/loadfile are reachable")
assert(type(os.time()) == "number" and os.date("!%Y", 0) == "1970", "os.time/date")
assert(type(os.clock()) == "number", "os.clock")

-- load: text only, with the plugin's globals
local f, err = load("\27Lua\84\0\25\147\13\10\26\10rest")
assert(f == nil and tostring(err):find("binary"), "bytecode was accepted: " .. tostring(err))
f, err = load("\27Lua", "x", "b")
assert(f == nil, "mode b was honoured")
shared = 41
local g = load("return shared + 1")
assert(g() == 42, "load does not see the plugin's globals")
assert(_G.shared == 41 and _G == _ENV, "_G is not the plugin's globals")

-- require: this plugin's modules only, each run once
local helper = require "helper"
assert(helper.answer == 42 and require "helper" == helper and loads == 1, "require cache")
assert(not pcall(require, "../sandbox/helper"), "require left the folder")
assert(not pcall(require, "/etc/passwd"), "require took a path")
local ok, e = pcall(require, "missing")
assert(not ok and e:find("cannot read module"), "missing module: " .. tostring(e))

-- no finalizers, no collector knobs, no way back to the string library
assert(not pcall(setmetatable, {}, {__gc = function() end}), "__gc accepted")
assert(getmetatable(setmetatable({}, {__index = {}})) ~= nil, "setmetatable broken")
assert(not pcall(collectgarbage, "stop"), "collectgarbage stop accepted")
assert(type(collectgarbage("count")) == "number", "collectgarbage count")
assert(getmetatable("") == false, "string metatable visible")
assert(("abc"):upper() == "ABC", "string methods")

-- the plugin's own coroutines work
local co = coroutine.create(function(a)
  local b = coroutine.yield(a + 1)
  return b * 2
end)
local ok1, v1 = coroutine.resume(co, 1)
local ok2, v2 = coroutine.resume(co, 5)
assert(ok1 and v1 == 2 and ok2 and v2 == 10, "plugin coroutines")
assert(coroutine.wrap(function() coroutine.yield(7) end)() == 7, "coroutine.wrap")

-- but not the host's
local host, ismain = coroutine.running()
assert(ismain and not coroutine.isyieldable(), "the host's coroutine looks like a coroutine")
assert(not pcall(coroutine.yield, 1), "yield from the host's coroutine")
assert(not pcall(coroutine.resume, host), "resumed the host's coroutine")
assert(not pcall(coroutine.close, host), "closed the host's coroutine")

-- waiting for the network: not from a coroutine of the plugin, not in C calls
local okw, ew = coroutine.wrap(function()
  return pcall(relais.http.request, {url = "http://127.0.0.1:9/"})
end)()
assert(not okw and ew:find("coroutine the plugin made"), "wait in a plugin coroutine: " .. tostring(ew))
local oks, es = pcall(table.sort, {3, 2, 1}, function(a, b)
  relais.http.request{url = "http://127.0.0.1:9/"}
  return a < b
end)
assert(not oks and es:find("cannot wait here"), "wait in a sort comparator: " .. tostring(es))

print("sandbox", "checked")

-- Registering is for load time only.
relais.on("later", function()
  assert(not pcall(relais.route, "GET", "/later", function() end), "route after load")
  assert(not pcall(relais.on, "x", function() end), "hook after load")
  assert(not pcall(relais.channel, "sms", function() end), "channel after load")
end)
