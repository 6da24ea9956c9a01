-- A list's usual size is learned from its completed sends (see store/src/usual_size.rs): the
-- median recipient count of the last ten sends that completed since the usual size was last
-- reset. The history is read from the sends themselves.

-- When the send's last copy had its outcome (NULL: not complete).
ALTER TABLE sends ADD COLUMN completed_at BIGINT;
-- The audience's usual_size_epoch when the send completed. A reset starts a new epoch, so only
-- sends completed after it count.
ALTER TABLE sends ADD COLUMN usual_size_epoch BIGINT;
ALTER TABLE audiences ADD COLUMN usual_size_epoch BIGINT NOT NULL DEFAULT 0;
-- When an admin last reset the usual size (NULL: never).
ALTER TABLE audiences ADD COLUMN usual_size_reset_at BIGINT;

-- Sends completed before this migration count, as completed when last changed.
UPDATE sends SET completed_at = updated_at, usual_size_epoch = 0 WHERE state = 'complete';

-- The last completed sends of a list, read at every completion and on the admin's page.
-- Partial: a submission's insert and the other state changes never touch it.
CREATE INDEX sends_completed ON sends(audience_id, usual_size_epoch, completed_at)
    WHERE state = 'complete';
