-- The member portal: sign-in links, sessions, an optional password, verification of new
-- contact data and subscriptions (double opt-in), the SMS outbox and deletion requests.
-- Secrets (link tokens, session ids, codes) are stored only as SHA-256 hex: a copy of the
-- database does not sign anybody in.

CREATE TABLE sign_in_links (
    token_hash  TEXT    PRIMARY KEY,
    member_id   BIGINT  NOT NULL REFERENCES members(id),
    -- the verified address the link went to
    email       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);
CREATE INDEX sign_in_links_member ON sign_in_links(member_id);

CREATE TABLE portal_sessions (
    id_hash       TEXT    PRIMARY KEY,
    member_id     BIGINT  NOT NULL REFERENCES members(id),
    -- the token every state-changing form of this session carries
    csrf_token    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX portal_sessions_member ON portal_sessions(member_id);

-- The optional portal password (argon2id PHC string); app passwords stay separate.
CREATE TABLE member_passwords (
    member_id      BIGINT  PRIMARY KEY REFERENCES members(id),
    password_hash  TEXT    NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- A link (email address, subscription) or a 6-digit code (phone number) that proves control.
CREATE TABLE verifications (
    id                INTEGER PRIMARY KEY,
    purpose           TEXT    NOT NULL CHECK (purpose IN ('email','phone','subscription')),
    member_id         BIGINT  REFERENCES members(id),
    contact_point_id  BIGINT  REFERENCES contact_points(id),
    subscription_id   BIGINT  REFERENCES subscriptions(id),
    secret_hash       TEXT    NOT NULL UNIQUE,
    attempts          BIGINT  NOT NULL DEFAULT 0,
    created_at        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    used_at           BIGINT
);
CREATE INDEX verifications_contact ON verifications(contact_point_id);

-- Text messages waiting for a provider; until the SMS channel lands, this table is the
-- provider (tests and `serve --demo` read codes from it).
CREATE TABLE sms_outbox (
    id          INTEGER PRIMARY KEY,
    member_id   BIGINT  REFERENCES members(id),
    to_number   TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    sent_at     BIGINT
);
CREATE INDEX sms_outbox_pending ON sms_outbox(sent_at, id);

CREATE TABLE deletion_requests (
    id            INTEGER PRIMARY KEY,
    member_id     BIGINT  NOT NULL REFERENCES members(id),
    requested_at  BIGINT  NOT NULL,
    completed_at  BIGINT,
    completed_by  TEXT
);
CREATE UNIQUE INDEX deletion_requests_open ON deletion_requests(member_id) WHERE completed_at IS NULL;

-- The portal asks, per page view, which audiences of a member's units reach them and which
-- topic lists they may join: without these, each such question reads every audience.
CREATE INDEX audiences_unit ON audiences(unit_id);
CREATE INDEX audiences_kind ON audiences(kind, active);
