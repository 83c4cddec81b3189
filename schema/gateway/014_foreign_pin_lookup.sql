-- 014_foreign_pin_lookup.sql: a foreign partner's PIN is loaded once.
--
-- PINs were kept only sealed, so nothing noticed a PIN loaded twice (a
-- retried load, a file appended to another, a PIN repeated in one
-- request): it was then sold to two card holders, each debited in full,
-- and only one could redeem it. Each PIN now keeps a keyed lookup hash
-- (HMAC-SHA256 under the card-number lookup key of "foreign", the partner
-- and the PIN), unique per partner; a load naming a PIN already there, or
-- twice, is refused whole (409 foreign_pin_already_loaded). PINs loaded
-- before 014 have none: their sealed value is only opened when sold.

ALTER TABLE foreign_pins ADD COLUMN lookup BLOB;
CREATE UNIQUE INDEX foreign_pins_lookup ON foreign_pins (partner_id, lookup);
