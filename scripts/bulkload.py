"""scripts/bulkload.py — writes what the API writes, straight into the tables,
for databases too big to build request by request (scripts/bench-scale).

Each method of Loader writes the rows that one API call writes when its
clock reads AT, with the same columns, the same derived values and through
the same triggers (the sessions' counters, the search's windows, the
notification counts): a person, a session (and its "created" change), an
enrollment (its "booked" event and the messages the outbox queues for it),
attendance (the "attended" event and the survey), an accompaniment (its
themes), a session's walk-ins; and the pass plugin's (plugins/pass): an
order, a book and its passes, a handover, a pass spent at a venue. tests/integration/test_bulkload.py makes a
small territory both ways and compares every table, column by column, but
the clock's and the random ones (ids of tokens, the random part of
idem_key).

The configuration it reproduces is scripts/bench-scale's: a confirmation
and reminders 48 h and 2 h before, no quiet hours, the survey 30 min after
the end; SMS and e-mail for everyone (suppressed as the outbox says when
the person has no consent or address). Loader.sent() then does what the
dispatcher does with a message sent through a gateway (status, attempts,
segments, provider id, sent_at), for the history.

Personal data is made up. Imported by path (sys.path), not installed.
"""
import os
import sqlite3
import unicodedata

REMINDERS = (48 * 3600, 2 * 3600)
SURVEY_AFTER = 30 * 60

# domain_fold's separators and special letters (core/domain/domain_util.c).
_SEPARATORS = set(" \t\n\r\v\f-'\u00a0\u2009\u202f\u2010\u2011\u2013\u2014\u2018\u2019"
                  "\u02bc")
_SPECIAL = {"æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ß": "ss", "ẞ": "ss", "ð": "d",
            "Ð": "d", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l",
            "ı": "i", "ĳ": "ij", "Ĳ": "ij", "ŉ": "n", "ŋ": "n", "Ŋ": "n", "ſ": "s",
            "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t", "ĸ": "k", "ŀ": "l", "Ŀ": "l"}


def fold(s):
    """domain_fold for the names the loader makes (Latin letters): lower
    case, accents off, separators to one space, trimmed."""
    out, space = [], False
    for ch in s:
        if ch in _SEPARATORS:
            space = bool(out)
            continue
        rep = _SPECIAL.get(ch)
        if rep is None:
            base = unicodedata.normalize("NFD", ch)[0]
            if 0x300 <= ord(ch) <= 0x36F:
                continue
            rep = (ch.lower() if ch < "\x80" else base.lower()
                   if 0xC0 <= ord(ch) <= 0x17F and base < "\x80" else ch)
        if space:
            out.append(" ")
            space = False
        out.append(rep)
    return "".join(out)


def is_mobile(phone):
    """phone_is_mobile for French numbers: +336…, +337…."""
    return phone is not None and (phone.startswith("+336") or phone.startswith("+337"))


class Loader:
    """Writes into the database at PATH (migrated, the plugins' tables made).
    TOKEN_ID is the API token the rows name as their author. commit() at the
    end (one transaction: the loader is for empty databases)."""

    def __init__(self, path, token_id=1):
        self.con = sqlite3.connect(path)
        self.con.execute("PRAGMA foreign_keys = ON")
        self.con.execute("PRAGMA synchronous = OFF")
        # One big transaction: a cache that holds it spares spilling pages to
        # the WAL again and again (the loader's process, not the server's).
        self.con.execute("PRAGMA cache_size = -524288")
        self.cur = self.con.cursor()
        self.token = token_id
        self._sessions = {}
        self._people = {}
        self._places = {}

    def commit(self):
        self.con.commit()

    def close(self):
        self.con.commit()
        self.con.close()

    # --- the records ----------------------------------------------------------

    def venue(self, at, name, commune=None):
        self.cur.execute("INSERT INTO venues (name, commune, aptic, accessible, created_at,"
                         " updated_at) VALUES (?, ?, 0, 0, ?, ?)", (name, commune, at, at))
        return self.cur.lastrowid

    def staff(self, at, name, role="trainer"):
        self.cur.execute("INSERT INTO staff (name, role, created_at, updated_at)"
                         " VALUES (?, ?, ?, ?)", (name, role, at, at))
        return self.cur.lastrowid

    def organisation(self, at, name, kind):
        self.cur.execute("INSERT INTO organisations (name, name_key, kind, created_at,"
                         " updated_at) VALUES (?, ?, ?, ?, ?)", (name, fold(name), kind, at, at))
        return self.cur.lastrowid

    def person(self, at, first, last, phone=None, consent_sms=False, gender=None,
               birth_year=None, organisation_id=None, audience="resident"):
        """POST /beneficiaries with PHONE already in E.164 and no
        neighbourhood (the residence is then null)."""
        self.cur.execute(
            "INSERT INTO beneficiaries (first_name, last_name, phone, birth_year, gender,"
            " consent_sms, consent_email, search_key, created_at, updated_at,"
            " organisation_id, audience) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
            (first, last, phone, birth_year, gender, int(bool(consent_sms)),
             fold(first + " " + last), at, at, organisation_id, audience))
        bid = self.cur.lastrowid
        self._people[bid] = (phone, bool(consent_sms))
        return bid

    def session(self, at, kind, title, venue_id, trainer_id, starts, ends, capacity,
                theme=None, level=None):
        self.cur.execute(
            "INSERT INTO sessions (kind, title, theme, level, venue_id, trainer_id, starts_at,"
            " ends_at, capacity, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?)", (kind, title, theme, level, venue_id, trainer_id, starts, ends, capacity,
                       at, at))
        sid = self.cur.lastrowid
        self.cur.execute("INSERT INTO session_changes (session_id, at, kind, new_starts_at,"
                         " new_ends_at, new_venue_id, token_id) VALUES (?, ?, 'created', ?, ?,"
                         " ?, ?)", (sid, at, starts, ends, venue_id, self.token))
        self._sessions[sid] = (starts, ends)
        return sid

    # --- enrollments and their messages ---------------------------------------

    def _notify(self, at, eid, bid, sid, kind, offset, target, due):
        """Both channels' rows as core/notify/outbox.c's insert_row makes them."""
        phone, consent = self._people[bid]
        for channel in ("sms", "email"):
            if channel == "sms":
                why = ("no SMS consent" if not consent else "no phone number" if not phone
                       else None if is_mobile(phone) else "not a mobile number")
            else:
                why = "no email consent"
            nid = self.cur.execute("SELECT coalesce(max(id), 0) + 1 FROM notifications"
                                   ).fetchone()[0]
            self.cur.execute(
                "INSERT INTO notifications (id, enrollment_id, beneficiary_id, session_id,"
                " kind, channel, offset_key, target_start, due_at, status, error, created_at,"
                " updated_at, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                " printf('n%d-%s-%s', ?, ?, lower(hex(randomblob(4)))))",
                (nid, eid, bid, sid, kind, channel, offset, target, due,
                 "suppressed" if why else "pending", why, at, at, nid, channel))

    def enroll(self, at, sid, bid, notify=True):
        """POST /sessions/{id}/enrollments, booked (the caller keeps within
        capacity). NOTIFY False: the messages are left out (a territory that
        did not send any then)."""
        starts, _ = self._sessions[sid]
        self.cur.execute("INSERT INTO enrollments (session_id, beneficiary_id, status,"
                         " created_at, updated_at) VALUES (?, ?, 'booked', ?, ?)",
                         (sid, bid, at, at))
        eid = self.cur.lastrowid
        self.cur.execute("INSERT INTO enrollment_events (enrollment_id, at, kind, token_id)"
                         " VALUES (?, ?, 'booked', ?)", (eid, at, self.token))
        if notify and at < starts:
            self._notify(at, eid, bid, sid, "confirmation", 0, starts, at)
            for offset in REMINDERS:
                if starts - offset >= at:
                    self._notify(at, eid, bid, sid, "reminder", offset, starts, starts - offset)
        return eid

    def mark(self, at, eid, sid, bid, status, notify=True):
        """PATCH /enrollments/{id} {"status": STATUS} once the session began:
        attended queues the survey."""
        _, ends = self._sessions[sid]
        self.cur.execute("UPDATE enrollments SET status = ?, updated_at = ? WHERE id = ?",
                         (status, at, eid))
        self.cur.execute("INSERT INTO enrollment_events (enrollment_id, at, kind, token_id)"
                         " VALUES (?, ?, ?, ?)", (eid, at, status, self.token))
        if notify and status == "attended":
            self._notify(at, eid, bid, sid, "survey", 0, 0, ends + SURVEY_AFTER)

    def sent(self, before):
        """What the dispatcher did with every message due before BEFORE:
        sent through the gateway, one segment."""
        self.cur.execute("UPDATE notifications SET status = 'sent', attempts = 1,"
                         " segments = 1, provider_id = 'bulk-' || id, sent_at = due_at,"
                         " updated_at = due_at WHERE status = 'pending' AND due_at < ?",
                         (before,))

    # --- the programme's records ----------------------------------------------

    def accompaniment(self, at, bid, venue_id, staff_id, started, minutes, themes):
        self.cur.execute(
            "INSERT INTO accompaniments (beneficiary_id, venue_id, staff_id, started_at,"
            " minutes, modality, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'on_site', ?,"
            " ?)", (bid, venue_id, staff_id, started, minutes, at, at))
        aid = self.cur.lastrowid
        for pos, theme in enumerate(themes):
            self.cur.execute("INSERT INTO accompaniment_themes (accompaniment_id, pos, theme)"
                             " VALUES (?, ?, ?)", (aid, pos, theme))
        return aid

    def walkins(self, at, sid, counts):
        """PUT /sessions/{id}/headcount with COUNTS [(gender, age_min, age_max,
        residence, n)]."""
        for gender, lo, hi, residence, n in counts:
            self.cur.execute("INSERT INTO session_headcounts (session_id, gender, age_min,"
                             " age_max, residence, n) VALUES (?, ?, ?, ?, ?, ?)",
                             (sid, gender, lo, hi, residence, n))
        self.cur.execute("UPDATE sessions SET headcount = ?, updated_at = ? WHERE id = ?",
                         (sum(c[4] for c in counts), at, sid))


    # --- the pass numérique (plugins/pass) ---------------------------------------

    def pass_order(self, at, label, valid_until, value_cents):
        """POST /pass/books's new order."""
        self.cur.execute("INSERT INTO pass_orders (label, valid_until, value_cents, created_at)"
                         " VALUES (?, ?, ?, ?)", (label, valid_until, value_cents, at))
        return self.cur.lastrowid

    def pass_book(self, at, order_id, number, passes, label=None):
        """One book of POST /pass/books, PASSES its numbers in order."""
        self.cur.execute("INSERT INTO pass_books (order_id, number, label, passes, created_at,"
                         " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (order_id, number, label, len(passes), at, at))
        bid = self.cur.lastrowid
        self.cur.executemany("INSERT INTO pass_passes (number, book_id, position)"
                             " VALUES (?, ?, ?)",
                             [(p, bid, i + 1) for i, p in enumerate(passes)])
        return bid

    def pass_handover(self, at, book_id, on_date, organisation_id=None, beneficiary_id=None,
                      second=False):
        """POST /pass/books/{id}/handovers."""
        self.cur.execute("INSERT INTO pass_handovers (book_id, on_date, organisation_id,"
                         " beneficiary_id, second, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (book_id, on_date, organisation_id, beneficiary_id, int(second), at))
        self.cur.execute("UPDATE pass_books SET updated_at = ? WHERE id = ?", (at, book_id))

    def pass_scan(self, at, number, on_date, venue_id, venue_name, service=None, level=None,
                  amount_cents=None):
        """POST /pass/scans at a Relais venue (a pass spent there)."""
        key = fold(venue_name)
        place = self._places.get(key)
        if place is None:
            row = self.cur.execute("SELECT id FROM pass_places WHERE key = ?", (key,)).fetchone()
            if row:
                place = row[0]
            else:
                self.cur.execute("INSERT INTO pass_places (key, name, siret)"
                                 " VALUES (?, ?, NULL)", (key, venue_name))
                place = self.cur.lastrowid
            self._places[key] = place
        self.cur.execute(
            "INSERT INTO pass_scans (pass, book_id, on_date, place_id, venue_id, service, level,"
            " amount_cents, source, created_at) VALUES (?1, (SELECT book_id FROM pass_passes"
            " WHERE number = ?1), ?2, ?3, ?4, ?5, ?6, ?7, 'manual', ?8)",
            (number, on_date, place, venue_id, service, level, amount_cents, at))
        return self.cur.lastrowid

def path_here():
    return os.path.dirname(os.path.realpath(__file__))
