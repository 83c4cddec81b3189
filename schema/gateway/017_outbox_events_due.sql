-- 017_outbox_events_due.sql: the merchant events due, without the rows no
-- worker will ever finish.
--
-- outbox_pending indexed every row not delivered. Rows given up (failed_at),
-- e-mail or SMS for a channel not configured, and phone_session.ended, which
-- was written for every call and read by nothing, stayed in it for good, and
-- the webhook poll walked all of them every second on the main thread (a
-- million such rows: 140 ms per poll, 15% of a core while idle). Merchant
-- events not yet finished get an index of their own; e-mail and SMS have
-- outbox_due_by_type (002).
DROP INDEX outbox_pending;
CREATE INDEX outbox_events_due ON outbox (next_attempt)
  WHERE delivered_at IS NULL AND failed_at IS NULL AND merchant_id IS NOT NULL;

-- phone_session.ended is a merchant event from now on, sent to the
-- merchant's webhook endpoint like payment.* and checkout.*. The ones
-- written before were never meant for an endpoint (their payload is not the
-- event's object): they are closed, not sent.
UPDATE outbox SET failed_at = created, last_error = 'written before phone_session events were sent'
  WHERE type = 'phone_session.ended' AND delivered_at IS NULL AND failed_at IS NULL;
