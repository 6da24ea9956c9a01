-- The fingerprint of the key the audit log's contact values are hashed with (an HMAC of a fixed
-- text under the key; it tells nothing about the key). The key itself lives in a file beside the
-- service, never here. A process with another key file is refused at start.
CREATE TABLE privacy_key (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
