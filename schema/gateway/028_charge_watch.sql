-- 028_charge_watch.sql: a charge failed as never seen is watched a while.
--
-- A charge the bank says it never saw fails once it was sent [site]
-- charge_missing_after ago. A bank whose books lag longer than that may
-- still book it: the customer would be charged for nothing. So a charge
-- failed that way keeps being asked about by the sweep until watch_until
-- ([site] charge_watch later); should it turn up approved, it is voided at
-- the bank, never credited, and voided_late records when it turned up.

ALTER TABLE charges ADD COLUMN watch_until INTEGER;
ALTER TABLE charges ADD COLUMN voided_late INTEGER;
CREATE INDEX charges_watched ON charges (watch_until)
  WHERE watch_until IS NOT NULL AND status = 'failed';

ALTER TABLE wallet_charges ADD COLUMN watch_until INTEGER;
ALTER TABLE wallet_charges ADD COLUMN voided_late INTEGER;
CREATE INDEX wallet_charges_watched ON wallet_charges (watch_until)
  WHERE watch_until IS NOT NULL AND status = 'failed';
