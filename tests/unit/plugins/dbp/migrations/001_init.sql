-- Fixture: a plugin's own table.
CREATE TABLE dbp_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  n INTEGER
);
CREATE INDEX dbp_items_name ON dbp_items(name);
