-- The surveys' read models for the other plugins (plugins/API.md,
-- "Plugins' read models"): who answered, about which session, and the
-- scores. Never the free texts, which may name or describe a person.
-- The reports plugin counts responses and means from them.
CREATE VIEW surveys_v1_responses AS
  SELECT enrollment_id, session_id, kind, answered_at FROM surveys_responses;
CREATE VIEW surveys_v1_scores AS
  SELECT enrollment_id, question_id, score FROM surveys_answers WHERE score IS NOT NULL;
