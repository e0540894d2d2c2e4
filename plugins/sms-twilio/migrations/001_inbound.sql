-- Replies already acted on, by Twilio's MessageSid: a replayed signed START
-- (or STOP) must not change consent a second time. Only the id and the time
-- are kept, nothing about the person.
CREATE TABLE sms_twilio_inbound (
    sid         TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
