-- 027_webhook_secret_previous.sql: a merchant's webhook secret before its
-- last rotation, which signs beside the current one until it expires.
--
-- POST /v1/webhook_secret/roll makes a new secret (webhook_secret_sealed)
-- and keeps the one it replaces here, sealed the same way (the merchant id
-- the associated data), for the grace the merchant asked for. Past
-- webhook_secret_previous_expires it no longer signs; the next rotation
-- replaces it.

ALTER TABLE merchants ADD COLUMN webhook_secret_previous_sealed BLOB;
ALTER TABLE merchants ADD COLUMN webhook_secret_previous_expires INTEGER;
