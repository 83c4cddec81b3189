-- 025_settlement_unique.sql: a merchant's lines are settled once.
--
-- A settlement run reads the merchant's watermark, sums the lines after it
-- and moves the watermark on. With several gateway processes on one
-- database two runs could read the same watermark; the watermark's update
-- is a compare-and-set (gw-settlement-store-sqlite.c), and this index makes
-- the database itself refuse a second settlement of the same lines.

CREATE UNIQUE INDEX settlements_by_merchant_line ON settlements (merchant_id, first_line);
