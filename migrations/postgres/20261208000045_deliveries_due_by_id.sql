-- A claim takes the oldest due copies: ORDER BY next_attempt_at, id. A SQLite index ends in
-- the rowid anyway, so there the order came from the index; a PostgreSQL index on
-- (state, next_attempt_at) left the tie on id to a sort of every due copy, in each claim: a
-- send's copies share their next_attempt_at, and ops/bench/fanout.sh on PostgreSQL spent its
-- CPU sorting the whole queue 16 copies at a time. Naming id makes both the same.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at, id);
