-- 029_watch_next.sql: a watched charge is asked about ever less often.
--
-- 028 had the sweep ask the bank about every watched charge every round
-- for a whole day, and only about the 200 (the wallet's 20) whose watch
-- ended first: the others waited until those ended. watch_next is when a
-- watched charge is asked about next: a sweep interval after it failed,
-- then twice the last gap later (at most an hour), the last time at
-- watch_until; NULL after that (watch_until stays, for the record). The
-- sweeps take those due, due longest first.
--
-- Those watched now are due at once: their next ask is now.

ALTER TABLE charges ADD COLUMN watch_next INTEGER;
UPDATE charges SET watch_next = CAST(strftime ('%s', 'now') AS INTEGER)
  WHERE watch_until > CAST(strftime ('%s', 'now') AS INTEGER) AND status = 'failed';
DROP INDEX charges_watched;
CREATE INDEX charges_watch_next ON charges (watch_next)
  WHERE watch_next IS NOT NULL AND status = 'failed';

ALTER TABLE wallet_charges ADD COLUMN watch_next INTEGER;
UPDATE wallet_charges SET watch_next = CAST(strftime ('%s', 'now') AS INTEGER)
  WHERE watch_until > CAST(strftime ('%s', 'now') AS INTEGER) AND status = 'failed';
DROP INDEX wallet_charges_watched;
CREATE INDEX wallet_charges_watch_next ON wallet_charges (watch_next)
  WHERE watch_next IS NOT NULL AND status = 'failed';
