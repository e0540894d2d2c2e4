-- Fixture: a plugin that publishes a read model of its own table for the
-- others (plugins/API.md, "Plugins' read models"): the label, never the
-- secret. tests/unit/test_readmodel.c.
CREATE TABLE pubp_items (id INTEGER PRIMARY KEY, label TEXT NOT NULL, secret TEXT);
INSERT INTO pubp_items (id, label, secret) VALUES (1, 'un', 's1'), (2, 'deux', 's2');
CREATE VIEW pubp_v1_items AS SELECT id, label FROM pubp_items;
-- Not named as a read model: its own, like its tables.
CREATE VIEW pubp_all AS SELECT id, label, secret FROM pubp_items;
