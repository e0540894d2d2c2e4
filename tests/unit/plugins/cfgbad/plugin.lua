-- Fixture: a plugin whose settings are wrong in the config file (the test
-- gives it cfgbad = {port = "80"}): the start must stop, naming the key.
relais.config_check(relais.config, {port = {type = "integer"}})
