-- Fixture: a trigger on a core table is refused.
CREATE TABLE badmig_x (a);
CREATE TRIGGER badmig_t AFTER INSERT ON venues BEGIN DELETE FROM venues; END;
