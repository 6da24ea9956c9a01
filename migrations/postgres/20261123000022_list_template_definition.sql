-- The definition a list's template gave it when it made or last updated the list (JSON of the
-- template's fields: kind, sub-units, role, category, senders, channels, approval, approvers,
-- limits, official sender, reply mode). A later sync compares it with the template and with
-- the list: a template change reaches the lists nobody changed by hand; a list changed by hand
-- keeps its changes and is reported. NULL for lists made by hand.
ALTER TABLE audiences ADD COLUMN template_definition TEXT;
