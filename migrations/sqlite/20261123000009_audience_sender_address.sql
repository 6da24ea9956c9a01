-- An official sender address of an audience (e.g. presse@example.org for the press releases):
-- a member who may send to the audience may use it as From: instead of their own address.
ALTER TABLE audiences ADD COLUMN sender_address TEXT;
CREATE INDEX audiences_sender_address ON audiences(sender_address);
