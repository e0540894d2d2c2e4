-- Fixture: a table of its own, cascaded from a core table, whose trigger
-- would rewrite the beneficiaries when the core deletes an enrollment.
CREATE TABLE trig_x (enrollment_id INTEGER REFERENCES enrollments(id) ON DELETE CASCADE);
CREATE TRIGGER trig_rewrite AFTER DELETE ON trig_x BEGIN
  UPDATE beneficiaries SET first_name = 'pwned';
END;
