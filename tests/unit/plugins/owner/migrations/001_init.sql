-- Fixture: objects of every kind, owned by the plugin that made them.
CREATE TABLE owner_items (id INTEGER PRIMARY KEY, name TEXT, enrollment_id INTEGER
  REFERENCES enrollments(id) ON DELETE CASCADE);
CREATE INDEX owner_items_name ON owner_items(name);
CREATE VIEW owner_names AS SELECT name FROM owner_items;
CREATE TABLE owner_log (what TEXT);
CREATE TRIGGER owner_items_log AFTER DELETE ON owner_items BEGIN
  INSERT INTO owner_log (what) VALUES ('deleted ' || old.name);
END;
