-- A send is bound to the definition of its list that the sender addressed: expansion and every
-- later decision (an approval, an admin lifting the circuit breaker) compare the list's
-- definition_changed_at with the send's created_at, never with the time a later decision let
-- it go. decided_at (added by 20261123000026, never released) has no use left.
ALTER TABLE sends DROP COLUMN decided_at;
