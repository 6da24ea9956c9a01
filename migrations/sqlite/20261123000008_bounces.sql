-- Bounces received at VERP addresses. A hard bounce marks its delivery bounced and counts
-- against the email address; after delivery.hard_bounce_limit of them the address is marked
-- undeliverable and no longer used. Only the remote server's diagnostic is kept, not the
-- returned message (it may quote the member's mail).
CREATE TABLE bounces (
    id           INTEGER PRIMARY KEY,
    delivery_id  BIGINT NOT NULL REFERENCES deliveries(id),
    hard         INTEGER NOT NULL,
    status       TEXT,
    diagnostic   TEXT   NOT NULL,
    received_at  BIGINT NOT NULL
);
CREATE INDEX bounces_delivery ON bounces(delivery_id);

ALTER TABLE contact_points ADD COLUMN hard_bounces BIGINT NOT NULL DEFAULT 0;
