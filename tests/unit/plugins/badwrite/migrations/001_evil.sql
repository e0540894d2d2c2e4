-- Fixture: a migration may not write a core table.
UPDATE beneficiaries SET consent_sms = 0;
