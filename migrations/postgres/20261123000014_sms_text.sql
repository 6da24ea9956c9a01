-- The text a sender wrote for members reached by SMS (the compose form's "SMS text"); without
-- one, SMS recipients get a rendering of the email (list, subject, start of the text, sender).
ALTER TABLE submissions ADD COLUMN sms_text TEXT;

-- A list send's text messages: fan-out writes one per SMS recipient next to the email copies.
ALTER TABLE sms_outbox ADD COLUMN send_id BIGINT REFERENCES sends(id);
CREATE UNIQUE INDEX sms_outbox_send_number ON sms_outbox(send_id, to_number);
