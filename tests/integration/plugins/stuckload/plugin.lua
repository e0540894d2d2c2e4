-- Test fixture: a plugin whose loading never ends. The server must start
-- without it.
while true do end
