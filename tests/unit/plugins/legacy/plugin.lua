-- Fixture: its table was made before ownership was recorded: adopted.
assert(relais.db.exec("INSERT INTO legacy_t (v) VALUES (1)") == 1)
