-- 016_wallet_login_attempts.sql: password guesses counted per login ID,
-- whether or not an account has it.
--
-- The count used to live on wallet_users, so only an existing login ID
-- could be locked: after five wrong passwords it answered 429 login_locked
-- and an unknown one kept answering 401, which told anyone which IDs exist.
-- It was also written after the password hash, so parallel guesses were all
-- hashed before the first failure was counted. Now each attempt is counted
-- here before its hash is computed, under a keyed hash of the lower-cased
-- login ID (never the ID itself: people type passwords into that field).
-- The counts on wallet_users are dropped; a lock under way when this runs
-- is lifted.

CREATE TABLE wallet_login_attempts (
  login_hash    BLOB    PRIMARY KEY,               -- HMAC(lookup key, "wallet-login-id\n" + ID)
  failures      INTEGER NOT NULL CHECK (failures >= 0),  -- counted when the attempt starts
  locked_until  INTEGER NOT NULL DEFAULT 0,
  updated       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX wallet_login_attempts_by_updated ON wallet_login_attempts (updated);

ALTER TABLE wallet_users DROP COLUMN failures;
ALTER TABLE wallet_users DROP COLUMN locked_until;
