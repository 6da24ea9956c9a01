-- The member directory: units, members, their contact points, preferences and roles.
-- Booleans are INTEGER 0/1 here (BOOLEAN on PostgreSQL): sqlx's Any driver cannot decode SQLite's BOOLEAN.
-- Timestamps are unix milliseconds (BIGINT) in both databases so that one set of queries,
-- run through sqlx's Any driver, reads and writes them identically.

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('federal','state','district','sub-district','branch','committee','working-group','interest-group')),
    parent_id   BIGINT  REFERENCES units(id),
    active      INTEGER NOT NULL DEFAULT TRUE,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE INDEX units_parent ON units(parent_id);

CREATE TABLE members (
    id                 INTEGER PRIMARY KEY,
    external_id        TEXT    UNIQUE,
    first_name         TEXT    NOT NULL,
    last_name          TEXT    NOT NULL,
    status             TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active','left')),
    language           TEXT    NOT NULL DEFAULT 'de',
    -- fingerprint of the last imported row: an unchanged row is skipped on re-import
    import_fingerprint TEXT,
    left_at            BIGINT,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);
CREATE INDEX members_status ON members(status, id);

CREATE TABLE memberships (
    member_id   BIGINT NOT NULL REFERENCES members(id),
    unit_id     BIGINT NOT NULL REFERENCES units(id),
    -- 'import' rows follow the membership database; 'admin' rows were added by hand
    source      TEXT   NOT NULL DEFAULT 'import' CHECK (source IN ('import','admin')),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (member_id, unit_id)
);
CREATE INDEX memberships_unit ON memberships(unit_id, member_id);

CREATE TABLE contact_points (
    id            INTEGER PRIMARY KEY,
    member_id     BIGINT  NOT NULL REFERENCES members(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('email','phone','postal')),
    -- email address, E.164 number, or the postal address on one line
    value         TEXT    NOT NULL,
    -- lower-cased email / E.164 / normalised postal text, for uniqueness and look-ups
    value_key     TEXT    NOT NULL,
    street        TEXT,
    postcode      TEXT,
    city          TEXT,
    is_primary    INTEGER NOT NULL DEFAULT FALSE,
    verified      INTEGER NOT NULL DEFAULT FALSE,
    verified_at   BIGINT,
    undeliverable INTEGER NOT NULL DEFAULT FALSE,
    -- 'import' rows are rewritten by the next import; 'member' rows belong to the member
    source        TEXT    NOT NULL CHECK (source IN ('import','member')),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (member_id, kind, value_key)
);
CREATE INDEX contact_points_lookup ON contact_points(kind, value_key);

CREATE TABLE channel_preferences (
    member_id   BIGINT NOT NULL REFERENCES members(id),
    category    TEXT   NOT NULL CHECK (category IN ('statutory','announcement','discussion')),
    channel     TEXT   NOT NULL CHECK (channel IN ('email','sms','post','none')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (member_id, category),
    CHECK (NOT (category = 'statutory' AND channel = 'none'))
);

CREATE TABLE roles (
    id             INTEGER PRIMARY KEY,
    member_id      BIGINT  NOT NULL REFERENCES members(id),
    unit_id        BIGINT  NOT NULL REFERENCES units(id),
    function       TEXT    NOT NULL,
    covers_subtree INTEGER NOT NULL DEFAULT FALSE,
    source         TEXT    NOT NULL CHECK (source IN ('import','admin')),
    created_at     BIGINT  NOT NULL,
    UNIQUE (member_id, unit_id, function)
);
CREATE INDEX roles_unit ON roles(unit_id, function);
