-- 022_funding_fingerprint_bank.sql: a bank account's fingerprint covers its
-- bank code.
--
-- A funding source's fingerprint (the keyed hash by which the unique index
-- wallet_funding_sources_live refuses a user's second registration of the
-- same card or account) was of its type and number only. An account number
-- is its bank's own, so a user with the same number at two banks could not
-- register the second account. A bank account's fingerprint is now of the
-- type, the bank code and the number (gw_wallet_funding_fingerprint); a
-- credit card's is as it was.
--
-- The number is only in the sealed details and the hash is keyed:
-- gw_funding_fingerprint, the store's (gw-store-sqlite.c, defined on its
-- write connection with the gateway's keys), opens each live account's
-- details and hashes them again, here in this migration's transaction,
-- once. It gives the same value however often it runs. Details that do not
-- open (a warning says which) keep their fingerprint; so does a removed
-- source, whose details are erased: it is outside the unique index and
-- nothing compares it. Wallet charges keep theirs: it is their request's,
-- for the Idempotency-Key, and a charge names its source by id.

UPDATE wallet_funding_sources
   SET fingerprint = COALESCE (gw_funding_fingerprint (id, user_id, type, details_sealed),
                               fingerprint)
 WHERE type = 'bank_account' AND removed_at IS NULL;
