-- Fixture: a plugin's own table (tests/unit/test_readmodel.c adds a view and
-- a trigger of this plugin that reach a core table, as a careless or hostile
-- migration could).
CREATE TABLE readp_notes (
  id INTEGER PRIMARY KEY,
  extra TEXT
);
-- Where the plugin says its checks all went through.
CREATE TABLE readp_done (what TEXT NOT NULL);
