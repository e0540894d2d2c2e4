-- Fixture: applied before ownership was recorded (the test makes it so).
CREATE TABLE legacy_t (v);
