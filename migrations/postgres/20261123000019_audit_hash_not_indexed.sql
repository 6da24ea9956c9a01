-- The audit log's `hash` loses its UNIQUE index. Its keys are 64 random hex characters, so
-- every append wrote a page at a random place of that index, which slowed every commit of the
-- submission writer (measured on SQLite's ingress benchmark, the same B-tree cost here).
-- Nothing looks entries up by hash on a hot path (`audit verify` walks the whole log in order
-- anyway), and the chain already makes a repeated hash a break that verification reports.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_hash_key;
