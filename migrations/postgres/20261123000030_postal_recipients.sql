-- The postal list of a send is the members its expansion put on it (Reach::Post), recorded in
-- the batch's own transaction, not the directory as it is when somebody downloads the list:
-- an audience that changed since must not add names and home addresses to a send decided for
-- others. Only member ids are kept; names and addresses are read when the list is downloaded,
-- so a member's correction reaches the letter and an erased member's data is not copied here.
CREATE TABLE postal_recipients (
    send_id     BIGINT NOT NULL REFERENCES sends(id),
    member_id   BIGINT NOT NULL REFERENCES members(id),
    -- the recipient's place in the audience's order (the resolution cursor)
    position    BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (send_id, member_id)
);

-- Set by the first expanded batch. Sends expanded before this migration keep FALSE: their
-- recipients were never recorded, so they have no postal list to download (never one
-- resolved anew).
ALTER TABLE sends ADD COLUMN postal_recorded BOOLEAN NOT NULL DEFAULT FALSE;
