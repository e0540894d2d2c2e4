-- Fixture: a view of its own over a core table, the phone numbers no read
-- model shows. Refused at creation (tests/unit/test_authz.c).
CREATE TABLE viewbad_items (id INTEGER PRIMARY KEY);
CREATE VIEW viewbad_phones AS SELECT id, phone FROM beneficiaries;
