-- One response per survey link (an enrollment: a training's survey is its
-- training enrollment's). session_id and kind are copied from the session
-- when the answer comes, so results never depend on a later edit of the
-- enrollment; answered_at orders the comments.
CREATE TABLE surveys_responses (
  enrollment_id INTEGER PRIMARY KEY,
  session_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  answered_at INTEGER NOT NULL
);
CREATE INDEX surveys_responses_session ON surveys_responses(session_id);

-- One row per question answered: a score from 1 to 4, or a text. A
-- question skipped has no row.
CREATE TABLE surveys_answers (
  enrollment_id INTEGER NOT NULL REFERENCES surveys_responses(enrollment_id),
  question_id TEXT NOT NULL,
  score INTEGER CHECK (score BETWEEN 1 AND 4),
  text TEXT,
  CHECK ((score IS NULL) <> (text IS NULL)),
  PRIMARY KEY (enrollment_id, question_id)
);
