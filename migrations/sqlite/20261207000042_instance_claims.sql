-- Which process holds each claim. Every `serve` process has a name (`instance.name`, by default
-- the host's); a process that starts again under its name takes back at once the claims its
-- dead predecessor left (rows whose outcome was not recorded), instead of waiting for their
-- leases to run out. On PostgreSQL a session advisory lock keeps two live processes from
-- sharing one name.
ALTER TABLE deliveries ADD COLUMN lease_holder TEXT;
ALTER TABLE notifications ADD COLUMN lease_holder TEXT;
ALTER TABLE sms_outbox ADD COLUMN lease_holder TEXT;
-- Expansion of a send is claimed like a copy: one instance at a time queues its batches.
ALTER TABLE sends ADD COLUMN expansion_lease_until BIGINT;
ALTER TABLE sends ADD COLUMN expansion_holder TEXT;
