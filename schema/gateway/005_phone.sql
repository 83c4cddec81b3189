-- 005_phone.sql: telephone charging. Softswitches, versioned rate tables,
-- online-charging sessions (the RFC 4006 credit-control model), per-use
-- services, and the calling numbers a card holder registered.
--
-- A switch is a merchant whose category is 'telephone': its calls are debited from
-- the card and credited to its payable account like any payment, as journal
-- entries of kind 'payment' and channel 'telephone', 'prepaid_mobile' or
-- 'telephone_information'. What a session has reserved and not yet debited
-- is a hold on the card's account (accounts.held), listed here in
-- phone_sessions.held so that the audit can account for it.

-- A rate table is immutable once loaded; a new version replaces it for
-- sessions that start afterwards. The newest version is the active one.
CREATE TABLE phone_rate_tables (
  id        TEXT    PRIMARY KEY,
  version   INTEGER NOT NULL UNIQUE,
  name      TEXT    NOT NULL,
  currency  TEXT    NOT NULL,
  created   INTEGER NOT NULL
);

CREATE TABLE phone_rates (
  table_id        TEXT    NOT NULL REFERENCES phone_rate_tables (id),
  prefix          TEXT    NOT NULL,          -- leading digits of the dialled number
  category        TEXT    NOT NULL CHECK (category IN ('local', 'long_distance', 'mobile',
                                                       'international', 'special')),
  country         TEXT,                      -- ISO 3166 alpha-2, for international
  description     TEXT,
  per_minute      INTEGER NOT NULL CHECK (per_minute >= 0),
  increment       INTEGER NOT NULL CHECK (increment > 0),   -- seconds per billing unit
  connection_fee  INTEGER NOT NULL CHECK (connection_fee >= 0),
  PRIMARY KEY (table_id, prefix)
) WITHOUT ROWID;

CREATE TABLE phone_services (
  table_id  TEXT    NOT NULL REFERENCES phone_rate_tables (id),
  service   TEXT    NOT NULL,                -- voicemail, information
  price     INTEGER NOT NULL CHECK (price > 0),
  PRIMARY KEY (table_id, service)
) WITHOUT ROWID;

-- One credit-control session per call. Seconds: granted is the running
-- total the switch may use, billed what has been debited for (never more
-- than granted), reported what the switch said it used. Money: charged has
-- been debited from the card; held is reserved on it for the current grant.
CREATE TABLE phone_sessions (
  id              TEXT    PRIMARY KEY,
  merchant_id     TEXT    NOT NULL REFERENCES merchants (id),
  card_id         TEXT    NOT NULL REFERENCES cards (id),
  account_id      INTEGER NOT NULL REFERENCES accounts (id),
  service         TEXT    NOT NULL,
  channel         TEXT    NOT NULL,
  destination     TEXT    NOT NULL,
  category        TEXT    NOT NULL,
  rate_table_id   TEXT    NOT NULL REFERENCES phone_rate_tables (id),
  prefix          TEXT    NOT NULL,
  per_minute      INTEGER NOT NULL,
  increment       INTEGER NOT NULL,
  connection_fee  INTEGER NOT NULL,
  currency        TEXT    NOT NULL,
  state           TEXT    NOT NULL CHECK (state IN ('open', 'terminated', 'expired')),
  final           INTEGER NOT NULL DEFAULT 0,
  request_number  INTEGER NOT NULL DEFAULT 0,
  granted         INTEGER NOT NULL DEFAULT 0,
  last_grant      INTEGER NOT NULL DEFAULT 0,
  reported        INTEGER NOT NULL DEFAULT 0,
  billed          INTEGER NOT NULL DEFAULT 0,
  charged         INTEGER NOT NULL DEFAULT 0 CHECK (charged >= 0),
  held            INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),
  created         INTEGER NOT NULL,
  updated         INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  CHECK (billed <= granted),
  CHECK (state = 'open' OR held = 0)
);
CREATE INDEX phone_sessions_open ON phone_sessions (expires_at) WHERE state = 'open';
CREATE INDEX phone_sessions_by_card ON phone_sessions (card_id) WHERE state = 'open';

-- Per-use services (voicemail, information), debited in one request.
CREATE TABLE phone_events (
  id           TEXT    PRIMARY KEY,
  merchant_id  TEXT    NOT NULL REFERENCES merchants (id),
  card_id      TEXT    NOT NULL REFERENCES cards (id),
  service      TEXT    NOT NULL,
  quantity     INTEGER NOT NULL,
  amount       INTEGER NOT NULL CHECK (amount > 0),
  currency     TEXT    NOT NULL,
  created      INTEGER NOT NULL
);

-- A calling number a card holder registered, so that calls from it are
-- charged to the card without the number and password being keyed in. The
-- number is found by its keyed hash, like a card number.
CREATE TABLE phone_calling_numbers (
  lookup   BLOB    PRIMARY KEY,
  card_id  TEXT    NOT NULL REFERENCES cards (id),
  last4    TEXT    NOT NULL,
  created  INTEGER NOT NULL
) WITHOUT ROWID;

-- Sales through a mobile operator's ARS (and its PIN pools). The operator
-- (a merchant of category 'mobile_operator') bills the card to its
-- subscriber's phone bill and owes the issuer its value: a sale debits the
-- operator's receivable account (debit-normal, like the issuer's funding)
-- and credits the card. The account is made on the operator's first sale.
CREATE TABLE phone_operators (
  merchant_id     TEXT    PRIMARY KEY REFERENCES merchants (id),
  account_id      INTEGER NOT NULL UNIQUE REFERENCES accounts (id),
  commission_bps  INTEGER NOT NULL DEFAULT 0 CHECK (commission_bps BETWEEN 0 AND 10000),
  created         INTEGER NOT NULL
);

-- commission is the seller's share, fixed at the sale: floor (amount x
-- commission_bps / 10,000), rounded down, in the issuer's favour.
CREATE TABLE phone_sales (
  id           TEXT    PRIMARY KEY,
  merchant_id  TEXT    NOT NULL REFERENCES merchants (id),
  kind         TEXT    NOT NULL CHECK (kind IN ('purchase', 'recharge')),
  card_id      TEXT    NOT NULL REFERENCES cards (id),
  amount       INTEGER NOT NULL CHECK (amount > 0),
  commission   INTEGER NOT NULL DEFAULT 0 CHECK (commission BETWEEN 0 AND amount),
  currency     TEXT    NOT NULL,
  pool_id      TEXT,
  created      INTEGER NOT NULL
);
CREATE INDEX phone_sales_by_merchant ON phone_sales (merchant_id, created);

-- Pools of inactive card numbers handed to a seller: a mobile operator
-- ('operator', sold through its ARS) or a card-selling agent ('agent',
-- printed on physical cards). An unsold number is not a card at all: no
-- payment, registration or lookup knows it. A sale makes it a card.
CREATE TABLE phone_pools (
  id           TEXT    PRIMARY KEY,
  kind         TEXT    NOT NULL CHECK (kind IN ('operator', 'agent')),
  merchant_id  TEXT    NOT NULL REFERENCES merchants (id),
  value        INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  created      INTEGER NOT NULL
);
CREATE INDEX phone_pools_by_merchant ON phone_pools (merchant_id, kind, value);

-- The number is sealed with "pool id/seq" as associated data. An agent's
-- card also has a scratch-panel secret, kept only as the password MAC it
-- becomes when the card is activated.
CREATE TABLE phone_pool_pins (
  pool_id        TEXT    NOT NULL REFERENCES phone_pools (id),
  seq            INTEGER NOT NULL,
  lookup         BLOB    NOT NULL UNIQUE,
  number_sealed  BLOB    NOT NULL,
  last4          TEXT    NOT NULL,
  secret_mac     BLOB,
  state          TEXT    NOT NULL CHECK (state IN ('available', 'sold', 'void')),
  card_id        TEXT    REFERENCES cards (id),
  sold_at        INTEGER,
  PRIMARY KEY (pool_id, seq)
) WITHOUT ROWID;
CREATE INDEX phone_pool_pins_available ON phone_pool_pins (pool_id, seq) WHERE state = 'available';

-- A call to the ARS menu, driven by the operator's IVR one input at a time.
-- What the caller keyed in is kept only as keyed hashes (the card's lookup,
-- a first password entry's MAC) and the calling number sealed with the
-- session id as associated data; all of it is cleared when the call ends.
CREATE TABLE ars_sessions (
  id              TEXT    PRIMARY KEY,
  merchant_id     TEXT    NOT NULL REFERENCES merchants (id),
  calling_sealed  BLOB,
  calling_last4   TEXT    NOT NULL,
  locale          TEXT    NOT NULL CHECK (locale IN ('ko', 'en')),
  state           TEXT    NOT NULL,
  step            INTEGER NOT NULL,
  retries         INTEGER NOT NULL DEFAULT 0,
  card_lookup     BLOB,
  card_id         TEXT,
  value           INTEGER NOT NULL DEFAULT 0,
  pin_mac         BLOB,
  created         INTEGER NOT NULL,
  updated         INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL
);
CREATE INDEX ars_sessions_by_age ON ars_sessions (updated);

-- Merchant settlement (FIG. 8). Each run settles, per merchant, the
-- payment and refund lines of its payable account not yet settled and dated
-- before the end of the settlement day (Seoul time): the commission goes to
-- the issuer's commission account, the rest to the merchant's settled
-- account, both out of its payable. watermark is the last journal line
-- settled, so no line is ever settled twice.
--
-- Module accounts use the core kinds: the settled and commission accounts
-- are credit-normal like a payable ('merchant_payable'); their role is
-- recorded here.
CREATE TABLE settlement_merchants (
  merchant_id      TEXT    PRIMARY KEY REFERENCES merchants (id),
  commission_bps   INTEGER NOT NULL DEFAULT 0 CHECK (commission_bps BETWEEN 0 AND 10000),
  settled_account  INTEGER REFERENCES accounts (id),
  watermark        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE settlement_accounts (
  role        TEXT    PRIMARY KEY,           -- commission
  account_id  INTEGER NOT NULL REFERENCES accounts (id)
);

CREATE TABLE settlements (
  id              TEXT    PRIMARY KEY,
  merchant_id     TEXT    NOT NULL REFERENCES merchants (id),
  date            TEXT    NOT NULL,          -- YYYY-MM-DD, Seoul
  first_line      INTEGER NOT NULL,
  last_line       INTEGER NOT NULL,
  payments        INTEGER NOT NULL,
  captured        INTEGER NOT NULL,
  refunds         INTEGER NOT NULL,
  refunded        INTEGER NOT NULL,
  commission_bps  INTEGER NOT NULL,
  commission      INTEGER NOT NULL,
  net             INTEGER NOT NULL,
  created         INTEGER NOT NULL,
  CHECK (captured - refunded = commission + net)
);
CREATE INDEX settlements_by_date ON settlements (date, merchant_id);

-- Foreign partners (FIG. 9). The issuer holds pools of a foreign prepaid
-- card company's PINs, bought for value. A card holder switches part of a
-- balance into one: the card is debited in won at the partner's rate and
-- the partner's account credited the same won, and the PIN is shown once
-- (then only its last four digits are kept). A foreign site may also charge
-- a card directly in its own currency, converted at the same rate.
--
-- rate_e6 is won per one major unit of the foreign currency, times 10^6
-- ("1350.25" is 1350250000). Every conversion rounds the won up, so a card
-- never pays less than the exact value and both sides of the entry carry
-- the same rounded amount: nothing leaks.
CREATE TABLE foreign_partners (
  id          TEXT    PRIMARY KEY,
  name        TEXT    NOT NULL,
  currency    TEXT    NOT NULL,
  rate_e6     INTEGER NOT NULL CHECK (rate_e6 > 0),
  account_id  INTEGER NOT NULL REFERENCES accounts (id),
  merchant_id TEXT    UNIQUE REFERENCES merchants (id),   -- charges inbound, if any
  created     INTEGER NOT NULL
);

CREATE TABLE foreign_pins (
  partner_id   TEXT    NOT NULL REFERENCES foreign_partners (id),
  seq          INTEGER NOT NULL,
  face_value   INTEGER NOT NULL CHECK (face_value > 0),   -- minor units of the partner's currency
  pin_sealed   BLOB,                                      -- NULL once shown
  last4        TEXT    NOT NULL,
  state        TEXT    NOT NULL CHECK (state IN ('available', 'sold')),
  card_id      TEXT    REFERENCES cards (id),
  krw_amount   INTEGER,
  sold_at      INTEGER,
  PRIMARY KEY (partner_id, seq)
) WITHOUT ROWID;
CREATE INDEX foreign_pins_available ON foreign_pins (partner_id, face_value, seq)
  WHERE state = 'available';

-- Both amounts of a converted movement, on its journal entry.
ALTER TABLE journal_entries ADD COLUMN foreign_amount INTEGER;
ALTER TABLE journal_entries ADD COLUMN foreign_currency TEXT;
ALTER TABLE journal_entries ADD COLUMN fx_rate_e6 INTEGER;
