-- Test fixture: routes and a hook that fail in the ways Lua code fails.
relais.on("loaded", function(ev)
  error("crasher: the loaded hook fails on purpose")
end)

relais.route("GET", "/faults/crash", function(req)
  error("crasher: failing on purpose")
end)

relais.route("GET", "/faults/crash-nil", function(req)
  local t = nil
  return t.field
end)

relais.route("GET", "/faults/crash-bad", function(req)
  return 42          -- not a response table
end)

relais.route("GET", "/faults/crash/ok", function(req)
  return {status = 200, json = {ok = true, plugin = relais.name}}
end)
