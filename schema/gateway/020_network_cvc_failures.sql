-- 020_network_cvc_failures.sql: wrong expiry dates and CVCs from the card
-- network are counted apart from wrong card passwords.
--
-- They shared the card's one failure count, and a network authorization
-- with the right expiry and CVC reset it, even one then declined for want
-- of funds: anyone holding the number, expiry and CVC could clear the
-- count between password guesses, four at a time, and never be locked out.
-- Now each kind has its own count of consecutive failures. Five of either
-- lock the card (cards.locked_until); only the right password resets the
-- password count, only the right expiry and CVC this one.

CREATE TABLE network_card_failures (
  card_id   TEXT    PRIMARY KEY REFERENCES cards (id),
  failures  INTEGER NOT NULL CHECK (failures > 0)
) WITHOUT ROWID;
