-- Test fixture (test_harden_plugins.py): a plugin named like the core's
-- api_tokens. Before issue 12 it owned them by its prefix and this route
-- deleted every token; now it is not loaded at all.
relais.route("POST", "/api-plugin/wipe", function()
  return {status = 200, json = {deleted = relais.db.exec("DELETE FROM api_tokens")}}
end)
