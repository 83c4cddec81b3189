-- 012_recharge_fingerprint.sql: a recharge remembers the parameters of the
-- request that made it.
--
-- A recharge is found again by its request's Idempotency-Key
-- (recharges.request_key) when that request's answer was never stored: a
-- 5xx, or a gateway that stopped while the bank held the reply. The key
-- alone used to be enough, so another request with the same key (another
-- card, amount or funding source) got this recharge as its own answer.
-- Now the row keeps the request's keyed fingerprint (the one its
-- idempotency record would have kept), and only a request with the same
-- fingerprint gets the row; another gets 422 idempotency_key_reused.
-- From 012 on, request_key is taken in the card's scope; rows made before
-- have no fingerprint and a request_key in the scope "public".

ALTER TABLE recharges ADD COLUMN request_fingerprint BLOB;
