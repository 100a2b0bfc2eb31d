-- A delivery attempt is logged when it is claimed, before its request is sent: `duration_ms`
-- stays null until its result is recorded, and an attempt whose worker died is marked
-- `abandoned` when the delivery is claimed again.
ALTER TABLE webhook_delivery_attempts ALTER COLUMN duration_ms DROP NOT NULL;
