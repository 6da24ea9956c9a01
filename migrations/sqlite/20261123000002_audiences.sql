-- Audiences (slug@lists.<domain>) with their policy, and topic-list subscriptions.

CREATE TABLE audiences (
    id                        INTEGER PRIMARY KEY,
    slug                      TEXT    NOT NULL UNIQUE,
    name                      TEXT    NOT NULL,
    kind                      TEXT    NOT NULL CHECK (kind IN ('structural','functional','topic')),
    -- whose members (structural) or role holders (functional) are addressed
    unit_id                   BIGINT  NOT NULL REFERENCES units(id),
    include_subunits          INTEGER NOT NULL DEFAULT FALSE,
    role_function             TEXT,
    -- the unit this audience may never reach outside of
    scope_unit_id             BIGINT  NOT NULL REFERENCES units(id),
    category                  TEXT    NOT NULL CHECK (category IN ('statutory','announcement','discussion')),
    -- comma-separated role functions
    allowed_sender_functions  TEXT    NOT NULL DEFAULT 'chair',
    subscribers_may_post      INTEGER NOT NULL DEFAULT FALSE,
    open_to_public            INTEGER NOT NULL DEFAULT FALSE,
    -- comma-separated channels
    channels                  TEXT    NOT NULL DEFAULT 'email',
    approval_rule             TEXT    NOT NULL DEFAULT 'never' CHECK (approval_rule IN ('never','above','always')),
    approval_threshold        BIGINT,
    approver_functions        TEXT    NOT NULL DEFAULT 'press-office',
    approvals_needed          BIGINT  NOT NULL DEFAULT 1,
    max_recipients            BIGINT,
    max_message_bytes         BIGINT,
    sends_per_sender_per_day  BIGINT,
    reply_mode                TEXT    NOT NULL DEFAULT 'sender' CHECK (reply_mode IN ('sender','list','no-reply')),
    visible_recipients_mode   TEXT    NOT NULL DEFAULT 'reject' CHECK (visible_recipients_mode IN ('reject','rewrite')),
    active                    INTEGER NOT NULL DEFAULT TRUE,
    -- learned from past sends; NULL until the first send
    usual_size                BIGINT,
    created_at                BIGINT  NOT NULL,
    updated_at                BIGINT  NOT NULL,
    CHECK (kind <> 'functional' OR role_function IS NOT NULL),
    CHECK (approval_rule <> 'above' OR approval_threshold IS NOT NULL)
);

CREATE TABLE subscriptions (
    id               INTEGER PRIMARY KEY,
    audience_id      BIGINT NOT NULL REFERENCES audiences(id),
    -- a member, or (on lists open to the public) an external address
    member_id        BIGINT REFERENCES members(id),
    email            TEXT,
    state            TEXT   NOT NULL CHECK (state IN ('pending','confirmed','unsubscribed')),
    token            TEXT   NOT NULL UNIQUE,
    created_at       BIGINT NOT NULL,
    confirmed_at     BIGINT,
    unsubscribed_at  BIGINT,
    updated_at       BIGINT NOT NULL,
    CHECK ((member_id IS NULL) <> (email IS NULL)),
    UNIQUE (audience_id, member_id),
    UNIQUE (audience_id, email)
);
CREATE INDEX subscriptions_member ON subscriptions(member_id);
