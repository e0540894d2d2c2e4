-- Test fixture: personal data a plugin keeps about a beneficiary.
CREATE TABLE eraser_notes (
  id INTEGER PRIMARY KEY,
  beneficiary_id INTEGER NOT NULL,
  note TEXT NOT NULL
);
