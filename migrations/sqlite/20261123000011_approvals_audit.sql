-- Four-eyes approval and the tamper-evident audit log.

-- A held send waits for approvals until this time; then it expires and the sender is told.
ALTER TABLE sends ADD COLUMN expires_at BIGINT;
-- When the approvers were asked (NULL: not yet; a sweep asks them, so a crash in between
-- delays the request but never loses it).
ALTER TABLE sends ADD COLUMN approvers_asked_at BIGINT;
-- The figures of the message the engine decided on (JSON): a held send is decided again with
-- them when approvals arrive.
ALTER TABLE submissions ADD COLUMN message_facts TEXT;
-- The beginning of the text body, for the approvers' request and `held show`.
ALTER TABLE submissions ADD COLUMN preview TEXT;

-- Every approval or rejection a person gave a held send, bound to the content they saw.
CREATE TABLE approvals (
    id                  INTEGER PRIMARY KEY,
    send_id             BIGINT  NOT NULL REFERENCES sends(id),
    approver_member_id  BIGINT  NOT NULL REFERENCES members(id),
    verdict             TEXT    NOT NULL CHECK (verdict IN ('approve','reject')),
    -- SHA-256 (hex) of the message the approver saw
    content_hash        TEXT    NOT NULL,
    -- the approver's roles when deciding, as the engine's JSON grants
    approver_roles      TEXT    NOT NULL,
    comment             TEXT,
    ingress             TEXT    NOT NULL CHECK (ingress IN ('smtp','portal','api','cli')),
    created_at          BIGINT  NOT NULL
);
CREATE INDEX approvals_send ON approvals(send_id);

-- Append-only: each entry carries the SHA-256 of the entry before it and of its own canonical
-- content, so editing, removing or reordering an entry breaks the chain (`verteiler audit
-- verify`). The triggers refuse UPDATE and DELETE for everyone using the database normally.
CREATE TABLE audit_log (
    seq              INTEGER PRIMARY KEY,
    at               BIGINT  NOT NULL,
    action           TEXT    NOT NULL,
    -- the person acting, when it is a member; `actor` names them (or the system) in words
    actor_member_id  BIGINT,
    actor            TEXT    NOT NULL,
    submission_id    BIGINT,
    send_id          BIGINT,
    -- JSON, hashed exactly as stored
    details          TEXT    NOT NULL,
    prev_hash        TEXT    NOT NULL,
    hash             TEXT    NOT NULL UNIQUE
);
CREATE INDEX audit_log_submission ON audit_log(submission_id);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The newest entry: appending locks this row, so concurrent writers chain one after another,
-- and verification notices entries cut off the end.
CREATE TABLE audit_head (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT   NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
