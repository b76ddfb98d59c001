-- Extension (延期申请) and suspension (中止) requests, decided by the
-- supervising leader; the clock of a suspended assignment stands still.
CREATE TABLE assignment.requests (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignment.assignments (id),
    kind           text NOT NULL CHECK (kind IN ('extension', 'suspension')),
    reason         text NOT NULL,
    new_date       date,
    state          text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    requested_by   text NOT NULL,
    requested_at   timestamptz NOT NULL,
    decided_by     text,
    decided_at     timestamptz,
    comment        text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX requests_one_pending ON assignment.requests (assignment_id, kind) WHERE state = 'pending';

ALTER TABLE assignment.assignments ADD COLUMN suspended_at timestamptz;
