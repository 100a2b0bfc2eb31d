-- Batched payloads, opt-in per webhook: up to `batch_size` consecutive events in one POST.
ALTER TABLE webhooks ADD COLUMN batch_size integer NOT NULL DEFAULT 1
    CONSTRAINT webhooks_batch_size_check CHECK (batch_size BETWEEN 1 AND 100);
