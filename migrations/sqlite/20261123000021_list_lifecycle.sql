-- Lists made by rule and kept in step with the unit tree, and who switched a list or unit off.
--
-- template_id: the list template (`lists.templates` in the configuration) that made the list for
-- its unit; NULL for a list made by hand. A template makes at most one list per unit.
ALTER TABLE audiences ADD COLUMN template_id TEXT;
CREATE UNIQUE INDEX audiences_template_unit ON audiences(template_id, unit_id);
-- When and by whom a list was deactivated, and whether by an import (a vanished unit: the next
-- import that brings the unit back reactivates it) or by a person (only a person reactivates).
ALTER TABLE audiences ADD COLUMN deactivated_at BIGINT;
ALTER TABLE audiences ADD COLUMN deactivated_by TEXT;
ALTER TABLE audiences ADD COLUMN deactivation_source TEXT CHECK (deactivation_source IN ('import','admin'));

ALTER TABLE units ADD COLUMN deactivated_at BIGINT;
ALTER TABLE units ADD COLUMN deactivated_by TEXT;
ALTER TABLE units ADD COLUMN deactivation_source TEXT CHECK (deactivation_source IN ('import','admin'));

-- Further addresses of a list: the old address of a renamed unit's list keeps working.
-- A slug is either a list's own or one alias, never both (checked by the store operations).
CREATE TABLE audience_aliases (
    slug         TEXT   NOT NULL PRIMARY KEY,
    audience_id  BIGINT NOT NULL REFERENCES audiences(id),
    created_at   BIGINT NOT NULL
);
CREATE INDEX audience_aliases_audience ON audience_aliases(audience_id);
