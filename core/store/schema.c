/* The core schema, as numbered migrations. Never edit a released step: add a
 * new one. Times are Unix seconds (UTC) in INTEGER columns; booleans 0/1. */
#include "store.h"

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
    /* Notifications (core/notify/outbox*.c): the database is the queue. One row per
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
     /* Beneficiary link tokens (core/auth/links.c): only their SHA-256 is kept. */
     "CREATE TABLE links (token_hash BLOB PRIMARY KEY,"
     " purpose TEXT NOT NULL CHECK (purpose IN ('r','s')),"
     " enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     " created_at INTEGER NOT NULL);"},
    /* A session change still to be told to the people booked
     * (core/notify/outbox_fanout.c): written with the change, expanded into
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
    /* The read models of the plugins, API version 1 (plugins/API.md,
     * "Read models"): the only way a plugin reads core data (the authorizer,
     * core/plugin/plugins_views.c). A view of version 1 may gain columns in a later
     * step, never lose or change one; a change that cannot keep that makes
     * relais_v2_… beside them. Plain projections without DISTINCT, GROUP BY
     * or a filter, so SQLite flattens them into the plugin's query and the
     * tables' indexes serve it as they would serve the query on the tables
     * (tests/unit/test_readmodel.c checks the plans of the reports). What
     * identifies a person (last name, phone, e-mail, prescriber) and the
     * secrets (api_tokens, links) are in none of them. */
    {6,
     "CREATE VIEW relais_v1_venues AS SELECT id, name, address, commune, neighborhood,"
     "  aptic, accessible, created_at, updated_at FROM venues;"
     "CREATE VIEW relais_v1_staff AS SELECT id, name, role, created_at, updated_at"
     "  FROM staff;"
     "CREATE VIEW relais_v1_people AS SELECT id, first_name, gender, birth_year, commune,"
     "  neighborhood, external_id, search_key, consent_sms, consent_email, created_at,"
     "  updated_at, erased_at FROM beneficiaries;"
     "CREATE VIEW relais_v1_sessions AS SELECT id, kind, title, theme, level, venue_id,"
     "  trainer_id, starts_at, ends_at, capacity, slot_minutes, online, status, series_id,"
     "  parent_id, sequence, taken_n AS booked, waitlisted_n AS waitlisted, created_at,"
     "  updated_at FROM sessions;"
     "CREATE VIEW relais_v1_enrollments AS SELECT id, session_id, beneficiary_id, parent_id,"
     "  status, slot_start, created_at, updated_at FROM enrollments;"
     "CREATE VIEW relais_v1_notifications AS SELECT id, enrollment_id, beneficiary_id,"
     "  session_id, kind, channel, status, attempts, segments, due_at, sent_at, created_at,"
     "  updated_at FROM notifications;"},
    /* The structures of the territory's network (partners, prescribers,
     * employers), and what the funders' tables need of a beneficiary: who
     * sent them (or employs them), whether they are a resident or a
     * professional being trained, and where they live. name_key is
     * domain_fold(name), for search and for matching a free-text
     * prescriber. The free-text prescribers already stored are turned into
     * organisations by `relais migrate` in C (records_link_prescribers), which
     * can fold accents as SQL cannot. */
    {7,
     "CREATE TABLE organisations ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL,"
     "  name_key TEXT NOT NULL,"
     "  kind TEXT NOT NULL DEFAULT 'other' CHECK (kind IN ('ccas','caf','centre_social',"
     "    'association','france_services','mission_locale','france_travail','bailleur',"
     "    'ecole','mediatheque','commune','departement','other')),"
     "  commune TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     "CREATE INDEX organisations_name_key ON organisations(name_key);"
     "ALTER TABLE beneficiaries ADD COLUMN organisation_id INTEGER REFERENCES organisations(id);"
     "ALTER TABLE beneficiaries ADD COLUMN audience TEXT NOT NULL DEFAULT 'resident'"
     "  CHECK (audience = 'resident' OR audience = 'professional');"
     "ALTER TABLE beneficiaries ADD COLUMN residence TEXT"
     "  CHECK (residence = 'qpv' OR residence = 'qva' OR residence = 'outside');"
     "CREATE INDEX beneficiaries_organisation ON beneficiaries(organisation_id)"
     "  WHERE organisation_id IS NOT NULL;"
     "CREATE INDEX beneficiaries_prescriber ON beneficiaries(prescriber)"
     "  WHERE prescriber IS NOT NULL AND organisation_id IS NULL;"},
    /* Accompaniments: one individual support given to one person (known,
     * or anonymous by gender, age bracket and residence). An anonymous age
     * bracket is kept as its bounds (NULL for an open end), so that a
     * report with other brackets can still place it when it fits, and a
     * change of the configured brackets never makes a stored one unknown.
     * Themes and equipment are rows of their own, for counting by theme;
     * pos keeps the order they were given in. */
    {8,
     "CREATE TABLE accompaniments ("
     "  id INTEGER PRIMARY KEY,"
     "  beneficiary_id INTEGER REFERENCES beneficiaries(id),"
     "  anon_gender TEXT CHECK (anon_gender = 'F' OR anon_gender = 'M' OR anon_gender = 'X'),"
     "  anon_age_min INTEGER,"
     "  anon_age_max INTEGER,"
     "  anon_residence TEXT CHECK (anon_residence = 'qpv' OR anon_residence = 'qva'"
     "    OR anon_residence = 'outside'),"
     "  venue_id INTEGER REFERENCES venues(id),"
     "  staff_id INTEGER REFERENCES staff(id),"
     "  session_id INTEGER REFERENCES sessions(id),"
     "  started_at INTEGER NOT NULL,"
     "  minutes INTEGER NOT NULL CHECK (minutes BETWEEN 1 AND 480),"
     "  modality TEXT NOT NULL CHECK (modality = 'on_site' OR modality = 'phone'"
     "    OR modality = 'home' OR modality = 'remote'),"
     "  procedure_operator TEXT,"
     "  procedure_done INTEGER CHECK (procedure_done IN (0,1)),"
     "  autonomy INTEGER CHECK (autonomy BETWEEN 1 AND 3),"
     "  referred_to INTEGER REFERENCES organisations(id),"
     "  pass TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  CHECK (beneficiary_id IS NULL OR (anon_gender IS NULL AND anon_age_min IS NULL"
     "    AND anon_age_max IS NULL AND anon_residence IS NULL)),"
     "  CHECK ((procedure_operator IS NULL) = (procedure_done IS NULL))"
     ");"
     "CREATE INDEX accompaniments_started ON accompaniments(started_at, id);"
     "CREATE INDEX accompaniments_beneficiary ON accompaniments(beneficiary_id, started_at)"
     "  WHERE beneficiary_id IS NOT NULL;"
     "CREATE INDEX accompaniments_staff ON accompaniments(staff_id, started_at);"
     "CREATE INDEX accompaniments_venue ON accompaniments(venue_id, started_at);"
     "CREATE INDEX accompaniments_session ON accompaniments(session_id)"
     "  WHERE session_id IS NOT NULL;"
     "CREATE INDEX accompaniments_referred ON accompaniments(referred_to)"
     "  WHERE referred_to IS NOT NULL;"
     "CREATE TABLE accompaniment_themes ("
     "  accompaniment_id INTEGER NOT NULL REFERENCES accompaniments(id) ON DELETE CASCADE,"
     "  pos INTEGER NOT NULL,"
     "  theme TEXT NOT NULL,"
     "  PRIMARY KEY (accompaniment_id, theme)"
     ");"
     "CREATE INDEX accompaniment_themes_theme ON accompaniment_themes(theme);"
     "CREATE TABLE accompaniment_equipment ("
     "  accompaniment_id INTEGER NOT NULL REFERENCES accompaniments(id) ON DELETE CASCADE,"
     "  pos INTEGER NOT NULL,"
     "  equipment TEXT NOT NULL,"
     "  PRIMARY KEY (accompaniment_id, equipment)"
     ");"},
    /* Sessions: why one was cancelled, and its walk-ins (people who came
     * without being registered), counted anonymously by group; the total
     * is kept on the session row, written with the groups, so that reading
     * a session costs no extra query. */
    {9,
     "ALTER TABLE sessions ADD COLUMN cancel_reason TEXT;"
     "ALTER TABLE sessions ADD COLUMN headcount INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE session_headcounts ("
     "  id INTEGER PRIMARY KEY,"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
     "  gender TEXT CHECK (gender = 'F' OR gender = 'M' OR gender = 'X'),"
     "  age_min INTEGER,"
     "  age_max INTEGER,"
     "  residence TEXT CHECK (residence = 'qpv' OR residence = 'qva' OR residence = 'outside'),"
     "  n INTEGER NOT NULL CHECK (n > 0)"
     ");"
     "CREATE INDEX session_headcounts_session ON session_headcounts(session_id, id);"
     "CREATE INDEX sessions_cancelled ON sessions(starts_at) WHERE status = 'cancelled';"},
    /* The network's coordination time (steering committees, working
     * groups…), kept apart from services to people. date is a local date
     * "YYYY-MM-DD", which sorts as it reads. */
    {10,
     "CREATE TABLE meetings ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL CHECK (kind IN ('steering_committee','technical_committee',"
     "    'working_group','network','professional_training','other')),"
     "  title TEXT NOT NULL,"
     "  date TEXT NOT NULL,"
     "  attendees INTEGER CHECK (attendees >= 0),"
     "  minutes INTEGER CHECK (minutes BETWEEN 1 AND 1440),"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     "CREATE INDEX meetings_date ON meetings(date, id);"
     "CREATE TABLE meeting_organisations ("
     "  meeting_id INTEGER NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,"
     "  organisation_id INTEGER NOT NULL REFERENCES organisations(id),"
     "  PRIMARY KEY (meeting_id, organisation_id)"
     ");"
     "CREATE INDEX meeting_organisations_organisation"
     "  ON meeting_organisations(organisation_id);"},
    /* Devices lent to people who have none, their loans, and the devices
     * used in a session. One open loan per device (the partial unique
     * index); dates are local dates "YYYY-MM-DD". A device's venue may be
     * deleted (the device stays, unplaced); a device with loans or uses may
     * not (their history is what the funders count). */
    {11,
     "CREATE TABLE equipment ("
     "  id INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL CHECK (kind IN ('computer','tablet','smartphone','other')),"
     "  label TEXT NOT NULL,"
     "  venue_id INTEGER REFERENCES venues(id) ON DELETE SET NULL,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ");"
     "CREATE INDEX equipment_venue ON equipment(venue_id);"
     "CREATE TABLE loans ("
     "  id INTEGER PRIMARY KEY,"
     "  equipment_id INTEGER NOT NULL REFERENCES equipment(id),"
     "  beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries(id),"
     "  from_date TEXT NOT NULL,"
     "  due_date TEXT,"
     "  returned_on TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  CHECK (due_date IS NULL OR due_date >= from_date),"
     "  CHECK (returned_on IS NULL OR returned_on >= from_date)"
     ");"
     "CREATE UNIQUE INDEX loans_open ON loans(equipment_id) WHERE returned_on IS NULL;"
     "CREATE INDEX loans_equipment ON loans(equipment_id, from_date);"
     "CREATE INDEX loans_beneficiary ON loans(beneficiary_id, from_date);"
     "CREATE INDEX loans_from ON loans(from_date, id);"
     "CREATE TABLE session_equipment ("
     "  session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
     "  equipment_id INTEGER NOT NULL REFERENCES equipment(id),"
     "  PRIMARY KEY (session_id, equipment_id)"
     ");"
     "CREATE INDEX session_equipment_equipment ON session_equipment(equipment_id);"},
    /* Notification kind 'waitlisted' (a person put on the waitlist is told
     * so): the notifications table rebuilt as in step 4, its kind CHECK
     * holding the new kind; same columns, keys and indexes. The read model
     * relais_v1_notifications (step 6) selects from it: SQLite refuses to
     * rename a table while a view names a table that is gone, so the view
     * is dropped first and made again, word for word, after the rename. No
     * trigger is on notifications, and nothing references it. */
    {12,
     "DROP VIEW relais_v1_notifications;"
     "CREATE TABLE notifications_new ("
     "  id INTEGER PRIMARY KEY,"
     "  enrollment_id INTEGER NOT NULL REFERENCES enrollments(id),"
     "  beneficiary_id INTEGER NOT NULL REFERENCES beneficiaries(id),"
     "  session_id INTEGER NOT NULL REFERENCES sessions(id),"
     "  kind TEXT NOT NULL CHECK (kind = 'confirmation' OR kind = 'reminder'"
     "    OR kind = 'change' OR kind = 'cancellation' OR kind = 'promoted'"
     "    OR kind = 'survey' OR kind = 'waitlisted'),"
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
     "CREATE INDEX notifications_beneficiary ON notifications(beneficiary_id, status);"
     "CREATE VIEW relais_v1_notifications AS SELECT id, enrollment_id, beneficiary_id,"
     "  session_id, kind, channel, status, attempts, segments, due_at, sent_at, created_at,"
     "  updated_at FROM notifications;"},
    /* A venue's phone number (E.164), shown on the beneficiaries' pages. */
    {13,
     "ALTER TABLE venues ADD COLUMN phone TEXT;"},
    /* The enrollments one request made in a whole series share batch_id (the
     * id of the first of them), so that the person gets one confirmation
     * (or one waitlist message) for all of their dates. */
    {14,
     "ALTER TABLE enrollments ADD COLUMN batch_id INTEGER;"
     "CREATE INDEX enrollments_batch ON enrollments(batch_id) WHERE batch_id IS NOT NULL;"},
    /* Staff sign-in (core/auth/auth*.c): an Argon2id password per staff member,
     * sign-in sessions and set-password invitations, of which only the
     * SHA-256 of the secret is kept. A staff member's sessions and
     * invitations go with them. The e-mail one signs in with is unique
     * among those who have a password. */
    {15,
     "ALTER TABLE staff ADD COLUMN password_hash TEXT;"
     "ALTER TABLE staff ADD COLUMN password_set_at INTEGER;"
     "CREATE UNIQUE INDEX staff_login_email ON staff(lower(email))"
     "  WHERE password_hash IS NOT NULL;"
     "CREATE TABLE staff_sessions ("
     "  id INTEGER PRIMARY KEY,"
     "  staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,"
     "  hash BLOB NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL,"
     "  last_seen_at INTEGER NOT NULL,"
     "  expires_at INTEGER NOT NULL,"         /* absolute end */
     "  revoked_at INTEGER"
     ");"
     "CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);"
     "CREATE TABLE staff_invites ("
     "  id INTEGER PRIMARY KEY,"
     "  staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,"
     "  hash BLOB NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL,"
     "  expires_at INTEGER NOT NULL,"
     "  used_at INTEGER"
     ");"
     "CREATE INDEX staff_invites_staff ON staff_invites(staff_id);"},
    /* The people booked whose attendance is not marked yet, kept on the
     * session row with the counts of step 5 (the session's "unmarked": the
     * console's « présences à saisir »), so that listing sessions does not
     * count them one session at a time. The three triggers of step 5 are
     * made again, keeping both counts. */
    {16,
     "ALTER TABLE sessions ADD COLUMN booked_n INTEGER NOT NULL DEFAULT 0;"
     "UPDATE sessions SET booked_n = (SELECT count(*) FROM enrollments e"
     "  WHERE e.session_id = sessions.id AND e.status = 'booked');"
     "DROP TRIGGER enrollments_count_insert;"
     "DROP TRIGGER enrollments_count_update;"
     "DROP TRIGGER enrollments_count_delete;"
     "CREATE TRIGGER enrollments_count_insert AFTER INSERT ON enrollments"
     "  WHEN NEW.status <> 'cancelled' BEGIN"
     "  UPDATE sessions SET taken_n = taken_n + (NEW.status <> 'waitlisted'),"
     "    waitlisted_n = waitlisted_n + (NEW.status = 'waitlisted'),"
     "    booked_n = booked_n + (NEW.status = 'booked') WHERE id = NEW.session_id;"
     " END;"
     "CREATE TRIGGER enrollments_count_update AFTER UPDATE OF session_id, status ON enrollments"
     "  WHEN OLD.status IS NOT NEW.status OR OLD.session_id IS NOT NEW.session_id BEGIN"
     "  UPDATE sessions SET"
     "    taken_n = taken_n - (OLD.status NOT IN ('cancelled','waitlisted')),"
     "    waitlisted_n = waitlisted_n - (OLD.status = 'waitlisted'),"
     "    booked_n = booked_n - (OLD.status = 'booked') WHERE id = OLD.session_id;"
     "  UPDATE sessions SET"
     "    taken_n = taken_n + (NEW.status NOT IN ('cancelled','waitlisted')),"
     "    waitlisted_n = waitlisted_n + (NEW.status = 'waitlisted'),"
     "    booked_n = booked_n + (NEW.status = 'booked') WHERE id = NEW.session_id;"
     " END;"
     "CREATE TRIGGER enrollments_count_delete AFTER DELETE ON enrollments"
     "  WHEN OLD.status <> 'cancelled' BEGIN"
     "  UPDATE sessions SET taken_n = taken_n - (OLD.status <> 'waitlisted'),"
     "    waitlisted_n = waitlisted_n - (OLD.status = 'waitlisted'),"
     "    booked_n = booked_n - (OLD.status = 'booked') WHERE id = OLD.session_id;"
     " END;"},
    /* Which plugin owns which schema object (core/plugin/plugins_authz.c): every
     * table, index, view and trigger a plugin's migration creates is
     * recorded here in that migration's transaction, and the SQL
     * authorizer lets a plugin write only what it owns, by this table,
     * never by a name prefix. */
    {17,
     "CREATE TABLE plugin_objects ("
     "  name TEXT PRIMARY KEY COLLATE NOCASE,"
     "  plugin TEXT NOT NULL,"
     "  type TEXT NOT NULL CHECK (type IN ('table','index','view','trigger')),"
     "  created_at INTEGER NOT NULL"
     ");"},
    /* A token may expire (relais token add --expires 90d): checked at
     * every use, with revoked_at, by core/auth/tokens.c. */
    {18,
     "ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;"},
    /* The read models of the programme's records (steps 7 to 11), API
     * version 1, under step 6's rules: plain projections that SQLite
     * flattens into a plugin's query, nothing that identifies a person
     * beyond what relais_v1_people showed. relais_v1_people and
     * relais_v1_sessions gain columns (a view of version 1 may gain
     * columns, never lose or change one): SQLite has no ALTER VIEW, so they
     * are made again with their old columns first. The reports plugin
     * counts from these (plugins/reports/queries.lua). */
    {19,
     "DROP VIEW relais_v1_people;"
     "CREATE VIEW relais_v1_people AS SELECT id, first_name, gender, birth_year, commune,"
     "  neighborhood, external_id, search_key, consent_sms, consent_email, created_at,"
     "  updated_at, erased_at, organisation_id, audience, residence FROM beneficiaries;"
     "DROP VIEW relais_v1_sessions;"
     "CREATE VIEW relais_v1_sessions AS SELECT id, kind, title, theme, level, venue_id,"
     "  trainer_id, starts_at, ends_at, capacity, slot_minutes, online, status, series_id,"
     "  parent_id, sequence, taken_n AS booked, waitlisted_n AS waitlisted, created_at,"
     "  updated_at, cancel_reason, headcount FROM sessions;"
     "CREATE VIEW relais_v1_organisations AS SELECT id, name, kind, commune, created_at,"
     "  updated_at FROM organisations;"
     "CREATE VIEW relais_v1_accompaniments AS SELECT id, beneficiary_id, anon_gender,"
     "  anon_age_min, anon_age_max, anon_residence, venue_id, staff_id, session_id,"
     "  started_at, minutes, modality, procedure_operator, procedure_done, autonomy,"
     "  referred_to, pass, created_at, updated_at FROM accompaniments;"
     "CREATE VIEW relais_v1_accompaniment_themes AS SELECT accompaniment_id, pos, theme"
     "  FROM accompaniment_themes;"
     "CREATE VIEW relais_v1_accompaniment_equipment AS SELECT accompaniment_id, pos,"
     "  equipment FROM accompaniment_equipment;"
     "CREATE VIEW relais_v1_headcounts AS SELECT id, session_id, gender, age_min, age_max,"
     "  residence, n FROM session_headcounts;"
     "CREATE VIEW relais_v1_meetings AS SELECT id, kind, title, date, attendees, minutes,"
     "  created_at, updated_at FROM meetings;"
     "CREATE VIEW relais_v1_meeting_organisations AS SELECT meeting_id, organisation_id"
     "  FROM meeting_organisations;"
     "CREATE VIEW relais_v1_equipment AS SELECT id, kind, label, venue_id, created_at,"
     "  updated_at FROM equipment;"
     "CREATE VIEW relais_v1_loans AS SELECT id, equipment_id, beneficiary_id, from_date,"
     "  due_date, returned_on, created_at, updated_at FROM loans;"
     "CREATE VIEW relais_v1_session_equipment AS SELECT session_id, equipment_id"
     "  FROM session_equipment;"},
    /* What the activity report needs found by index (issue 16): the
     * messages about the sessions of a range walked every sent row through
     * notifications_due and filtered on the session afterwards. The index
     * holds every column the report reads of a message, so that it reads
     * the index alone (plugins/reports/queries.lua). */
    {20,
     "CREATE INDEX notifications_session ON notifications(session_id, kind, status, channel,"
     "  segments, enrollment_id);"},
    /* The accompaniments that cite a pass, found by its number (the pass
     * plugin gives a pass the context of the accompaniment citing it, and
     * a book's page lists them): an index, as every other key a plugin
     * looks accompaniments up by. */
    {21,
     "CREATE INDEX accompaniments_pass ON accompaniments(pass);"},
    /* Search by name from an index (issue 16): instr() over search_key read
     * every person's row. beneficiary_grams holds every three-byte window
     * of each folded key; a query word of three bytes or more can only be
     * in the keys that hold all of its windows, so the search walks the
     * rarest window's list and checks the others by key. The counts tell
     * which window is rarest. Triggers keep both in step with search_key
     * in the writer's transaction, whoever writes it; an erasure clears
     * search_key, so the person's windows go with it (secure_delete zeroes
     * them) and a window nobody else holds leaves the counts too.
     * search_grams_pos numbers the windows: triggers cannot use a CTE. */
    {22,
     "CREATE TABLE search_grams_pos (k INTEGER PRIMARY KEY);"
     "INSERT INTO search_grams_pos (k) WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL"
     "  SELECT k + 1 FROM n WHERE k < 400) SELECT k FROM n;"
     "CREATE TABLE beneficiary_grams ("
     "  gram BLOB NOT NULL,"
     "  beneficiary_id INTEGER NOT NULL,"
     "  PRIMARY KEY (gram, beneficiary_id)"
     ") WITHOUT ROWID;"
     "CREATE TABLE beneficiary_gram_counts ("
     "  gram BLOB PRIMARY KEY,"
     "  n INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE TRIGGER beneficiary_grams_counted AFTER INSERT ON beneficiary_grams BEGIN"
     "  INSERT INTO beneficiary_gram_counts (gram, n) VALUES (new.gram, 1)"
     "    ON CONFLICT (gram) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER beneficiary_grams_uncounted AFTER DELETE ON beneficiary_grams BEGIN"
     "  UPDATE beneficiary_gram_counts SET n = n - 1 WHERE gram = old.gram;"
     "  DELETE FROM beneficiary_gram_counts WHERE gram = old.gram AND n <= 0;"
     "END;"
     "CREATE TRIGGER beneficiaries_grams_insert AFTER INSERT ON beneficiaries"
     "  WHEN new.search_key IS NOT NULL BEGIN"
     "  INSERT OR IGNORE INTO beneficiary_grams (gram, beneficiary_id)"
     "    SELECT substr(CAST(new.search_key AS BLOB), k, 3), new.id FROM search_grams_pos"
     "    WHERE k <= length(CAST(new.search_key AS BLOB)) - 2;"
     "END;"
     "CREATE TRIGGER beneficiaries_grams_update AFTER UPDATE OF search_key ON beneficiaries"
     "  WHEN old.search_key IS NOT new.search_key BEGIN"
     "  DELETE FROM beneficiary_grams WHERE beneficiary_id = old.id"
     "    AND gram IN (SELECT substr(CAST(old.search_key AS BLOB), k, 3) FROM search_grams_pos"
     "                 WHERE k <= length(CAST(old.search_key AS BLOB)) - 2);"
     "  INSERT OR IGNORE INTO beneficiary_grams (gram, beneficiary_id)"
     "    SELECT substr(CAST(new.search_key AS BLOB), k, 3), new.id FROM search_grams_pos"
     "    WHERE new.search_key IS NOT NULL AND k <= length(CAST(new.search_key AS BLOB)) - 2;"
     "END;"
     "CREATE TRIGGER beneficiaries_grams_delete AFTER DELETE ON beneficiaries"
     "  WHEN old.search_key IS NOT NULL BEGIN"
     "  DELETE FROM beneficiary_grams WHERE beneficiary_id = old.id"
     "    AND gram IN (SELECT substr(CAST(old.search_key AS BLOB), k, 3) FROM search_grams_pos"
     "                 WHERE k <= length(CAST(old.search_key AS BLOB)) - 2);"
     "END;"
     "INSERT OR IGNORE INTO beneficiary_grams (gram, beneficiary_id)"
     "  SELECT substr(CAST(b.search_key AS BLOB), p.k, 3), b.id FROM beneficiaries b"
     "  JOIN search_grams_pos p ON p.k <= length(CAST(b.search_key AS BLOB)) - 2"
     "  WHERE b.search_key IS NOT NULL;"},
    /* /metrics counted the notifications with a GROUP BY over all of them
     * on the event loop at every scrape (4 s at 100x a territory, issue
     * 16). The counts are kept instead, by triggers in the transaction that
     * writes the notification, whoever writes it; a scrape reads a few
     * rows. core/notify/outbox_api.c renders them; tests/unit/test_query_plans.c
     * checks them against a full recount. A rebuild of notifications in a
     * later step must make these triggers again. */
    {23,
     "CREATE TABLE notification_counts ("
     "  kind TEXT NOT NULL,"
     "  channel TEXT NOT NULL,"
     "  status TEXT NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  PRIMARY KEY (kind, channel, status)"
     ") WITHOUT ROWID;"
     "INSERT INTO notification_counts (kind, channel, status, n)"
     "  SELECT kind, channel, status, count(*) FROM notifications GROUP BY 1, 2, 3;"
     "CREATE TRIGGER notifications_counted AFTER INSERT ON notifications BEGIN"
     "  INSERT INTO notification_counts (kind, channel, status, n)"
     "    VALUES (new.kind, new.channel, new.status, 1)"
     "    ON CONFLICT (kind, channel, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER notifications_recounted AFTER UPDATE OF kind, channel, status"
     "  ON notifications WHEN old.kind IS NOT new.kind OR old.channel IS NOT new.channel"
     "  OR old.status IS NOT new.status BEGIN"
     "  UPDATE notification_counts SET n = n - 1"
     "    WHERE kind = old.kind AND channel = old.channel AND status = old.status;"
     "  INSERT INTO notification_counts (kind, channel, status, n)"
     "    VALUES (new.kind, new.channel, new.status, 1)"
     "    ON CONFLICT (kind, channel, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER notifications_uncounted AFTER DELETE ON notifications BEGIN"
     "  UPDATE notification_counts SET n = n - 1"
     "    WHERE kind = old.kind AND channel = old.channel AND status = old.status;"
     "END;"},
    /* The gauges of core/ops/ops.c the same way as step 23 (a GROUP BY over a
     * million enrollments took 2 s of the loop at 100x a territory):
     * sessions and enrollments by status, the living beneficiaries (status
     * 'living'), kept by triggers in the writers' transactions and checked
     * against a recount in tests/unit/test_query_plans.c. */
    {24,
     "CREATE TABLE record_counts ("
     "  name TEXT NOT NULL,"
     "  status TEXT NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  PRIMARY KEY (name, status)"
     ") WITHOUT ROWID;"
     "INSERT INTO record_counts (name, status, n)"
     "  SELECT 'sessions', status, count(*) FROM sessions GROUP BY status"
     "  UNION ALL SELECT 'enrollments', status, count(*) FROM enrollments GROUP BY status"
     "  UNION ALL SELECT 'beneficiaries', 'living', count(*) FROM beneficiaries"
     "    WHERE erased_at IS NULL;"
     "CREATE TRIGGER sessions_counted AFTER INSERT ON sessions BEGIN"
     "  INSERT INTO record_counts (name, status, n) VALUES ('sessions', new.status, 1)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER sessions_recounted AFTER UPDATE OF status ON sessions"
     "  WHEN old.status IS NOT new.status BEGIN"
     "  UPDATE record_counts SET n = n - 1 WHERE name = 'sessions' AND status = old.status;"
     "  INSERT INTO record_counts (name, status, n) VALUES ('sessions', new.status, 1)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER sessions_uncounted AFTER DELETE ON sessions BEGIN"
     "  UPDATE record_counts SET n = n - 1 WHERE name = 'sessions' AND status = old.status;"
     "END;"
     "CREATE TRIGGER enrollments_counted AFTER INSERT ON enrollments BEGIN"
     "  INSERT INTO record_counts (name, status, n) VALUES ('enrollments', new.status, 1)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER enrollments_recounted AFTER UPDATE OF status ON enrollments"
     "  WHEN old.status IS NOT new.status BEGIN"
     "  UPDATE record_counts SET n = n - 1 WHERE name = 'enrollments' AND status = old.status;"
     "  INSERT INTO record_counts (name, status, n) VALUES ('enrollments', new.status, 1)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER enrollments_uncounted AFTER DELETE ON enrollments BEGIN"
     "  UPDATE record_counts SET n = n - 1 WHERE name = 'enrollments' AND status = old.status;"
     "END;"
     "CREATE TRIGGER beneficiaries_counted AFTER INSERT ON beneficiaries"
     "  WHEN new.erased_at IS NULL BEGIN"
     "  INSERT INTO record_counts (name, status, n) VALUES ('beneficiaries', 'living', 1)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER beneficiaries_recounted AFTER UPDATE OF erased_at ON beneficiaries"
     "  WHEN (old.erased_at IS NULL) <> (new.erased_at IS NULL) BEGIN"
     "  INSERT INTO record_counts (name, status, n) VALUES ('beneficiaries', 'living',"
     "    CASE WHEN new.erased_at IS NULL THEN 1 ELSE -1 END)"
     "    ON CONFLICT (name, status) DO UPDATE SET n = n + excluded.n;"
     "END;"
     "CREATE TRIGGER beneficiaries_uncounted AFTER DELETE ON beneficiaries"
     "  WHEN old.erased_at IS NULL BEGIN"
     "  UPDATE record_counts SET n = n - 1 WHERE name = 'beneficiaries' AND status = 'living';"
     "END;"},
};

const size_t store_core_migrations_n =
    sizeof store_core_migrations / sizeof store_core_migrations[0];
