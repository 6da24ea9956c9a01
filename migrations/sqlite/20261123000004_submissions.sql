-- Submissions (one message handed to the gateway), one send per addressed audience with its
-- decision, and the notifications that tell senders what became of their message.
-- Booleans are INTEGER 0/1 here (BOOLEAN on PostgreSQL), raw bytes BLOB (BYTEA there).

CREATE TABLE submissions (
    id                INTEGER PRIMARY KEY,
    -- the Message-ID header as submitted (audit look-ups start from it)
    message_id        TEXT,
    sender_member_id  BIGINT  NOT NULL REFERENCES members(id),
    credential_id     BIGINT  REFERENCES app_passwords(id),
    ingress           TEXT    NOT NULL CHECK (ingress IN ('smtp','portal','api','cli')),
    client_ip         TEXT,
    client_name       TEXT,
    tls               INTEGER NOT NULL DEFAULT 0,
    envelope_from     TEXT    NOT NULL,
    header_from       TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    size_bytes        BIGINT  NOT NULL,
    -- SHA-256 of the raw message, hex: approvals are bound to it
    content_hash      TEXT    NOT NULL,
    raw               BLOB    NOT NULL,
    created_at        BIGINT  NOT NULL
);
CREATE INDEX submissions_sender ON submissions(sender_member_id, created_at);
CREATE INDEX submissions_message_id ON submissions(message_id);

CREATE TABLE sends (
    id                INTEGER PRIMARY KEY,
    submission_id     BIGINT  NOT NULL REFERENCES submissions(id),
    -- NULL when the address named no audience (the decision then is a rejection)
    audience_id       BIGINT  REFERENCES audiences(id),
    address           TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('rejected','held','scheduled','sending','complete','cancelled','withdrawn','expired')),
    -- the engine's verdict and every reason, as JSON (codes and figures)
    decision          TEXT    NOT NULL CHECK (decision IN ('release','hold','reject')),
    reasons           TEXT    NOT NULL,
    recipients        BIGINT  NOT NULL,
    approvals_needed  BIGINT  NOT NULL DEFAULT 0,
    -- rewrite To: per recipient instead of the list address (policy "rewrite")
    rewrite_to        INTEGER NOT NULL DEFAULT 0,
    -- delivery may start at this time (end of the undo window)
    release_at        BIGINT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX sends_submission ON sends(submission_id);
CREATE INDEX sends_audience ON sends(audience_id, created_at);
CREATE INDEX sends_state ON sends(state, release_at);

CREATE TABLE notifications (
    id                INTEGER PRIMARY KEY,
    member_id         BIGINT  REFERENCES members(id),
    to_address        TEXT    NOT NULL,
    -- what it is about: submission.held, submission.rejected, submission.released, …
    kind              TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    submission_id     BIGINT  REFERENCES submissions(id),
    sent_at           BIGINT,
    created_at        BIGINT  NOT NULL
);
CREATE INDEX notifications_pending ON notifications(sent_at, id);
