-- Sends per sender and per audience per hour. The rate rules read at most 25 rows of each per
-- submission instead of counting a busy sender's whole day of sends each time (which made a
-- busy day quadratic). Counted when a send is stored held or released; a later rejection does
-- not take it back, so the limits may bite early but never late.
CREATE TABLE sender_volume_hourly (
    member_id   BIGINT NOT NULL REFERENCES members(id),
    -- unix hour (milliseconds / 3,600,000)
    hour        BIGINT NOT NULL,
    sends       BIGINT NOT NULL,
    recipients  BIGINT NOT NULL,
    PRIMARY KEY (member_id, hour)
);

CREATE TABLE audience_volume_hourly (
    audience_id BIGINT NOT NULL REFERENCES audiences(id),
    hour        BIGINT NOT NULL,
    sends       BIGINT NOT NULL,
    PRIMARY KEY (audience_id, hour)
);

-- Carry over what was stored before this migration.
INSERT INTO sender_volume_hourly (member_id, hour, sends, recipients)
SELECT sub.sender_member_id, s.created_at / 3600000, COUNT(*), SUM(s.recipients)
FROM sends s JOIN submissions sub ON sub.id = s.submission_id
WHERE s.state <> 'rejected'
GROUP BY sub.sender_member_id, s.created_at / 3600000;

INSERT INTO audience_volume_hourly (audience_id, hour, sends)
SELECT audience_id, created_at / 3600000, COUNT(*)
FROM sends
WHERE state <> 'rejected' AND audience_id IS NOT NULL
GROUP BY audience_id, created_at / 3600000;
