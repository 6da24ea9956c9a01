-- What `submissions.raw` holds: the whole message (`whole`), the header block of a message
-- every list refused (`headers`), or nothing any more (`purged` when the retention period of
-- its finished sends ran out, `erased` when its sender was erased). The content hash and size
-- stay in every case: the audit log's entries name the message by them.
ALTER TABLE submissions ADD COLUMN raw_state TEXT NOT NULL DEFAULT 'whole'
    CHECK (raw_state IN ('whole','headers','purged','erased'));
ALTER TABLE submissions ADD COLUMN raw_removed_at BIGINT;
-- The retention sweep looks only at submissions that still hold something.
CREATE INDEX submissions_raw_held ON submissions(created_at) WHERE raw_state IN ('whole','headers');
