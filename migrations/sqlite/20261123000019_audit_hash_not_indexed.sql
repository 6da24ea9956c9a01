-- The audit log's `hash` loses its UNIQUE index. Its keys are 64 random hex characters, so
-- every append wrote a page at a random place of that index: measured on the SMTP ingress
-- benchmark (60,000 submissions), each group commit of the submission writer took about a
-- third longer with it, and more as the log grows. Nothing looks entries up by hash on a hot
-- path (`audit verify` walks the whole log in order anyway), and the chain already makes a
-- repeated hash a break that verification reports.
--
-- SQLite cannot drop a column constraint, so the table is rebuilt with the same columns,
-- indexes and append-only triggers. (DROP TABLE drops the triggers before it empties the
-- table, so they do not fire.)
CREATE TABLE audit_log_rebuilt (
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
    hash             TEXT    NOT NULL
);
INSERT INTO audit_log_rebuilt
    (seq, at, action, actor_member_id, actor, submission_id, send_id, details, prev_hash, hash)
SELECT seq, at, action, actor_member_id, actor, submission_id, send_id, details, prev_hash, hash
FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;
CREATE INDEX audit_log_submission ON audit_log(submission_id);
CREATE INDEX audit_log_at ON audit_log(at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
