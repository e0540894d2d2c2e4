-- Fixture: a gateway-like plugin (a '-' in its name) whose table was made
-- before ownership was recorded (the test makes it so).
CREATE TABLE legacy_gw_inbound (sid TEXT PRIMARY KEY);
