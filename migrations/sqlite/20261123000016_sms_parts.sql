-- The provider's ids of a text's parts (an SMSC gives one per submit_sm, an HTTP provider one
-- per request) and each part's delivery receipt. A receipt can arrive before the SMS loop has
-- recorded the ids of its batch, so a row may exist first without its text (outbox_id NULL)
-- and is joined to it when the ids are recorded.
CREATE TABLE sms_parts (
    provider_id TEXT   PRIMARY KEY,
    outbox_id   BIGINT REFERENCES sms_outbox(id) ON DELETE CASCADE,
    receipt     TEXT,
    receipt_at  BIGINT
);
CREATE INDEX sms_parts_outbox ON sms_parts(outbox_id);
