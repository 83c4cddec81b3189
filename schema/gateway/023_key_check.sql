-- 023_key_check.sql: the database knows its key file.
--
-- One row: HMAC(lookup key, "onepin key check v1"), the lookup key being
-- derived from secret.key. gw_key_check_value, the store's (defined on its
-- write connection with the gateway's keys), computes it here, in this
-- migration's transaction, so that the table never exists without its row.
-- From now on the store refuses to start with a key file whose value
-- differs, or when the row is gone (gw-store-sqlite-keycheck.c). Before
-- this migration runs, the key was checked against the sealed data already
-- there.

CREATE TABLE key_check (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  mac  BLOB    NOT NULL CHECK (length (mac) = 32)
);

INSERT INTO key_check (id, mac) VALUES (1, gw_key_check_value ());
