-- A send held by the organisation's circuit breaker (org.circuit_breaker) is released by an
-- organisation admin, one by one or all at once. The admin lifts the breaker for that send
-- alone: it is decided again without it, and every decision after (an approval still needed
-- for another reason) keeps it lifted. NULL: the breaker applies to this send as to any.
ALTER TABLE sends ADD COLUMN breaker_lifted_by BIGINT REFERENCES members(id);
