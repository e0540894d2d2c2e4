-- Fixture: a read model offered to the others (pubbad_v1_…) over another
-- plugin's table, which would pass pubp's secret on to everyone. Refused
-- at creation (tests/unit/test_authz.c), with the whole step.
CREATE TABLE pubbad_items (id INTEGER PRIMARY KEY, label TEXT);
CREATE VIEW pubbad_v1_others AS SELECT id, secret FROM pubp_items;
