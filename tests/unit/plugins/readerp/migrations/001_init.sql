-- Fixture: the readerp plugin's own rows (tests/unit/test_plugins_read.c).
CREATE TABLE readerp_items (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL
);
INSERT INTO readerp_items (name) VALUES ('a'), ('b'), ('c');
