-- Pix's read model for the other plugins (plugins/API.md, "Plugins' read
-- models"): who was assessed, when, in which campaign. The reports plugin
-- counts the people assessed from it.
CREATE VIEW pix_v1_participations AS
  SELECT id, beneficiary_id, kind, campaign_id, date FROM pix_participations;
-- The report counts the participations of a range of dates.
CREATE INDEX pix_participations_date ON pix_participations(date);
