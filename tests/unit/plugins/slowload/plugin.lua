-- Fixture: a plugin whose loading waits on the network (the URL the test put
-- in its table, which the gateway never answers), so that it stays loading;
-- and a "beneficiary.erased" hook it has not registered yet.
local url = relais.db.query("SELECT url FROM slowload_cfg")[1].url
relais.http.request{url = url, timeout = 60000}
relais.on("beneficiary.erased", function() end)
