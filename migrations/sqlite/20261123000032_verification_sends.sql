-- Each verification the portal sent for a member's own contact data (a code by SMS, a link by
-- mail), so the limits per member and per destination hold across restarts. The destination
-- is kept only as the SHA-256 (hex) of its normalised form (E.164 number, lower-cased
-- address), never in the clear; as a phone number's hash can be found by trying numbers, rows
-- older than two days are deleted whenever a new one is written (the longest window counted
-- is one day).
CREATE TABLE verification_sends (
    id                INTEGER PRIMARY KEY,
    member_id         BIGINT  NOT NULL REFERENCES members(id),
    destination_hash  TEXT    NOT NULL,
    channel           TEXT    NOT NULL CHECK (channel IN ('email','sms')),
    sent_at           BIGINT  NOT NULL
);
CREATE INDEX verification_sends_member ON verification_sends(member_id, sent_at);
CREATE INDEX verification_sends_destination ON verification_sends(destination_hash, sent_at);
CREATE INDEX verification_sends_sent ON verification_sends(sent_at);
