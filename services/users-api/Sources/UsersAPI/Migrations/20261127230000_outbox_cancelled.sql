-- outbox_cancelled
-- Applied once, in a transaction, by `make migrate`. Never edit after it has been applied.

-- `cancelled`: a row that must never be sent: mail to an account that was deleted before it went
-- out, and the row a password-reset request writes for an address without an active account
-- (so every address costs the same work and time: no enumeration). Purged like sent rows.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'processing', 'dispatched', 'failed', 'expired', 'cancelled'));
