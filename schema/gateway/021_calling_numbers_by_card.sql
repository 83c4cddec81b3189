-- 021_calling_numbers_by_card.sql: a card's calling numbers found by the
-- card, and none left on a wallet's representative card.
--
-- A calling number pays with no password at all, so whoever once knew a
-- card's password could keep a line on it past any change of the password.
-- Now a password change or reset removes the card's calling numbers in its
-- own transaction (gw_phone_forget_calling_numbers), and the holder lists
-- them (POST /v1/cards/calling_numbers/list): both by card_id, which only
-- the primary key (the number's keyed hash) could find until now.
--
-- A wallet's representative card takes no calling numbers: every mall it
-- paid at has seen its number and password, which were all registering a
-- line took. Those registered before that was refused are removed here;
-- its owner could neither see nor remove them (the calling-number routes
-- refuse the card too).

CREATE INDEX phone_calling_numbers_by_card ON phone_calling_numbers (card_id);

DELETE FROM phone_calling_numbers
 WHERE card_id IN (SELECT card_id FROM wallet_users WHERE card_id IS NOT NULL);
