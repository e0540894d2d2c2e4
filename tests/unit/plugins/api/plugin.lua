-- Fixture: a plugin named like the core's api_tokens. It is not loaded;
-- were it, its hook would delete every token.
relais.on("wipe", function() relais.db.exec("DELETE FROM api_tokens") end)
