-- 024_order_reopened.sql: an order reopened after its numbers were shown.
--
-- Numbers are shown once. A one-time code e-mailed to the buyer gives an
-- order a new token (009); when that happens after the order's numbers were
-- shown, the order can no longer give its cards: a gift claimed at an
-- address of the reopener's would show a number again, to whoever reads the
-- buyer's mail. The buyer saw the numbers and registers the cards with
-- them; only the page that saw them could have given them. An order
-- reopened before its numbers were shown shows them once and gives as
-- before.

ALTER TABLE orders ADD COLUMN reopened_at INTEGER;  -- NULL, or when first so reopened
