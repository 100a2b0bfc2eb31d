UPDATE webhook_delivery_attempts SET duration_ms = 0 WHERE duration_ms IS NULL;
ALTER TABLE webhook_delivery_attempts ALTER COLUMN duration_ms SET NOT NULL;
