-- The pass numérique (APTIC) circuit: orders of cheque books, their books
-- and passes, who holds each book, and the passes spent. Every status
-- (stock, distributed, assigned, started, used, expired) is derived from
-- these rows when it is asked for (rules.lua), never stored.

-- An order of books, as the territory buys them (one a year, say). The
-- validity and the value are the order's: printed on all its passes.
CREATE TABLE pass_orders (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL UNIQUE,          -- "2022", as the coordinators name it
  valid_until TEXT NOT NULL,           -- local date YYYY-MM-DD, printed on the passes
  value_cents INTEGER NOT NULL CHECK (value_cents BETWEEN 0 AND 100000),
  created_at INTEGER NOT NULL
);

-- A book (chéquier, carnet): its number as printed, and a local label so
-- that nobody renumbers books by hand. `passes` is how many it holds,
-- fixed when it is registered.
CREATE TABLE pass_books (
  id INTEGER PRIMARY KEY,
  order_id INTEGER NOT NULL REFERENCES pass_orders(id),
  number TEXT NOT NULL UNIQUE,
  label TEXT,
  passes INTEGER NOT NULL CHECK (passes > 0),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX pass_books_order ON pass_books(order_id);

-- Each pass of a book: an opaque number, unique across all books. Keyed
-- by its number: scans find their pass by it.
CREATE TABLE pass_passes (
  number TEXT PRIMARY KEY,
  book_id INTEGER NOT NULL REFERENCES pass_books(id),
  position INTEGER NOT NULL            -- 1.. in the book
) WITHOUT ROWID;
CREATE INDEX pass_passes_book ON pass_passes(book_id, position);

-- Who got a book, in order: to an organisation (a distributor), then to
-- one person. The last row is the book's holder. The ids are those of
-- relais_v1_organisations and relais_v1_people, checked when the row is
-- written: a plugin cannot hold a foreign key on a core table (the check
-- would read it directly, which the read models forbid).
CREATE TABLE pass_handovers (
  id INTEGER PRIMARY KEY,
  book_id INTEGER NOT NULL REFERENCES pass_books(id),
  on_date TEXT NOT NULL,               -- local date YYYY-MM-DD
  organisation_id INTEGER,
  beneficiary_id INTEGER,
  second INTEGER NOT NULL DEFAULT 0 CHECK (second IN (0, 1)),
  created_at INTEGER NOT NULL,
  CHECK ((organisation_id IS NULL) <> (beneficiary_id IS NULL))
);
CREATE INDEX pass_handovers_book ON pass_handovers(book_id, id);
CREATE INDEX pass_handovers_beneficiary ON pass_handovers(beneficiary_id)
  WHERE beneficiary_id IS NOT NULL;
CREATE INDEX pass_handovers_organisation ON pass_handovers(organisation_id)
  WHERE organisation_id IS NOT NULL;

-- The places passes are spent at, as the scans name them: a name (its
-- folded form is the key: two spellings of one name are one place), else
-- a SIRET, else nothing (key ''). A scan points at its place; a Relais
-- venue is found from it by folded name when the scan has none.
CREATE TABLE pass_places (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,            -- relais.fold(name), "siret:…", or ''
  name TEXT,
  siret TEXT
);

-- A pass spent, once: from the APTIC platform's export (source 'import',
-- with its line in the file) or recorded at a Relais venue ('manual').
-- `pass` is the number as scanned: a number no book has is kept too (an
-- anomaly until its book is registered). book_id is the book of that
-- number: set when the scan is written, and by pass_passes_scans below
-- when the book is registered later (passes are never removed nor
-- renumbered, so it cannot go stale); NULL while no book has the number.
-- venue_id is the Relais venue when one was matched (relais_v1_venues),
-- place_id the place as named.
CREATE TABLE pass_scans (
  id INTEGER PRIMARY KEY,
  pass TEXT NOT NULL UNIQUE,
  book_id INTEGER REFERENCES pass_books(id),
  on_date TEXT NOT NULL,               -- local date YYYY-MM-DD
  at INTEGER,                          -- Unix seconds, when the time is known
  place_id INTEGER NOT NULL REFERENCES pass_places(id),
  venue_id INTEGER,
  service TEXT,
  level INTEGER CHECK (level BETWEEN 1 AND 3),
  amount_cents INTEGER CHECK (amount_cents >= 0),
  source TEXT NOT NULL CHECK (source IN ('import', 'manual')),
  line INTEGER,
  created_at INTEGER NOT NULL
);
-- The scans of a book (its status counts them), and those of no book: an
-- index of small integers. No other: every other question (by day, by
-- place) is one pass over the scans, a few tens of milliseconds for
-- 100,000, while an index would cost every imported line an insert more.
CREATE INDEX pass_scans_book ON pass_scans(book_id);

-- Other sightings of a pass already spent (another day, another place):
-- the "duplicate" anomalies. The same sighting seen again (the same file
-- imported twice) adds nothing: it is unique.
CREATE TABLE pass_duplicates (
  id INTEGER PRIMARY KEY,
  pass TEXT NOT NULL,
  on_date TEXT NOT NULL,
  at INTEGER,
  place_id INTEGER NOT NULL REFERENCES pass_places(id),
  venue_id INTEGER,
  source TEXT NOT NULL CHECK (source IN ('import', 'manual')),
  line INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (pass, on_date, place_id)
);

-- A book registered after its passes were scanned: its scans learn it.
CREATE TRIGGER pass_passes_scans AFTER INSERT ON pass_passes BEGIN
  UPDATE pass_scans SET book_id = NEW.book_id WHERE pass = NEW.number;
END;
