-- 013_payout_key.sql: a balance refund remembers the request that made it.
--
-- A balance refund whose answer was never stored (503 bank_outcome_unknown)
-- used to be found again only through its card: closed, with a payout
-- pending or paid. Once the payout was settled as declined by someone
-- else (the sweep, or a request under another key), the card was open
-- again, and a retry under the first key, even naming another account,
-- made a new payout. Now the payout keeps the hash of its request's
-- Idempotency-Key (in the card's scope) and the request's keyed
-- fingerprint: a retry with the same parameters gets that payout's
-- outcome, any other request with the key gets 422 idempotency_key_reused.
-- A payout that never reached the bank gives its key up to the retry.

ALTER TABLE payouts ADD COLUMN request_key BLOB;
ALTER TABLE payouts ADD COLUMN request_fingerprint BLOB;
CREATE UNIQUE INDEX payouts_by_request ON payouts (request_key);
