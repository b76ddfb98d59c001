-- Each lease of a delivery gets a token of its own, and a worker records
-- what the mail server said only while the token is still the delivery's:
-- a worker whose lease ran out (a long outage, a paused process) cannot
-- overwrite the outcome of the worker that took the delivery over.
ALTER TABLE reporting.deliveries ADD COLUMN lease_token uuid;
