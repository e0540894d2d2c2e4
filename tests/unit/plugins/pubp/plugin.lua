-- Fixture: publishes pubp_v1_items (see migrations/001_init.sql).
relais.on("own", function()
  assert(#relais.db.query("SELECT secret FROM pubp_all") == 2, "its own view")
  assert(relais.db.exec("INSERT INTO pubp_items (label) VALUES ('trois')") == 1)
end)
