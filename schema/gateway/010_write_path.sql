-- 010_write_path.sql: fewer pages written by each commit of payments.
--
-- Every payment writes an idempotency record, and every commit writes each
-- page it changed to the WAL and later back to the database file. The
-- records cost pages without earning them:
--
-- idempotency_keys was a WITHOUT ROWID table ordered by (scope, key): its
-- rows (each with the answer's body, some 400 bytes) went wherever the
-- client's key sorts, eight to a page, so a commit of a few payments with
-- random keys touched as many leaves, and an index by age besides. Now the
-- rows go at the end of a rowid table, in the order they are written, and
-- only a small unique index is ordered by key. Old records are pruned by
-- rowid, which follows creation (gw-store-sqlite.c, t_idempotency_prune).
--
-- And one thing costs time: SQLite checks "status IN (a, b, c)" by building
-- a temporary table of the three values for every row it writes, which
-- doubled the cost of inserting a payment. The same rule as three
-- comparisons is checked in place; payments is rebuilt to change it.

CREATE TABLE idempotency_records (
  id           INTEGER PRIMARY KEY,
  scope        TEXT    NOT NULL,
  key          TEXT    NOT NULL,
  fingerprint  BLOB    NOT NULL,
  status       INTEGER NOT NULL,
  body         BLOB    NOT NULL,
  sealed       INTEGER NOT NULL DEFAULT 0,
  created      INTEGER NOT NULL,
  UNIQUE (scope, key)
);
INSERT INTO idempotency_records (scope, key, fingerprint, status, body, sealed, created)
  SELECT scope, key, fingerprint, status, body, sealed, created FROM idempotency_keys
  ORDER BY created, scope, key;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_records RENAME TO idempotency_keys;

CREATE TABLE payments_new (
  seq              INTEGER PRIMARY KEY,
  id               TEXT    NOT NULL UNIQUE,
  merchant_id      TEXT    NOT NULL REFERENCES merchants (id),
  card_id          TEXT    NOT NULL REFERENCES cards (id),
  status           TEXT    NOT NULL CHECK (status = 'authorized' OR status = 'captured'
                                     OR status = 'canceled'),
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
INSERT INTO payments_new SELECT * FROM payments;
DROP TABLE payments;
ALTER TABLE payments_new RENAME TO payments;
CREATE INDEX payments_by_merchant ON payments (merchant_id, seq);
CREATE INDEX payments_open_holds ON payments (capture_before) WHERE status = 'authorized';
