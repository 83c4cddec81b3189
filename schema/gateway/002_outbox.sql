-- 002_outbox.sql: delivery of the outbox's e-mail and SMS messages, and the
-- contact details card holders leave for payment receipts.
--
-- The delivery worker (gw-outbox.c) claims a due message by moving its
-- next_attempt forward by a lease and counting the attempt, sends it, then
-- marks it delivered or schedules the next attempt. A worker that dies
-- mid-send leaves the message to be claimed again when the lease runs out.

ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN failed_at INTEGER;   -- given up: a permanent refusal, or too old

-- Due messages of one type, oldest first. Merchant events (payment.*) share
-- the table and are left to their own worker.
CREATE INDEX outbox_due_by_type ON outbox (type, next_attempt)
  WHERE delivered_at IS NULL AND failed_at IS NULL;

-- Where a card holder wants payment receipts. The e-mail address, phone
-- number and name are personal data: sealed (AES-256-GCM) as one JSON
-- object with the card id as associated data.
CREATE TABLE card_contacts (
  card_id         TEXT    PRIMARY KEY REFERENCES cards (id),
  contact_sealed  BLOB    NOT NULL,
  receipts        TEXT    NOT NULL DEFAULT 'none' CHECK (receipts IN ('email', 'sms', 'none')),
  locale          TEXT    NOT NULL DEFAULT 'ko' CHECK (locale IN ('ko', 'en')),
  updated         INTEGER NOT NULL
) WITHOUT ROWID;
