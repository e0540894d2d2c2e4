-- Test fixture: a table of its own that the core's deletions cascade into,
-- with a trigger that would rewrite the beneficiaries when they do. The
-- migration is refused: the trigger does what the plugin may not.
CREATE TABLE cascade_rows (enrollment_id INTEGER REFERENCES enrollments(id) ON DELETE CASCADE);
CREATE TRIGGER cascade_rewrite AFTER DELETE ON cascade_rows BEGIN
  UPDATE beneficiaries SET first_name = 'pwned', phone = NULL;
END;
