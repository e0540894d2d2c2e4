-- Test fixture: routes that never end. The instruction budget must stop
-- them; a pcall inside the loop must not swallow that.
relais.route("GET", "/faults/loop", function(req)
  local n = 0
  while true do n = n + 1 end
end)

relais.route("GET", "/faults/loop-pcall", function(req)
  while true do
    pcall(function() while true do end end)
  end
end)

relais.route("GET", "/faults/loop/ok", function(req)
  return {status = 200, body = "looper alive"}
end)
