-- 019_charge_request_key.sql: an order's charge remembers the request that
-- made it.
--
-- When the bank approves an order's charge but its cards cannot be issued,
-- the approval is tried a few times and then given back (voided, the order
-- failed, decline_code allocation_failed). The buyer's own request is
-- answered 409 payment_in_progress, not stored, and usually the sweep or
-- the bank's callback makes the last try, so nothing was stored under the
-- buyer's Idempotency-Key either: the retry the 409 invites found a failed
-- order and charged the buyer again. Now the charge keeps the hash of its
-- request's key (gw_keys_idempotency_hash, as idempotency_keys.key_hash)
-- and the request's keyed fingerprint: a retry with the same parameters
-- gets that charge's outcome, any other request with the key gets 422
-- idempotency_key_reused. Not unique: a charge that never reached the bank
-- leaves the order payable, and its request's retry makes a new charge
-- under the same key; the newest one is the request's.

ALTER TABLE charges ADD COLUMN key_hash BLOB;
ALTER TABLE charges ADD COLUMN fingerprint BLOB;
CREATE INDEX charges_by_key ON charges (key_hash) WHERE key_hash IS NOT NULL;
