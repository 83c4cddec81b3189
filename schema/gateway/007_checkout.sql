-- 007_checkout.sql: checkout sessions at affiliated malls, and the merchant
-- webhooks that tell a mall's server what happened.
--
-- A mall's server opens a session (what is bought, for how much); the
-- shopper pays it once, from the wallet (the session's purchase matched
-- against what the wallet approved) or on the hosted payment page (card
-- number and password). The session and its payment change together.

CREATE TABLE checkout_sessions (
  seq           INTEGER PRIMARY KEY,
  id            TEXT    NOT NULL UNIQUE,           -- cs_…
  merchant_id   TEXT    NOT NULL REFERENCES merchants (id),
  order_id      TEXT    NOT NULL,
  amount        INTEGER NOT NULL CHECK (amount > 0),
  currency      TEXT    NOT NULL,
  items         TEXT    NOT NULL,                  -- a JSON array, as checked on arrival
  description   TEXT,
  success_url   TEXT,
  cancel_url    TEXT,
  capture       INTEGER NOT NULL CHECK (capture IN (0, 1)),
  status        TEXT    NOT NULL CHECK (status IN ('open', 'complete', 'expired')),
  expires_at    INTEGER NOT NULL,
  payment_id    TEXT    UNIQUE REFERENCES payments (id),
  paid_with     TEXT    CHECK (paid_with IN ('wallet', 'card')),
  created       INTEGER NOT NULL,
  completed_at  INTEGER,
  CHECK ((status = 'complete') = (payment_id IS NOT NULL))
);
CREATE INDEX checkout_sessions_by_merchant ON checkout_sessions (merchant_id, seq);

-- Where a merchant wants its events. The URL may carry a token of the
-- merchant's, so it is sealed (the merchant id as associated data). Events
-- older than the endpoint are not sent.
CREATE TABLE merchant_webhooks (
  merchant_id  TEXT    PRIMARY KEY REFERENCES merchants (id),
  url_sealed   BLOB    NOT NULL,
  created      INTEGER NOT NULL,
  updated      INTEGER NOT NULL
) WITHOUT ROWID;

-- Merchant events (payment.*, checkout.session.*) are outbox rows; the
-- webhook worker (gw-webhooks.c) claims them with the outbox's own
-- attempts and next_attempt (and gives up with failed_at, last_error, as
-- the e-mail worker does), and logs every try here.
CREATE TABLE webhook_attempts (
  id        INTEGER PRIMARY KEY,
  event_id  INTEGER NOT NULL REFERENCES outbox (id),
  attempt   INTEGER NOT NULL,
  status    INTEGER NOT NULL,                      -- the HTTP status; 0 when none came
  error     TEXT,
  at        INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_by_event ON webhook_attempts (event_id);
