-- by_post: members a send's expansion put on its postal list (Reach::Post). Together with its
-- copies (deliveries) and texts (sms_outbox) it tells whether the send reached anybody at all;
-- a send that reached nobody never counts towards its list's usual size. Sends expanded before
-- this migration count 0 here: only those that reached members by post alone are affected, and
-- they stop counting, the cautious side.
ALTER TABLE sends ADD COLUMN by_post BIGINT NOT NULL DEFAULT 0;
