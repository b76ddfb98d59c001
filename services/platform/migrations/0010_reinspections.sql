-- Re-inspection (回头看 / 再督查) of a closed item; a failed one reopens it
-- with a new round of assignments.
CREATE TABLE assignment.reinspections (
    id          uuid PRIMARY KEY,
    item_id     uuid NOT NULL,
    -- The round inspected.
    round       int NOT NULL,
    passed      boolean NOT NULL,
    findings    text NOT NULL,
    inspected_by text NOT NULL,
    inspected_at timestamptz NOT NULL
);
CREATE INDEX reinspections_item ON assignment.reinspections (item_id, inspected_at);
