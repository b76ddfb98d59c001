-- Urging and escalation (催办): reminders before a milestone, numbered urges
-- after it (automatic or by the office), answers judged justified or not,
-- and the 通报批评 flag after two urges without a justified answer.
CREATE TABLE assignment.reminders (
    assignment_id  uuid NOT NULL REFERENCES assignment.assignments (id),
    milestone      text NOT NULL,
    issued_at      timestamptz NOT NULL,
    PRIMARY KEY (assignment_id, milestone)
);

CREATE TABLE assignment.urges (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignment.assignments (id),
    -- 第N次催办, per assignment.
    seq            int NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('automatic', 'manual')),
    -- The missed milestone, for automatic urges.
    milestone      text,
    note           text NOT NULL DEFAULT '',
    issued_by      text NOT NULL,
    issued_at      timestamptz NOT NULL,
    -- Answer by 24:00 of the next working day.
    answer_due_at  timestamptz NOT NULL,
    response_id    uuid REFERENCES assignment.feedback (id),
    responded_at   timestamptz,
    justified      boolean,
    judged_by      text,
    judged_at      timestamptz,
    UNIQUE (assignment_id, seq)
);
-- One automatic urge per missed milestone, however many sweeps run.
CREATE UNIQUE INDEX urges_automatic_once ON assignment.urges (assignment_id, milestone) WHERE kind = 'automatic';

ALTER TABLE assignment.assignments ADD COLUMN flagged_at timestamptz;
ALTER TABLE assignment.assignments ADD COLUMN flag_reason text NOT NULL DEFAULT '';
