-- SMS parts the portal's own texts (phone codes) produced per calendar month (UTC, as YYYYMM):
-- what they cost the organisation, held against `sms.portal_monthly_budget_cents`. Apart from
-- the units' spending (`unit_sms_monthly`): a code belongs to no unit's send.
CREATE TABLE portal_sms_monthly (
    month       BIGINT  PRIMARY KEY,
    segments    BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
