-- 023_key_check.sql: the database knows its key file.
--
-- One row: HMAC(lookup key, "onepin key check v1"), the lookup key being
-- derived from secret.key. The store writes it after the migrations when it
-- is missing, and refuses to start with a key file whose value differs
-- (gw-store-sqlite-keycheck.c). A database from before this migration is
-- checked once by opening a card's sealed number instead.

CREATE TABLE key_check (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  mac  BLOB    NOT NULL CHECK (length (mac) = 32)
);
