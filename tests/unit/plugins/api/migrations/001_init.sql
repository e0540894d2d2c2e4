-- Fixture: would name a table of the core's prefix.
CREATE TABLE api_keys (k);
