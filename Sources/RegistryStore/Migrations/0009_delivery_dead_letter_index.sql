-- Dead letters are what an operator alerts on (/metrics counts them at every scrape): an index
-- over only them keeps that count cheap however many delivered rows the table holds.
CREATE INDEX delivery_dead ON delivery (subscription_id) WHERE status = 'dead';
