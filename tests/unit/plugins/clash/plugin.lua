-- Fixture: a route of the same shape as one of "web": refused at load.
relais.route("GET", "/t/hello/{other}", function() return {status = 200} end)
