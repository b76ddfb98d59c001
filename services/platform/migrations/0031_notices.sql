-- Notices (催办通知 / 临近提醒 / 通报批评告知): the reporting worker folds the
-- assignment service's reminder, urge and flag events into archived reports
-- of kind 'notice', mailed to the unit's head and liaison through the same
-- delivery jobs as every other report. The cursor is the position in
-- platform.events folded so far; the row is locked for a pass, so replicas
-- take turns and each event is noticed once. It starts at the end of the
-- stream as it stands: deploying this does not mail the history.
CREATE TABLE reporting.notice_cursor (
    id      int PRIMARY KEY CHECK (id = 1),
    cursor  text NOT NULL,
    events  bigint NOT NULL DEFAULT 0
);
INSERT INTO reporting.notice_cursor (id, cursor)
SELECT 1, coalesce((SELECT xid::text || '.' || id FROM platform.events ORDER BY xid DESC, id DESC LIMIT 1), '0.0');

-- A recipient without an e-mail address is recorded as a failed delivery
-- with an empty address (and a Message-ID from the person), so several of
-- them on one report must not collide; addresses stay unique per report.
ALTER TABLE reporting.deliveries DROP CONSTRAINT deliveries_report_id_recipient_email_key;
CREATE UNIQUE INDEX deliveries_report_recipient ON reporting.deliveries (report_id, recipient_email)
    WHERE recipient_email <> '';
