-- An audience whose policy says "email and SMS": members reached by email also get a text when
-- they have a verified number, and SMS members also get the email when they have an address.
-- Off by default: one channel per member and send.
ALTER TABLE audiences ADD COLUMN email_and_sms BOOLEAN NOT NULL DEFAULT FALSE;
