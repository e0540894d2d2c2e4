-- Test fixture: reports what the sandbox lets a plugin reach.
relais.route("GET", "/faults/sandbox", function(req)
  local bytecode_ok = pcall(load, string.char(27) .. "Lua")
  local f = load(string.char(27) .. "LuaT")
  return {status = 200, json = {
    io = type(io), package = type(package), debug = type(debug),
    dofile = type(dofile), loadfile = type(loadfile),
    execute = type(os.execute), getenv = type(os.getenv), remove = type(os.remove),
    dump = type(string.dump), bytecode = (f ~= nil) and bytecode_ok,
    require_escape = (pcall(require, "../looper/plugin")),
    require_abs = (pcall(require, "/etc/passwd")),
  }}
end)
