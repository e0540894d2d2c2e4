-- Test fixture: routes that allocate without bound. The memory cap must stop
-- them, and the plugin must work again afterwards.
relais.route("GET", "/faults/hog", function(req)
  local t, i = {}, 0
  while true do
    i = i + 1
    t[i] = string.rep("x", 4096) .. i
  end
end)

relais.route("GET", "/faults/hog-string", function(req)
  local s = string.rep("x", 1 << 30)
  return {status = 200, body = tostring(#s)}
end)

relais.route("GET", "/faults/hog/ok", function(req)
  local t = {}
  for i = 1, 1000 do t[i] = string.rep("y", 100) end
  return {status = 200, body = "hog alive " .. #table.concat(t)}
end)
