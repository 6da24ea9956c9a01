-- The organisation-wide kill switch: while paused, no send is expanded and no copy or
-- notification is claimed, so nothing more leaves beyond the copies already being handed over.
CREATE TABLE delivery_control (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    paused      BOOLEAN NOT NULL,
    reason      TEXT,
    changed_by  TEXT,
    changed_at  BIGINT NOT NULL
);
INSERT INTO delivery_control (id, paused, changed_at) VALUES (1, FALSE, 0);
