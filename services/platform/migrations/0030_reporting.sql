-- Reporting (通报): schedules, the archive of issued reports, their delivery
-- jobs, and the countermeasure rule table of the issue analysis. The worker
-- reads the directory, the ledger and the follow-up only through the views
-- their owners publish below.
CREATE SCHEMA IF NOT EXISTS reporting;

-- Published by the registry for reporting: units with their current head
-- and liaison (and their e-mail addresses), people with their role bindings,
-- and registered items with their source and supervising leader.
CREATE VIEW registry.report_units AS
SELECT u.id, u.code, u.name, u.short_name, u.kind, u.parent_id, u.ancestry, u.sort_order, u.active,
       h.person_id AS head_id, hp.name AS head_name, hp.email AS head_email,
       l.person_id AS liaison_id, lp.name AS liaison_name, lp.email AS liaison_email
FROM registry.units u
LEFT JOIN registry.unit_officers h ON h.unit_id = u.id AND h.post = 'head' AND h.end_at IS NULL
LEFT JOIN registry.people hp ON hp.id = h.person_id
LEFT JOIN registry.unit_officers l ON l.unit_id = u.id AND l.post = 'liaison' AND l.end_at IS NULL
LEFT JOIN registry.people lp ON lp.id = l.person_id;

CREATE VIEW registry.report_people AS
SELECT p.id, p.name, p.title, p.email, p.unit_id, p.active, b.role, b.unit_id AS role_unit_id
FROM registry.people p
JOIN registry.role_bindings b ON b.person_id = p.id;

CREATE VIEW registry.report_items AS
SELECT i.id, i.court_id, i.number, i.title, i.urgency, i.lead_unit_id, i.supervising_leader_id,
       lp.name AS leader_name, i.registered_at, i.deadline, i.parent_id,
       i.source_id, s.kind AS source_kind, s.title AS source_title, s.doc_number AS source_doc_number
FROM registry.items i
LEFT JOIN registry.sources s ON s.id = i.source_id
LEFT JOIN registry.people lp ON lp.id = i.supervising_leader_id
WHERE i.state = 'registered';

-- Published by the assignment service for reporting: assignments with
-- their verification and flags, milestones, feedback, urges, and the
-- working-day calendar.
CREATE VIEW assignment.report_assignments AS
SELECT id, item_id, round, unit_id, role, court_id, unit_name, head_name, liaison_id, liaison_name,
       urgency, assigned_at, state, grade, verified_at, verified_by, verification_notes,
       closed_out_at, suspended_at, flagged_at, flag_reason
FROM assignment.assignments;

CREATE VIEW assignment.report_milestones AS
SELECT assignment_id, kind, due_date, due_at, yellow_at, met_at
FROM assignment.milestones;

CREATE VIEW assignment.report_feedback AS
SELECT assignment_id, kind, body, reason, progress, submitted_at
FROM assignment.feedback;

CREATE VIEW assignment.report_urges AS
SELECT assignment_id, seq, kind, issued_at, answer_due_at, responded_at, justified
FROM assignment.urges;

CREATE VIEW assignment.report_calendar AS
SELECT year, version, working_weekdays, holidays, workdays
FROM assignment.calendar_years;

-- When each kind of report is issued, in court local time (editable:
-- `UPDATE reporting.schedules SET rule = 'weekly MON 09:00' WHERE kind = 'weekly'`).
CREATE TABLE reporting.schedules (
    kind        text PRIMARY KEY CHECK (kind IN ('weekly', 'friday', 'monthly', 'quarterly', 'annual')),
    rule        text NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO reporting.schedules (kind, rule) VALUES
    ('weekly', 'weekly MON 08:30 or-after'),
    ('friday', 'weekly FRI 08:30 or-before'),
    ('monthly', 'monthly first-working-day 08:30'),
    ('quarterly', 'quarterly first-working-day 09:00'),
    ('annual', 'annual first-working-day 09:30');

-- One row per schedule and period: whoever inserts it issues the reports,
-- so any number of workers fire each period once.
CREATE TABLE reporting.firings (
    kind      text NOT NULL,
    period    text NOT NULL,
    due_at    timestamptz NOT NULL,
    fired_at  timestamptz NOT NULL,
    reports   int NOT NULL,
    PRIMARY KEY (kind, period)
);

-- The archive (归档): every report issued, as rendered, with its data.
CREATE TABLE reporting.reports (
    id               uuid PRIMARY KEY,
    seq              bigserial UNIQUE,
    kind             text NOT NULL,
    period           text NOT NULL,
    court_id         uuid NOT NULL,
    -- The liaison's unit, for a Friday reminder.
    unit_id          uuid,
    title            text NOT NULL,
    number           text NOT NULL,
    subject          text NOT NULL,
    issued_at        timestamptz NOT NULL,
    issued_by        text NOT NULL,
    html             text NOT NULL,
    text_body        text NOT NULL,
    snapshot         jsonb NOT NULL,
    attachment_name  text,
    attachment       bytea
);
CREATE INDEX reports_kind_period ON reporting.reports (kind, period, seq);

-- Delivery jobs: one per report and recipient. Leased with FOR UPDATE SKIP
-- LOCKED; retried with backoff after temporary failures; the Message-ID is
-- fixed when the job is made, so a resend is recognisably the same message.
CREATE TABLE reporting.deliveries (
    id               uuid PRIMARY KEY,
    report_id        uuid NOT NULL REFERENCES reporting.reports (id),
    person_id        uuid,
    recipient_name   text NOT NULL,
    recipient_email  text NOT NULL,
    message_id       text NOT NULL UNIQUE,
    state            text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_error       text NOT NULL DEFAULT '',
    smtp_reply       text NOT NULL DEFAULT '',
    sent_at          timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (report_id, recipient_email)
);
CREATE INDEX deliveries_due ON reporting.deliveries (next_attempt_at) WHERE state IN ('pending', 'sending');

-- The issue analysis' rule table: per finding, its title, thresholds and
-- the countermeasure the bulletin suggests (seeded from
-- reporting/rules/countermeasures.toml when absent; edit here).
CREATE TABLE reporting.countermeasures (
    finding         text PRIMARY KEY,
    title           text NOT NULL,
    countermeasure  text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
