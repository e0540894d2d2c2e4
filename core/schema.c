/* The core schema, as numbered migrations. Never edit a released step: add a
 * new one. Times are Unix seconds (UTC) in INTEGER columns; booleans 0/1. */
#include "relais/store.h"

const struct store_migration store_core_migrations[] = {
    {1,
     "CREATE TABLE staff ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  email TEXT,"
     "  phone TEXT,"
     "  role TEXT NOT NULL CHECK (role IN ('trainer','coordinator')),"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     "CREATE TABLE api_tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  role TEXT NOT NULL CHECK (role IN ('admin','coordinator','trainer')),"
     "  staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,"
     "  hash BLOB NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL,"
     "  last_used_at INTEGER,"
     "  revoked_at INTEGER"
     ");"
     "CREATE TABLE venues ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  address TEXT,"
     "  commune TEXT,"
     "  neighborhood TEXT,"
     "  aptic INTEGER NOT NULL DEFAULT 0 CHECK (aptic IN (0,1)),"
     "  accessible INTEGER NOT NULL DEFAULT 0 CHECK (accessible IN (0,1)),"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     "CREATE TABLE beneficiaries ("
     "  id INTEGER PRIMARY KEY,"
     "  first_name TEXT,"            /* NULL once erased */
     "  last_name TEXT,"
     "  phone TEXT,"                 /* E.164 */
     "  email TEXT,"
     "  birth_year INTEGER,"
     "  gender TEXT CHECK (gender IN ('F','M','X')),"
     "  commune TEXT,"
     "  neighborhood TEXT,"
     "  prescriber TEXT,"
     "  external_id TEXT,"
     "  consent_sms INTEGER NOT NULL DEFAULT 0 CHECK (consent_sms IN (0,1)),"
     "  consent_email INTEGER NOT NULL DEFAULT 0 CHECK (consent_email IN (0,1)),"
     "  search_key TEXT,"            /* domain_fold(first last) */
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  erased_at INTEGER"
     ");"
     "CREATE UNIQUE INDEX beneficiaries_external_id ON beneficiaries(external_id)"
     "  WHERE external_id IS NOT NULL;"
     "CREATE INDEX beneficiaries_phone ON beneficiaries(phone) WHERE phone IS NOT NULL;"
     "CREATE TABLE series ("
     "  id INTEGER PRIMARY KEY,"
     "  freq TEXT NOT NULL CHECK (freq IN ('daily','weekly')),"
     "  interval INTEGER NOT NULL CHECK (interval >= 1),"
     "  count INTEGER,"
     "  until INTEGER,"
     "  created_at INTEGER NOT NULL"
     ");"
     "CREATE TABLE sessions ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL CHECK (kind IN ('workshop','permanence','training')),"
     "  title TEXT NOT NULL,"
     "  theme TEXT,"
     "  level INTEGER CHECK (level BETWEEN 1 AND 3),"
     "  venue_id INTEGER REFERENCES venues(id),"
     "  trainer_id INTEGER REFERENCES staff(id),"
     "  starts_at INTEGER NOT NULL,"
     "  ends_at INTEGER NOT NULL,"
     "  capacity INTEGER CHECK (capacity IS NULL OR capacity >= 0),"
     "  slot_minutes INTEGER CHECK (slot_minutes IS NULL OR slot_minutes > 0),"
     "  online INTEGER NOT NULL DEFAULT 0 CHECK (online IN (0,1)),"
     "  status TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled','cancelled')),"
     "  series_id INTEGER REFERENCES series(id),"
     "  parent_id INTEGER REFERENCES sessions(id),"
     "  sequence INTEGER NOT NULL DEFAULT 0,"   /* iCalendar SEQUENCE */
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  CHECK (ends_at > starts_at)"
     ");"
     "CREATE INDEX sessions_starts ON sessions(starts_at, id);"
     "CREATE INDEX sessions_venue ON sessions(venue_id);"
     "CREATE INDEX sessions_trainer ON sessions(trainer_id);"
     "CREATE INDEX sessions_parent ON sessions(parent_id);"
     "CREATE INDEX sessions_series ON sessions(series_id);"
     "CREATE TABLE enrollments ("
     "  id INTEGER PRIMARY KEY,"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries(id),"
     "  parent_id INTEGER REFERENCES enrollments(id),"   /* a training part's */
     "  status TEXT NOT NULL CHECK (status IN"
     "    ('booked','waitlisted','cancelled','attended','absent','excused')),"
     "  slot_start INTEGER,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     /* Enrolling twice is refused while the first enrollment is active. */
     "CREATE UNIQUE INDEX enrollments_once ON enrollments(session_id, beneficiary_id)"
     "  WHERE status <> 'cancelled';"
     /* One person per permanence slot. */
     "CREATE UNIQUE INDEX enrollments_slot ON enrollments(session_id, slot_start)"
     "  WHERE slot_start IS NOT NULL AND status NOT IN ('cancelled','waitlisted');"
     "CREATE INDEX enrollments_session ON enrollments(session_id, status, id);"
     "CREATE INDEX enrollments_beneficiary ON enrollments(beneficiary_id);"
     "CREATE INDEX enrollments_parent ON enrollments(parent_id);"
     /* What happened to a session, for the notification outbox and history. */
     "CREATE TABLE session_changes ("
     "  id INTEGER PRIMARY KEY,"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  at INTEGER NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('created','updated','moved','venue','cancelled')),"
     "  old_starts_at INTEGER, old_ends_at INTEGER, old_venue_id INTEGER,"
     "  new_starts_at INTEGER, new_ends_at INTEGER, new_venue_id INTEGER,"
     "  token_id INTEGER"
     ");"
     "CREATE INDEX session_changes_session ON session_changes(session_id, id);"
     "CREATE TABLE enrollment_events ("
     "  id INTEGER PRIMARY KEY,"
     "  enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     "  at INTEGER NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN"
     "    ('booked','waitlisted','promoted','cancelled','attended','absent','excused')),"
     "  token_id INTEGER"
     ");"
     "CREATE INDEX enrollment_events_enrollment ON enrollment_events(enrollment_id, id);"},
    /* Notifications (core/outbox*.c): the database is the queue. One row per
     * message per channel; the UNIQUE key is what makes a repeated event, a
     * retry or a restart unable to make a second one. idem_key is set right
     * after the insert (it holds the row id) and never changes. */
    {2,
     "CREATE TABLE notifications ("
     "  id INTEGER PRIMARY KEY,"
     "  enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     "  beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries(id),"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  kind TEXT NOT NULL CHECK (kind IN"
     "    ('confirmation','reminder','change','cancellation','promoted','survey')),"
     "  channel TEXT NOT NULL CHECK (channel IN ('sms','email')),"
     "  offset_key INTEGER NOT NULL DEFAULT 0,"  /* reminder offset, change id, or 0 */
     "  target_start INTEGER NOT NULL,"          /* the start the message is about */
     "  due_at INTEGER NOT NULL,"                /* also the next attempt after a retry */
     "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN"
     "    ('pending','sending','sent','delivered','failed','cancelled','suppressed')),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  lease_until INTEGER,"                    /* while 'sending' */
     "  idem_key TEXT UNIQUE,"
     "  segments INTEGER,"
     "  provider_id TEXT,"
     "  error TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  sent_at INTEGER,"
     "  UNIQUE (enrollment_id, kind, offset_key, channel, target_start)"
     ");"
     "CREATE INDEX notifications_due ON notifications(status, channel, due_at);"
     "CREATE INDEX notifications_provider ON notifications(channel, provider_id)"
     "  WHERE provider_id IS NOT NULL;"
     "CREATE INDEX notifications_enrollment ON notifications(enrollment_id, due_at, id);"
     "CREATE INDEX notifications_beneficiary ON notifications(beneficiary_id, status);"
     /* Beneficiary link tokens (core/links.c): only their SHA-256 is kept. */
     "CREATE TABLE links (token_hash BLOB PRIMARY KEY,"
     " purpose TEXT NOT NULL CHECK (purpose IN ('r','s')),"
     " enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     " created_at INTEGER NOT NULL);"},
    /* A session change still to be told to the people booked
     * (core/outbox_fanout.c): written with the change, expanded into
     * notification rows in batches, each advancing AFTER (the last
     * enrollment id done) up to UPTO (the last one booked at the change). */
    {3,
     "CREATE TABLE notification_fanouts ("
     "  id INTEGER PRIMARY KEY,"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  change_id INTEGER NOT NULL,"
     "  kind TEXT NOT NULL CHECK (kind IN ('change','cancellation')),"
     "  message INTEGER NOT NULL,"
     "  reminders INTEGER NOT NULL,"
     "  upto INTEGER NOT NULL,"
     "  after INTEGER NOT NULL DEFAULT 0,"
     "  created_at INTEGER NOT NULL"
     ");"},
    /* The notifications table again, the same columns, keys and indexes,
     * its CHECKs written as chains of '=' instead of IN (…): SQLite builds
     * an IN list of more than two values into a temporary table each time
     * a statement checks it, three per row inserted (kind, and status twice
     * with the upsert) and one per status update, which the fan-out of a
     * big change and the sending of its messages pay thousands of times.
     * SQLite's table rebuild (https://sqlite.org/lang_altertable.html,
     * "making other kinds of table schema changes"), in the migration's
     * transaction: nothing references notifications, nor is there a view or
     * trigger on it, so foreign keys may stay on; the indexes are made
     * again under their names. */
    {4,
     "CREATE TABLE notifications_new ("
     "  id INTEGER PRIMARY KEY,"
     "  enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     "  beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries(id),"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  kind TEXT NOT NULL CHECK (kind = 'confirmation' OR kind = 'reminder'"
     "    OR kind = 'change' OR kind = 'cancellation' OR kind = 'promoted'"
     "    OR kind = 'survey'),"
     "  channel TEXT NOT NULL CHECK (channel = 'sms' OR channel = 'email'),"
     "  offset_key INTEGER NOT NULL DEFAULT 0,"
     "  target_start INTEGER NOT NULL,"
     "  due_at INTEGER NOT NULL,"
     "  status TEXT NOT NULL DEFAULT 'pending' CHECK (status = 'pending'"
     "    OR status = 'sending' OR status = 'sent' OR status = 'delivered'"
     "    OR status = 'failed' OR status = 'cancelled' OR status = 'suppressed'),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  lease_until INTEGER,"
     "  idem_key TEXT UNIQUE,"
     "  segments INTEGER,"
     "  provider_id TEXT,"
     "  error TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  sent_at INTEGER,"
     "  UNIQUE (enrollment_id, kind, offset_key, channel, target_start)"
     ");"
     "INSERT INTO notifications_new (id, enrollment_id, beneficiary_id, session_id, kind,"
     "  channel, offset_key, target_start, due_at, status, attempts, lease_until, idem_key,"
     "  segments, provider_id, error, created_at, updated_at, sent_at)"
     " SELECT id, enrollment_id, beneficiary_id, session_id, kind, channel, offset_key,"
     "  target_start, due_at, status, attempts, lease_until, idem_key, segments,"
     "  provider_id, error, created_at, updated_at, sent_at FROM notifications;"
     "DROP TABLE notifications;"
     "ALTER TABLE notifications_new RENAME TO notifications;"
     "CREATE INDEX notifications_due ON notifications(status, channel, due_at);"
     "CREATE INDEX notifications_provider ON notifications(channel, provider_id)"
     "  WHERE provider_id IS NOT NULL;"
     "CREATE INDEX notifications_enrollment ON notifications(enrollment_id, due_at, id);"
     "CREATE INDEX notifications_beneficiary ON notifications(beneficiary_id, status);"},
    /* The places taken in a session and its waitlist, kept on the session
     * row, since every read of a session (each enrollment reads its
     * session) counted them off the enrollments: a walk of the index over
     * every person booked, thousands in a big workshop. The triggers keep
     * them in the transaction of whatever writes an enrollment. "Taken" is
     * SESSIONS_TAKEN_SQL: every status but cancelled and waitlisted. */
    {5,
     "ALTER TABLE sessions ADD COLUMN taken_n INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE sessions ADD COLUMN waitlisted_n INTEGER NOT NULL DEFAULT 0;"
     "UPDATE sessions SET"
     "  taken_n = (SELECT count(*) FROM enrollments e WHERE e.session_id = sessions.id"
     "    AND e.status NOT IN ('cancelled','waitlisted')),"
     "  waitlisted_n = (SELECT count(*) FROM enrollments e WHERE e.session_id = sessions.id"
     "    AND e.status = 'waitlisted');"
     "CREATE TRIGGER enrollments_count_insert AFTER INSERT ON enrollments"
     "  WHEN NEW.status <> 'cancelled' BEGIN"
     "  UPDATE sessions SET taken_n = taken_n + (NEW.status <> 'waitlisted'),"
     "    waitlisted_n = waitlisted_n + (NEW.status = 'waitlisted') WHERE id = NEW.session_id;"
     " END;"
     "CREATE TRIGGER enrollments_count_update AFTER UPDATE OF session_id, status ON enrollments"
     "  WHEN OLD.status IS NOT NEW.status OR OLD.session_id IS NOT NEW.session_id BEGIN"
     "  UPDATE sessions SET"
     "    taken_n = taken_n - (OLD.status NOT IN ('cancelled','waitlisted')),"
     "    waitlisted_n = waitlisted_n - (OLD.status = 'waitlisted') WHERE id = OLD.session_id;"
     "  UPDATE sessions SET"
     "    taken_n = taken_n + (NEW.status NOT IN ('cancelled','waitlisted')),"
     "    waitlisted_n = waitlisted_n + (NEW.status = 'waitlisted') WHERE id = NEW.session_id;"
     " END;"
     "CREATE TRIGGER enrollments_count_delete AFTER DELETE ON enrollments"
     "  WHEN OLD.status <> 'cancelled' BEGIN"
     "  UPDATE sessions SET taken_n = taken_n - (OLD.status <> 'waitlisted'),"
     "    waitlisted_n = waitlisted_n - (OLD.status = 'waitlisted') WHERE id = OLD.session_id;"
     " END;"},
    /* Which plugin owns which schema object (core/plugins_authz.c): every
     * table, index, view and trigger a plugin's migration creates is
     * recorded here in that migration's transaction, and the SQL
     * authorizer lets a plugin write only what it owns, by this table,
     * never by a name prefix. */
    {6,
     "CREATE TABLE plugin_objects ("
     "  name TEXT PRIMARY KEY COLLATE NOCASE,"
     "  plugin TEXT NOT NULL,"
     "  type TEXT NOT NULL CHECK (type IN ('table','index','view','trigger')),"
     "  created_at INTEGER NOT NULL"
     ");"},
    /* A token may expire (relais token add --expires 90d): checked at
     * every use, with revoked_at, by core/tokens.c. */
    {7,
     "ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;"},
};

const size_t store_core_migrations_n =
    sizeof store_core_migrations / sizeof store_core_migrations[0];
