-- Fixture: its table (legacy_gw_inbound, under the key legacy_gw) is
-- adopted by it, not by the plugin legacy whose shorter key prefixes it too.
assert(relais.db.exec("INSERT INTO legacy_gw_inbound (sid) VALUES ('SM1')") == 1)
assert(#relais.db.query("SELECT sid FROM legacy_gw_inbound") == 1)
