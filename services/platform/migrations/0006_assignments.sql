-- Assignments (交办) and their follow-up.

-- What the registry publishes for the assignment service to read.
CREATE VIEW registry.assignable_items AS
SELECT id, court_id, number, title, state, urgency, deadline, lead_unit_id, co_unit_ids, supervising_leader_id
FROM registry.items;

CREATE VIEW registry.unit_contacts AS
SELECT u.id AS unit_id, u.name, u.ancestry, u.active,
       h.person_id AS head_id, hp.name AS head_name,
       l.person_id AS liaison_id, lp.name AS liaison_name
FROM registry.units u
LEFT JOIN registry.unit_officers h ON h.unit_id = u.id AND h.post = 'head' AND h.end_at IS NULL
LEFT JOIN registry.people hp ON hp.id = h.person_id
LEFT JOIN registry.unit_officers l ON l.unit_id = u.id AND l.post = 'liaison' AND l.end_at IS NULL
LEFT JOIN registry.people lp ON lp.id = l.person_id;

CREATE TABLE assignment.assignments (
    id                  uuid PRIMARY KEY,
    item_id             uuid NOT NULL,
    -- Re-inspection (回头看) opens a new round.
    round               int NOT NULL DEFAULT 1,
    unit_id             uuid NOT NULL,
    role                text NOT NULL CHECK (role IN ('lead', 'co')),
    court_id            uuid NOT NULL,
    unit_ancestry       uuid[] NOT NULL,
    unit_name           text NOT NULL,
    -- The head (责任人) and liaison named when it was assigned.
    head_id             uuid NOT NULL,
    head_name           text NOT NULL,
    liaison_id          uuid NOT NULL,
    liaison_name        text NOT NULL,
    urgency             text NOT NULL,
    stated_deadline     date,
    policy              text NOT NULL,
    assigned_at         timestamptz NOT NULL,
    assigned_by         text NOT NULL,
    state               text NOT NULL,
    grade               text,
    verified_at         timestamptz,
    verified_by         text,
    verification_notes  text NOT NULL DEFAULT '',
    return_comment      text NOT NULL DEFAULT '',
    closed_out_at       timestamptz,
    -- The Monday of the close-out list (一周一销号) that wrote it off.
    closeout_week       date,
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    UNIQUE (item_id, round, unit_id)
);
CREATE INDEX assignments_unit ON assignment.assignments (unit_id, state);
CREATE INDEX assignments_item ON assignment.assignments (item_id, round);
CREATE INDEX assignments_state ON assignment.assignments (state, verified_at);
CREATE INDEX assignments_ancestry ON assignment.assignments USING gin (unit_ancestry);

CREATE TABLE assignment.milestones (
    assignment_id      uuid NOT NULL REFERENCES assignment.assignments (id),
    kind               text NOT NULL,
    rule               text NOT NULL,
    due_date           date NOT NULL,
    due_at             timestamptz NOT NULL,
    -- {"2026": 1}: the calendar versions the deadline was computed from.
    calendar_versions  jsonb NOT NULL,
    met_at             timestamptz,
    PRIMARY KEY (assignment_id, kind)
);
CREATE INDEX milestones_open ON assignment.milestones (due_at) WHERE met_at IS NULL;

CREATE TABLE assignment.feedback (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignment.assignments (id),
    kind           text NOT NULL,
    body           text NOT NULL,
    reason         text,
    next_steps     text NOT NULL DEFAULT '',
    -- [{"what": …, "value": …, "unit": …}]
    progress       jsonb NOT NULL DEFAULT '[]',
    attachments    text[] NOT NULL DEFAULT '{}',
    submitted_by   text NOT NULL,
    submitted_at   timestamptz NOT NULL
);
CREATE INDEX feedback_assignment ON assignment.feedback (assignment_id, submitted_at);

-- The live status the registry's ledger shows: the lead unit's assignment of
-- the latest round stands for the item.
CREATE OR REPLACE VIEW assignment.ledger_item_status AS
SELECT DISTINCT ON (a.item_id)
       a.item_id,
       a.state,
       NULL::text AS state_label,
       NULL::text AS light,
       (SELECT min(m.due_at) FROM assignment.milestones m WHERE m.assignment_id = a.id AND m.met_at IS NULL) AS next_deadline,
       f.body AS latest_feedback,
       f.submitted_at AS latest_feedback_at
FROM assignment.assignments a
LEFT JOIN LATERAL (
    SELECT x.body, x.submitted_at FROM assignment.feedback x
    WHERE x.assignment_id = a.id ORDER BY x.submitted_at DESC LIMIT 1
) f ON true
ORDER BY a.item_id, a.round DESC, (a.role = 'lead') DESC;
