-- 008_checkout_expiry.sql: the sweep that expires checkout sessions past
-- their time (gw_checkout_expire_due) finds them by this index, which holds
-- only the open ones, so it stays as small as the sessions still waiting.

CREATE INDEX checkout_sessions_open_by_expiry ON checkout_sessions (expires_at)
  WHERE status = 'open';
