-- 009_order_access.sql: a buyer who lost the order's page (closed while
-- waiting for a bank transfer, say) gets back to the order with its id, the
-- phone or e-mail given with it, and a one-time code e-mailed to the buyer.
-- The code buys a new access token; the old one stops working.

CREATE TABLE order_access_codes (
  order_id      TEXT    PRIMARY KEY REFERENCES orders (id),
  code_hash     BLOB,                      -- keyed hash of order id and code; NULL once used up
  expires_at    INTEGER NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),  -- wrong codes against it
  window_start  INTEGER NOT NULL,          -- the hour codes are counted in
  sent          INTEGER NOT NULL CHECK (sent >= 0)                 -- codes sent in that hour
) WITHOUT ROWID;
