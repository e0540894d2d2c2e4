-- Fixture: entries that never end or never stop allocating, and one that
-- shows the state still works afterwards.
relais.on("loop", function() while true do end end)
relais.on("pcall_loop", function()
  while true do pcall(function() while true do end end) end
end)
relais.on("xpcall_loop", function()
  while true do
    xpcall(function() while true do end end, function(m) while true do end end)
  end
end)
relais.on("co_loop", function()
  local co = coroutine.wrap(function()
    while true do pcall(function() while true do end end) end
  end)
  while true do pcall(co) end
end)
relais.on("mem", function()
  local t = {}
  while true do t[#t + 1] = string.rep("x", 1 << 20) .. #t end
end)
relais.on("mem_pcall", function()
  local t = {}
  while true do
    pcall(function() t[#t + 1] = string.rep("y", 1 << 20) .. #t end)
  end
end)
relais.on("boom", function(ev) error("boom " .. tostring(ev.n)) end)
relais.on("ping", function(ev)
  relais.db.exec("INSERT INTO budget_log (n) VALUES (?)", ev.n)
end)
relais.on("big", function(ev)
  -- 12 MiB at once: fits under the cap once earlier garbage is collected.
  local s = string.rep("z", 12 << 20)
  relais.db.exec("INSERT INTO budget_log (n) VALUES (?)", #s)
end)
