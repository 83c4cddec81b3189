-- 030_charges_by_created.sql: GET /v1/admin/charges reads charges newest first.
--
-- The admins' list of every charge sent (or meant to be sent) to the
-- financial system pages through both tables by (created, id), descending,
-- from a cursor. Neither table had an index on created that covers every
-- row (wallet_charges_open holds only those still open), so each page would
-- have read and sorted the whole table, which grows with every order,
-- recharge and wallet charge. With these a page reads limit + 1 entries from
-- the cursor on.
--
-- Those voided late (voided_late, 028) are the ones an admin reconciling
-- with the bank looks for, and they are very few: a partial index holds
-- only them, so voided_late=true does not walk every charge to find none,
-- and the writer next to nothing. An update of a charge changes neither
-- created nor id: the writer pays one index entry per charge made.

CREATE INDEX charges_by_created ON charges (created, id);
CREATE INDEX charges_voided_late ON charges (created, id) WHERE voided_late IS NOT NULL;

CREATE INDEX wallet_charges_by_created ON wallet_charges (created, id);
CREATE INDEX wallet_charges_voided_late ON wallet_charges (created, id)
  WHERE voided_late IS NOT NULL;
