-- The SMS queue's due index holds only texts still to send, as the notices' does (migration
-- 13), and replaces the index on (sent_at, id): SQLite's planner preferred that one for the
-- claim and then sorted every unsent text by time (8 ms per claim with 11,000 texts of one
-- send queued, ops/bench/fanout.sh, while holding the database's write lock). The claim's own
-- conditions (`sent_at IS NULL AND failed_at IS NULL`) select the partial index, and so do the
-- gauges' counts of texts waiting.
DROP INDEX sms_outbox_pending;
DROP INDEX sms_outbox_due;
CREATE INDEX sms_outbox_due ON sms_outbox(next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;
