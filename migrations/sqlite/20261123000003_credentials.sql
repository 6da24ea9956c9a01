-- Per-person credentials: every submission is tied to one person, never a shared login.

CREATE TABLE app_passwords (
    id            INTEGER PRIMARY KEY,
    member_id     BIGINT NOT NULL REFERENCES members(id),
    name          TEXT   NOT NULL,
    -- argon2id PHC string
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX app_passwords_member ON app_passwords(member_id);
