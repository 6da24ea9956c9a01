-- SMS parts the sends of each unit (the scope of their audience) produced per calendar month
-- (UTC, as YYYYMM): the spending the policy engine holds against the unit's monthly budget.
-- Counted when fan-out writes the texts; one row per unit and month, read by primary key.
CREATE TABLE unit_sms_monthly (
    unit_id  BIGINT NOT NULL REFERENCES units(id),
    month    BIGINT NOT NULL,
    segments BIGINT NOT NULL,
    PRIMARY KEY (unit_id, month)
);

-- A unit's own monthly SMS budget in euro cents, where it differs from the organisation's
-- `sms.monthly_budget_cents_per_unit` (set with `verteiler sms budget`, audited).
CREATE TABLE unit_sms_budgets (
    unit_id       BIGINT PRIMARY KEY REFERENCES units(id),
    monthly_cents BIGINT NOT NULL,
    set_at        BIGINT NOT NULL
);
