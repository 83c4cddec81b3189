-- 018_idempotency_key_hash.sql: Idempotency-Key values are kept as keyed
-- hashes, never as they came.
--
-- Merchants make their keys of order numbers and customers' details, and
-- the database kept them readable: in idempotency_keys and wallet_charges
-- as text, and in recharges and payouts (request_key) as a bare SHA-256
-- that anyone with the file can test guesses against. Now a key is kept
-- and looked up as HMAC-SHA256, under a key of its own derived from
-- secret.key ("onepin idempotency key v1", gw-keys.c), of its scope, a NUL
-- and the key (gw_keys_idempotency_hash): a 32-byte BLOB, unique by itself
-- since the scope is in it, so the record no longer names its scope and
-- the unique index holds 32 bytes a row instead of the scope and the key.
-- A sealed body's associated data was the scope and the key; it is the
-- hash now. A recharge's or payout's request_key becomes the HMAC of the
-- SHA-256 it was (gw_keys_request_key), which the gateway computes the
-- same way for new requests.
--
-- SQL has no key: gw_idempotency_hash, gw_idempotency_reseal and
-- gw_request_key are the store's, defined on its write connection
-- (gw-store-sqlite.c), so the rows are converted here, in this migration's
-- transaction, once. The records keep their ids, which follow creation
-- (t_idempotency_prune relies on that).

CREATE TABLE idempotency_records (
  id           INTEGER PRIMARY KEY,
  key_hash     BLOB    NOT NULL UNIQUE,    -- HMAC of scope, NUL, key
  fingerprint  BLOB    NOT NULL,
  status       INTEGER NOT NULL,
  body         BLOB    NOT NULL,
  sealed       INTEGER NOT NULL DEFAULT 0,
  created      INTEGER NOT NULL
);
INSERT INTO idempotency_records (id, key_hash, fingerprint, status, body, sealed, created)
  SELECT id, gw_idempotency_hash (scope, key), fingerprint, status,
         CASE WHEN sealed THEN gw_idempotency_reseal (scope, key, body) ELSE body END,
         sealed, created
  FROM idempotency_keys ORDER BY id;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_records RENAME TO idempotency_keys;

-- A wallet charge's key is in the user's scope, "user:" and the user's id.
CREATE TABLE wallet_charges_new (
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
  key_hash           BLOB,                             -- of the client's key, in the user's scope
  fingerprint        BLOB,                             -- the client's request, for that key
  reference          TEXT,                             -- the financial system's id
  decline_code       TEXT,
  created            INTEGER NOT NULL,
  settled            INTEGER,
  UNIQUE (user_id, key_hash)
);
INSERT INTO wallet_charges_new
  SELECT seq, id, user_id, funding_source_id, card_id, amount, currency, status,
         gw_idempotency_hash ('user:' || user_id, idempotency_key), fingerprint, reference,
         decline_code, created, settled
  FROM wallet_charges;
DROP TABLE wallet_charges;
ALTER TABLE wallet_charges_new RENAME TO wallet_charges;
CREATE INDEX wallet_charges_open ON wallet_charges (created)
  WHERE status IN ('pending', 'voiding');

UPDATE recharges SET request_key = gw_request_key (request_key) WHERE request_key IS NOT NULL;
UPDATE payouts SET request_key = gw_request_key (request_key) WHERE request_key IS NOT NULL;
