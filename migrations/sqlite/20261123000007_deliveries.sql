-- Delivery: a released send is expanded in batches into one delivery per recipient address;
-- workers claim due deliveries with a lease, so a crashed worker's claim runs out and the
-- delivery comes back. Notifications to senders go through the same workers.

-- Expansion resumes after this recipient cursor (NULL: not started); members the send could
-- not reach by email are counted, not silently skipped.
ALTER TABLE sends ADD COLUMN expansion_cursor BIGINT;
ALTER TABLE sends ADD COLUMN unreachable BIGINT NOT NULL DEFAULT 0;

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    send_id          BIGINT NOT NULL REFERENCES sends(id),
    -- NULL for a non-member subscriber of a public list
    member_id        BIGINT REFERENCES members(id),
    -- lower-case: each address gets one copy per send, however many ways it was reached
    address          TEXT   NOT NULL,
    -- random: the VERP bounce address and the unsubscribe link carry it, never the address
    token            TEXT   NOT NULL UNIQUE,
    state            TEXT   NOT NULL CHECK (state IN ('queued','sent','failed','bounced','cancelled')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    -- a worker's claim: until then nobody else takes it
    lease_until      BIGINT,
    last_error       TEXT,
    sent_at          BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (send_id, address)
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);

ALTER TABLE notifications ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN lease_until BIGINT;
ALTER TABLE notifications ADD COLUMN last_error TEXT;
-- set when it finally could not be sent (sent_at stays NULL)
ALTER TABLE notifications ADD COLUMN failed_at BIGINT;
