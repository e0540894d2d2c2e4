-- Fixture: what each hook of the xlsxp plugin got (tests/unit/test_xlsx.c).
CREATE TABLE xlsxp_out (
  id INTEGER PRIMARY KEY,
  tag TEXT NOT NULL,
  ok INTEGER NOT NULL,
  data BLOB
);
