-- The notification loop claims the oldest due notices: ORDER BY next_attempt_at, id over
-- the rows still pending. Without an index in that order every claim sorted the whole backlog
-- (40,000 approval requests after a burst of held sends) while holding SQLite's write lock.
-- The new notification index replaces the old one on (sent_at, id), which SQLite's planner
-- preferred and which cannot give that order.
DROP INDEX notifications_pending;
CREATE INDEX notifications_due ON notifications(next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
