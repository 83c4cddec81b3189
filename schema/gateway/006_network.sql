-- 006_network.sql: the card network's issuer side. onepin's cards are
-- taken by malls that know nothing of onepin, through their acquirer
-- (onepin-bank's card network), which routes the authorizations of
-- onepin's BIN range to POST /v1/network/messages.
--
-- Each mall at each acquirer is a ledger merchant of its own, made on its
-- first payment, so statements name the shop and the audit covers it.

CREATE TABLE network_merchants (
  acquirer     TEXT    NOT NULL,                 -- field 32
  acceptor     TEXT    NOT NULL,                 -- field 42: the mall's id at its acquirer
  merchant_id  TEXT    NOT NULL UNIQUE REFERENCES merchants (id),
  mcc          TEXT    NOT NULL,                 -- field 18 of its first message
  created      INTEGER NOT NULL,
  PRIMARY KEY (acquirer, acceptor)
) WITHOUT ROWID;

-- Every message an acquirer sent, by what names it on the network: its
-- acquirer, STAN and transmission time. A repeat of one (outside the
-- idempotency record's life) is refused, a completion, reversal or refund
-- finds its original here, and a reversal that arrives before its original
-- leaves a row in the original's place (payment_id NULL, response 05), so
-- the late original is declined without moving money.
CREATE TABLE network_messages (
  acquirer     TEXT    NOT NULL,
  stan         TEXT    NOT NULL,                 -- field 11
  transmitted  TEXT    NOT NULL,                 -- field 7, MMDDhhmmss
  mti          TEXT    NOT NULL,
  processing   TEXT    NOT NULL,                 -- field 3
  amount       INTEGER NOT NULL,
  payment_id   TEXT    REFERENCES payments (id),
  response     TEXT    NOT NULL,                 -- field 39 of our answer
  approval     TEXT,                             -- field 38 of an approval
  reversed_at  INTEGER,
  created      INTEGER NOT NULL,
  PRIMARY KEY (acquirer, stan, transmitted)
) WITHOUT ROWID;
CREATE INDEX network_messages_by_payment ON network_messages (payment_id);
