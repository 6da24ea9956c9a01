-- Resolution reads each recipient's primary verified, deliverable email and phone with one
-- correlated look-up per member and kind. This index holds exactly the rows that look-up may
-- return, in the order it picks them (primary first, then the oldest), with the value: the
-- look-up is one seek without touching the table or sorting (ops/bench/directory.sh).
CREATE INDEX contact_points_deliverable
    ON contact_points(member_id, kind, is_primary DESC, id, value, verified, undeliverable)
    WHERE verified AND NOT undeliverable;
