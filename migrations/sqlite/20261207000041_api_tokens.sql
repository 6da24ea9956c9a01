-- Personal API tokens (`/api/v1`). The token is `vt_<id>_<secret>`: the id finds the row, and
-- only the SHA-256 of the 256-bit random secret is kept, so a stolen database holds no token.
-- `scopes` is a space-separated set (`send sends:read approve directory:sync admin`);
-- `send_lists`, when not NULL, is the comma-separated list slugs the `send` scope is limited to.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    member_id     BIGINT  NOT NULL REFERENCES members(id),
    name          TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    send_lists    TEXT,
    secret_sha256 TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX api_tokens_member ON api_tokens(member_id);

-- A retried `POST /api/v1/submissions` with the same `Idempotency-Key` gets the first answer:
-- the row is claimed before the intake (so two concurrent retries cannot both store), and the
-- answer is kept once it is known. `request_sha256` refuses the key for a different request.
CREATE TABLE api_idempotency (
    token_id       BIGINT  NOT NULL REFERENCES api_tokens(id),
    idem_key       TEXT    NOT NULL,
    request_sha256 TEXT    NOT NULL,
    status         INTEGER,
    response       TEXT,
    created_at     BIGINT  NOT NULL,
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX api_idempotency_created ON api_idempotency(created_at);
