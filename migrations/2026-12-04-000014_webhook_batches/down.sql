ALTER TABLE webhooks DROP COLUMN batch_size;
