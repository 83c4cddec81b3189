-- 011_credential_failures.sql: every refused credential, counted by day.
--
-- A wrong password has always been written (the card's consecutive failures,
-- which lock it at five), but an unknown or malformed number changed nothing,
-- so its answer came back without waiting for a commit: about half the time
-- of a wrong password, which told anyone timing the answers whether a number
-- exists. Now every refused credential (a card's number and password, and
-- likewise a wallet sign-in or an order's access code) adds one here, in the
-- transaction that answers it, so each waits for the same durable commit.
-- The counts are the operator's: GET /metrics shows today's.

CREATE TABLE credential_failures (
  day    INTEGER PRIMARY KEY,                 -- Unix time / 86400 (UTC days)
  count  INTEGER NOT NULL CHECK (count > 0)
);
