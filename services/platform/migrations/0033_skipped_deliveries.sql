-- A delivery not sent because the message was out of date by the time a
-- worker could send it (a reminder for a milestone already due or met,
-- after the worker was down): kept, with the reason in last_error, and
-- sendable by hand (SendReport).
ALTER TABLE reporting.deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE reporting.deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped'));
