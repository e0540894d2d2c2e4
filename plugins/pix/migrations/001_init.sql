-- Pix results of beneficiaries, imported from Pix Orga campaign exports.
-- One row per participation: a participant's shared (assessment) or sent
-- (profile collection) results in one campaign at one date. The unique key
-- (campaign_id, beneficiary_id, date) makes re-importing a file a no-op:
-- Pix lets a participant take part again in the same campaign ("envoi
-- multiple"), and each new participation has its own sharing date.
CREATE TABLE pix_participations (
  id INTEGER PRIMARY KEY,
  beneficiary_id INTEGER NOT NULL,     -- beneficiaries(id)
  kind TEXT NOT NULL CHECK (kind IN ('assessment', 'profiles')),
  campaign_id TEXT NOT NULL,           -- Pix's "ID Campagne"
  campaign TEXT NOT NULL,              -- "Nom de la campagne"
  campaign_code TEXT,                  -- "Code", absent from older exports
  date INTEGER NOT NULL,               -- shared / sent, Unix seconds UTC
  total_pix INTEGER,                   -- profile collection only
  mastery REAL,                        -- assessment only, 0..1
  imported_at INTEGER NOT NULL,
  UNIQUE (campaign_id, beneficiary_id, date)
);
CREATE INDEX pix_participations_beneficiary ON pix_participations(beneficiary_id, date);

-- Each competence of a participation, in the order of the export.
CREATE TABLE pix_competences (
  participation_id INTEGER NOT NULL REFERENCES pix_participations(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  code TEXT,                           -- "1.1"…"5.2"; NULL for a name outside the framework
  name TEXT NOT NULL,
  level INTEGER CHECK (level IS NULL OR level BETWEEN 0 AND 8),
  pix INTEGER CHECK (pix IS NULL OR pix >= 0),
  mastery REAL,                        -- assessment campaigns: 0..1
  PRIMARY KEY (participation_id, position)
);
