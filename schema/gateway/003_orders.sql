-- 003_orders.sql: the cyber card site. Orders and the cards allocated to
-- them, charges made through the connector (the bank or card company),
-- gifts, recharges and balance refunds paid out to bank accounts.
--
-- Money still moves only through the journal of 001: an order's cards are
-- issued like a batch (funding debited, cards credited), a recharge debits
-- the funding and credits the card, a payout does the reverse. These tables
-- say why, and carry the state of what happens outside.

CREATE TABLE orders (
  seq             INTEGER PRIMARY KEY,
  id              TEXT    NOT NULL UNIQUE,
  status          TEXT    NOT NULL
                  CHECK (status IN ('created', 'paying', 'pending', 'failed', 'allocated')),
  token_hash      BLOB    NOT NULL,          -- keyed hash of the order's access token
  buyer_sealed    BLOB    NOT NULL,          -- name, phone, e-mail, address: AES-GCM, id as AAD
  locale          TEXT    NOT NULL,
  currency        TEXT    NOT NULL,
  total           INTEGER NOT NULL CHECK (total > 0 AND total <= 1000000),
  card_count      INTEGER NOT NULL CHECK (card_count BETWEEN 1 AND 100),
  charge_id       TEXT,                      -- the latest charge
  cards_revealed  INTEGER NOT NULL DEFAULT 0,
  created         INTEGER NOT NULL,
  paid_at         INTEGER,
  -- cards exist only once paid, and paid only with cards
  CHECK ((status = 'allocated') = (paid_at IS NOT NULL))
);

CREATE TABLE order_items (
  order_id      TEXT    NOT NULL REFERENCES orders (id),
  denomination  INTEGER NOT NULL CHECK (denomination IN (5000, 10000, 20000, 30000, 50000, 100000)),
  quantity      INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 99),
  PRIMARY KEY (order_id, denomination)
) WITHOUT ROWID;

CREATE TABLE order_cards (
  card_id       TEXT    PRIMARY KEY REFERENCES cards (id),
  order_id      TEXT    NOT NULL REFERENCES orders (id),
  position      INTEGER NOT NULL,
  denomination  INTEGER NOT NULL,
  purpose       TEXT    NOT NULL DEFAULT 'user' CHECK (purpose IN ('user', 'gift')),
  UNIQUE (order_id, position)
);

-- A charge through the connector. Its id is the idempotency key the bank
-- sees, the same on every retry and query, so it is never charged twice.
CREATE TABLE charges (
  id                TEXT    PRIMARY KEY,
  purpose           TEXT    NOT NULL CHECK (purpose IN ('order', 'recharge')),
  owner_id          TEXT    NOT NULL,        -- ord_… or rch_…
  method            TEXT    NOT NULL CHECK (method IN ('credit_card', 'bank_account', 'transfer')),
  amount            INTEGER NOT NULL CHECK (amount > 0),
  currency          TEXT    NOT NULL,
  status            TEXT    NOT NULL
                    CHECK (status IN ('processing', 'pending', 'approved', 'declined', 'failed',
                                      'canceled', 'voiding', 'voided')),
  reference         TEXT,
  decline_code      TEXT,
  virtual_bank      TEXT,
  virtual_account   TEXT,
  deposit_deadline  INTEGER,
  created           INTEGER NOT NULL,
  updated           INTEGER NOT NULL
);
CREATE INDEX charges_open ON charges (updated)
  WHERE status IN ('processing', 'pending', 'voiding');

CREATE TABLE gifts (
  id              TEXT    PRIMARY KEY,
  card_id         TEXT    NOT NULL UNIQUE REFERENCES cards (id),
  order_id        TEXT    NOT NULL REFERENCES orders (id),
  claim_hash      BLOB    NOT NULL UNIQUE,   -- keyed hash of the claim token
  details_sealed  BLOB    NOT NULL,          -- names, e-mail, message, design: id as AAD
  status          TEXT    NOT NULL CHECK (status IN ('sent', 'claimed')),
  created         INTEGER NOT NULL,
  claimed_at      INTEGER
);

CREATE TABLE recharges (
  id              TEXT    PRIMARY KEY,
  card_id         TEXT    NOT NULL REFERENCES cards (id),
  amount          INTEGER NOT NULL CHECK (amount > 0 AND amount % 10000 = 0),
  currency        TEXT    NOT NULL,
  status          TEXT    NOT NULL
                  CHECK (status IN ('processing', 'pending', 'succeeded', 'failed')),
  decline_code    TEXT,                      -- a failure of our own: balance_limit
  charge_id       TEXT    NOT NULL UNIQUE REFERENCES charges (id),
  request_key     BLOB    UNIQUE,            -- SHA-256 of the Idempotency-Key's scope and key
  contact_sealed  BLOB,                      -- where the receipt goes
  balance_after   INTEGER,
  expires_at      INTEGER,
  created         INTEGER NOT NULL
);

-- A card's balance paid out to a bank account; the card is closed while it
-- is pending and for good once it succeeded.
CREATE TABLE payouts (
  id              TEXT    PRIMARY KEY,
  card_id         TEXT    NOT NULL REFERENCES cards (id),
  amount          INTEGER NOT NULL CHECK (amount > 0),
  currency        TEXT    NOT NULL,
  status          TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  bank_code       TEXT    NOT NULL,
  account_last4   TEXT    NOT NULL,
  contact_sealed  BLOB,
  decline_code    TEXT,
  reference       TEXT,
  created         INTEGER NOT NULL,
  updated         INTEGER NOT NULL
);
CREATE UNIQUE INDEX payouts_one_open_per_card ON payouts (card_id) WHERE status = 'pending';
CREATE INDEX payouts_open ON payouts (updated) WHERE status = 'pending';
