-- Submissions every list refused, per sender and hour. They are kept as their header block
-- only and count against a rate of their own (limits.refused_per_sender_per_hour): above it
-- the sender's next refused message is answered "try later" and not stored, so a flood of
-- refused mail is throttled instead of filling the database.
ALTER TABLE sender_volume_hourly ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
