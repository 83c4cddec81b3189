-- 001_ledger.sql: accounts, the double-entry journal, cards, merchants,
-- payments, refunds, idempotency records and the notification outbox.
--
-- Money is INTEGER minor units. An account's stored balance is
-- normal * (sum of debits - sum of credits) over its journal lines, where
-- normal is 1 for debit-normal accounts (the issuer's funding, an asset) and
-- -1 for credit-normal ones (cards and merchant payables, liabilities).
-- The CHECKs below, not application code, are what finally stop an overdraft.

CREATE TABLE accounts (
  id        INTEGER PRIMARY KEY,
  kind      TEXT    NOT NULL CHECK (kind IN ('issuer_funding', 'card', 'merchant_payable')),
  normal    INTEGER NOT NULL CHECK (normal IN (1, -1)),
  currency  TEXT    NOT NULL,
  balance   INTEGER NOT NULL DEFAULT 0,
  held      INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  cap       INTEGER,
  CHECK (kind <> 'card' OR balance >= held),
  CHECK (cap IS NULL OR balance <= cap)
);

CREATE TABLE journal_entries (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,   -- issue, payment, refund, recharge, …
  channel      TEXT,               -- internet, telephone, …
  ref          TEXT,               -- pay_…, re_…, batch_…
  payment_id   TEXT,               -- the payment a payment or refund entry belongs to
  merchant_id  TEXT,
  description  TEXT,
  created      INTEGER NOT NULL
);

CREATE TABLE journal_lines (
  id             INTEGER PRIMARY KEY,
  entry_id       INTEGER NOT NULL REFERENCES journal_entries (id),
  account_id     INTEGER NOT NULL REFERENCES accounts (id),
  debit          INTEGER NOT NULL DEFAULT 0 CHECK (debit >= 0),
  credit         INTEGER NOT NULL DEFAULT 0 CHECK (credit >= 0),
  balance_after  INTEGER NOT NULL,
  CHECK ((debit = 0) <> (credit = 0))
);
CREATE INDEX journal_lines_by_account ON journal_lines (account_id, id);
CREATE INDEX journal_lines_by_entry ON journal_lines (entry_id);

CREATE TABLE card_batches (
  id        TEXT    PRIMARY KEY,
  count     INTEGER NOT NULL,
  value     INTEGER NOT NULL,
  currency  TEXT    NOT NULL,
  channel   TEXT    NOT NULL,
  created   INTEGER NOT NULL
);

-- A card's number is found by its keyed hash and kept only sealed
-- (AES-256-GCM, the card id as associated data). Its password is kept as an
-- HMAC under a key that lives in a file outside this database.
CREATE TABLE cards (
  id             TEXT    PRIMARY KEY,
  account_id     INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
  lookup         BLOB    NOT NULL UNIQUE,
  number_sealed  BLOB    NOT NULL,
  last4          TEXT    NOT NULL,
  state          TEXT    NOT NULL CHECK (state IN ('sold', 'active', 'closed')),
  password_mac   BLOB,
  hint_sealed    BLOB,
  failures       INTEGER NOT NULL DEFAULT 0,
  locked_until   INTEGER NOT NULL DEFAULT 0,
  points         INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
  initial_value  INTEGER NOT NULL,
  batch_id       TEXT    REFERENCES card_batches (id),
  channel        TEXT    NOT NULL,
  promotional    INTEGER NOT NULL DEFAULT 0,
  created        INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL
);

CREATE TABLE merchants (
  id                     TEXT    PRIMARY KEY,
  name                   TEXT    NOT NULL,
  category               TEXT,
  key_hash               BLOB    NOT NULL UNIQUE,
  webhook_secret_sealed  BLOB    NOT NULL,
  account_id             INTEGER NOT NULL REFERENCES accounts (id),
  created                INTEGER NOT NULL
);

CREATE TABLE payments (
  seq              INTEGER PRIMARY KEY,
  id               TEXT    NOT NULL UNIQUE,
  merchant_id      TEXT    NOT NULL REFERENCES merchants (id),
  card_id          TEXT    NOT NULL REFERENCES cards (id),
  status           TEXT    NOT NULL CHECK (status IN ('authorized', 'captured', 'canceled')),
  amount           INTEGER NOT NULL CHECK (amount > 0),
  amount_captured  INTEGER NOT NULL DEFAULT 0,
  amount_refunded  INTEGER NOT NULL DEFAULT 0,
  currency         TEXT    NOT NULL,
  order_id         TEXT    NOT NULL,
  description      TEXT,
  channel          TEXT    NOT NULL,
  created          INTEGER NOT NULL,
  capture_before   INTEGER,
  canceled_at      INTEGER,
  points           INTEGER NOT NULL DEFAULT 0,
  CHECK (amount_captured BETWEEN 0 AND amount),
  CHECK (amount_refunded BETWEEN 0 AND amount_captured)
);
CREATE INDEX payments_by_merchant ON payments (merchant_id, seq);
CREATE INDEX payments_open_holds ON payments (capture_before) WHERE status = 'authorized';

CREATE TABLE refunds (
  id          TEXT    PRIMARY KEY,
  payment_id  TEXT    NOT NULL REFERENCES payments (id),
  amount      INTEGER NOT NULL CHECK (amount > 0),
  currency    TEXT    NOT NULL,
  created     INTEGER NOT NULL
);

-- The first outcome of a keyed request, stored in the transaction of its
-- effects. Bodies that carry secrets (new card numbers, a merchant's key)
-- are sealed.
CREATE TABLE idempotency_keys (
  scope        TEXT    NOT NULL,
  key          TEXT    NOT NULL,
  fingerprint  BLOB    NOT NULL,
  status       INTEGER NOT NULL,
  body         BLOB    NOT NULL,
  sealed       INTEGER NOT NULL DEFAULT 0,
  created      INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created);

-- The transactional outbox: written with the money movement it reports,
-- delivered later by the notification worker.
-- An event's public id is "evt_" and its id in hex: no second unique index.
CREATE TABLE outbox (
  id            INTEGER PRIMARY KEY,
  type          TEXT    NOT NULL,
  merchant_id   TEXT,
  payload       TEXT    NOT NULL,
  created       INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  next_attempt  INTEGER NOT NULL DEFAULT 0,
  delivered_at  INTEGER
);
CREATE INDEX outbox_pending ON outbox (next_attempt) WHERE delivered_at IS NULL;

-- The issuer's funding account: the money received for cards sold.
INSERT INTO accounts (id, kind, normal, currency) VALUES (1, 'issuer_funding', 1, 'krw');
