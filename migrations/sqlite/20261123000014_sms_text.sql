-- The text a sender wrote for members reached by SMS (the compose form's "SMS text"); without
-- one, SMS recipients get a rendering of the email (list, subject, start of the text, sender).
ALTER TABLE submissions ADD COLUMN sms_text TEXT;

-- A list send's text messages: fan-out writes one per SMS recipient next to the email copies.
ALTER TABLE sms_outbox ADD COLUMN send_id BIGINT REFERENCES sends(id);
CREATE UNIQUE INDEX sms_outbox_send_number ON sms_outbox(send_id, to_number);

-- The SMS outbox is a queue like the notifications: the SMS loop claims due texts with a
-- lease, hands them to the provider and records the outcome (retries with backoff).
ALTER TABLE sms_outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sms_outbox ADD COLUMN lease_until BIGINT;
ALTER TABLE sms_outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sms_outbox ADD COLUMN failed_at BIGINT;
ALTER TABLE sms_outbox ADD COLUMN last_error TEXT;
CREATE INDEX sms_outbox_due ON sms_outbox(next_attempt_at, id);

-- Numbers that answered STOP: no more texts except statutory notice (E.164).
CREATE TABLE sms_opt_outs (
    number      TEXT   PRIMARY KEY,
    at          BIGINT NOT NULL,
    source      TEXT   NOT NULL
);

-- The provider's delivery receipt of a text: 'delivered' or 'failed', and when.
ALTER TABLE sms_outbox ADD COLUMN receipt TEXT;
ALTER TABLE sms_outbox ADD COLUMN receipt_at BIGINT;
