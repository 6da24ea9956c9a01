-- A send is decided for one definition of its audience; if the definition changes before the
-- send is expanded, the decision no longer describes what would go out, and expansion refuses
-- the send (`audience.redefined`) instead of sending to the new definition.
--
-- definition_changed_at: unix ms of the last change to WHOM the audience reaches — its target
-- unit, whether sub-units are included, the role function, the kind or the declared scope.
-- Every store operation that changes one of those sets it (`set_audience_target`, an admin's
-- `edit_list`, and a list template's changed rules applied by a units import or sync); an
-- operation added later that edits any of those fields must set it too. Changes to the
-- policy (approvals, limits, channels), the name or the active flag do not set it: a
-- deactivated list refuses its sends by `audience.inactive`, and a policy change does not
-- change who is reached. NULL: unchanged since the audience was created.
ALTER TABLE audiences ADD COLUMN definition_changed_at BIGINT;

-- decided_at: unix ms of the decision that let the send go, when that was not its creation
-- (an approval or an admin's release decided it again). NULL: decided when it was created
-- (created_at). Expansion compares definition_changed_at against it.
ALTER TABLE sends ADD COLUMN decided_at BIGINT;
