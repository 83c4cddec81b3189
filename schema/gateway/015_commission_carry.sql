-- 015_commission_carry.sql: settlement commission rounded without a leak.
--
-- Each settlement run used to truncate its own commission, so payments
-- settled in one run and their refunds in another were rounded apart: two
-- 50-won payments at 1% paid no commission, and refunding both gave 1 won
-- of commission back, leaving the merchant 1 won up and the commission
-- account 1 won down. Now a merchant carries the part of a won a run did
-- not charge (in ten-thousandths of a won, 0 to 9999) into its next run,
-- so over any span of runs the commission is the floor of the exact total.

ALTER TABLE settlement_merchants ADD COLUMN commission_carry INTEGER NOT NULL DEFAULT 0
  CHECK (commission_carry BETWEEN 0 AND 9999);
