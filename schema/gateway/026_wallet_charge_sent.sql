-- 026_wallet_charge_sent.sql: when a wallet charge was last sent.
--
-- A charge the financial system says it never saw may still be booked a
-- little later, so it fails only once it was sent [site]
-- charge_missing_after ago (gw-api-wallet-funding.c). A charge that failed
-- may be sent again under the same key, so "sent" is not "created".

ALTER TABLE wallet_charges ADD COLUMN sent INTEGER;
UPDATE wallet_charges SET sent = created;
