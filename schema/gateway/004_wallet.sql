-- 004_wallet.sql: the e-wallet's accounts, sessions, funding sources and
-- charges. The representative card itself is an ordinary row of cards (and
-- its account of accounts); a user points at it.
--
-- Nothing here is readable without the key file: passwords are PBKDF2-SHA256
-- under a keyed MAC, session tokens and CVCs are keyed hashes, and the
-- profile and funding details are sealed (AES-256-GCM, the row's id as
-- associated data).

CREATE TABLE wallet_users (
  id                   TEXT    PRIMARY KEY,
  login_id             TEXT    NOT NULL UNIQUE,          -- lowercase
  password_salt        BLOB    NOT NULL,
  password_hash        BLOB    NOT NULL,                 -- HMAC(key, PBKDF2(password, salt, iterations))
  password_iterations  INTEGER NOT NULL CHECK (password_iterations > 0),
  profile_sealed       BLOB    NOT NULL,                 -- {"name","email","phone"}
  receipt_channel      TEXT    NOT NULL DEFAULT 'email'
                               CHECK (receipt_channel IN ('email', 'sms', 'none')),
  locale               TEXT    NOT NULL DEFAULT 'ko' CHECK (locale IN ('ko', 'en')),
  failures             INTEGER NOT NULL DEFAULT 0,
  locked_until         INTEGER NOT NULL DEFAULT 0,
  card_id              TEXT    UNIQUE REFERENCES cards (id),
  card_cvc_mac         BLOB,
  created              INTEGER NOT NULL,
  CHECK ((card_id IS NULL) = (card_cvc_mac IS NULL))
);

CREATE TABLE wallet_sessions (
  id          TEXT    PRIMARY KEY,
  user_id     TEXT    NOT NULL REFERENCES wallet_users (id),
  token_hash  BLOB    NOT NULL UNIQUE,
  created     INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX wallet_sessions_by_user ON wallet_sessions (user_id);
CREATE INDEX wallet_sessions_by_expiry ON wallet_sessions (expires_at);

-- A removed source keeps its masked form for the history; its sealed
-- details are erased.
CREATE TABLE wallet_funding_sources (
  seq             INTEGER PRIMARY KEY,
  id              TEXT    NOT NULL UNIQUE,
  user_id         TEXT    NOT NULL REFERENCES wallet_users (id),
  type            TEXT    NOT NULL CHECK (type IN ('credit_card', 'bank_account')),
  fingerprint     BLOB    NOT NULL,                    -- keyed hash of the number
  details_sealed  BLOB,
  last4           TEXT    NOT NULL,
  digits          INTEGER NOT NULL,                    -- length of the number, for the mask
  exp_month       INTEGER,
  exp_year        INTEGER,
  bank_code       TEXT,
  created         INTEGER NOT NULL,
  removed_at      INTEGER,
  CHECK ((removed_at IS NULL) = (details_sealed IS NOT NULL))
);
CREATE UNIQUE INDEX wallet_funding_sources_live
  ON wallet_funding_sources (user_id, fingerprint) WHERE removed_at IS NULL;

-- A charge is written as pending before the financial system is asked, so
-- that an answer lost to a timeout or a crash is settled by asking again
-- under the same key (the charge id), never by charging twice.
CREATE TABLE wallet_charges (
  seq                INTEGER PRIMARY KEY,
  id                 TEXT    NOT NULL UNIQUE,          -- also the connector's idempotency key
  user_id            TEXT    NOT NULL REFERENCES wallet_users (id),
  funding_source_id  TEXT    NOT NULL REFERENCES wallet_funding_sources (id),
  card_id            TEXT    NOT NULL REFERENCES cards (id),
  amount             INTEGER NOT NULL CHECK (amount > 0 AND amount % 10000 = 0),
  currency           TEXT    NOT NULL,
  status             TEXT    NOT NULL
                     CHECK (status IN ('pending', 'succeeded', 'declined', 'failed', 'voiding',
                                       'voided')),
  idempotency_key    TEXT,                             -- the client's, in the user's scope
  fingerprint        BLOB,                             -- the client's request, for that key
  reference          TEXT,                             -- the financial system's id
  decline_code       TEXT,
  created            INTEGER NOT NULL,
  settled            INTEGER,
  UNIQUE (user_id, idempotency_key)
);
CREATE INDEX wallet_charges_open ON wallet_charges (created)
  WHERE status IN ('pending', 'voiding');
