-- Recipients released per hour, organisation-wide: the circuit breaker reads two rows instead
-- of summing every send of the last hour for each submission.
CREATE TABLE org_volume_hourly (
    -- unix hour (milliseconds / 3,600,000)
    hour        BIGINT PRIMARY KEY,
    recipients  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX sends_created ON sends(created_at);
