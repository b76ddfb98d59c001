-- Major-item plans, continuing attention, claiming, and the light as data.

-- "Now" as every process sees it: the shared dev clock when one is set up,
-- else the database's clock. SQL that judges time (the ledger's light) uses
-- this, so it agrees with the services under the dev clock.
CREATE FUNCTION platform.clock_now() RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT CASE WHEN frozen THEN base_virtual ELSE base_virtual + (clock_timestamp() - base_real) END
         FROM platform.dev_clock WHERE id = 1),
        clock_timestamp())
$$;

-- When a milestone's light turns yellow (the start of the last working day
-- before its due day, or 75% of its window, whichever is first), computed
-- with its due time by duban-core so the light is a comparison with now.
-- opened_at starts its window (the assignment, a plan's approval, the
-- previous stage report).
ALTER TABLE assignment.milestones ADD COLUMN yellow_at timestamptz, ADD COLUMN opened_at timestamptz;
UPDATE assignment.milestones m SET yellow_at = m.due_at - interval '1 day', opened_at = a.assigned_at
FROM assignment.assignments a WHERE a.id = m.assignment_id;
ALTER TABLE assignment.milestones ALTER COLUMN yellow_at SET NOT NULL, ALTER COLUMN opened_at SET NOT NULL;

-- Major items (重大事项): a plan with dated steps, approved by the
-- supervising leader; each step becomes a milestone `plan.N`.
CREATE TABLE assignment.plans (
    id             uuid PRIMARY KEY,
    assignment_id  uuid NOT NULL REFERENCES assignment.assignments (id),
    -- [{"date": "2026-11-30", "what": "…"}]
    steps          jsonb NOT NULL,
    summary        text NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    submitted_by   text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    decided_by     text,
    decided_at     timestamptz,
    comment        text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX plans_one_pending ON assignment.plans (assignment_id) WHERE state = 'pending';
CREATE INDEX plans_assignment ON assignment.plans (assignment_id, submitted_at);

-- Continuing attention (持续关注): a verified assignment stays on the
-- ledger, owing a stage report (milestone `stage.N`) every so many months.
ALTER TABLE assignment.assignments ADD COLUMN attention_months int;
ALTER TABLE assignment.assignments ADD COLUMN attention_since timestamptz;

-- Items published for claiming (认领): a unit, or a leader for a unit they
-- supervise, claims it and that creates its assignment.
CREATE TABLE assignment.claim_offers (
    item_id        uuid PRIMARY KEY,
    court_id       uuid NOT NULL,
    policy         text NOT NULL,
    note           text NOT NULL,
    published_by   text NOT NULL,
    published_at   timestamptz NOT NULL,
    closed_at      timestamptz
);
CREATE INDEX claim_offers_open ON assignment.claim_offers (published_at) WHERE closed_at IS NULL;

-- Which leader supervises (分管) which unit now, published for the claim check.
CREATE VIEW registry.current_supervisions AS
SELECT leader_id, unit_id FROM registry.supervisions WHERE end_at IS NULL;

-- Whether an item is registered for continuing attention.
CREATE OR REPLACE VIEW registry.assignable_items AS
SELECT id, court_id, number, title, state, urgency, deadline, lead_unit_id, co_unit_ids, supervising_leader_id,
       continuing_attention
FROM registry.items;

-- The ledger's light, judged at platform.clock_now() from the thresholds the
-- service stored: red once a milestone is due, yellow from its yellow_at.
-- Suspended assignments have no light; finished ones have none unless a stage
-- report of continuing attention is owed.
CREATE OR REPLACE VIEW assignment.ledger_item_status AS
SELECT DISTINCT ON (a.item_id)
       a.item_id,
       a.state,
       NULL::text AS state_label,
       CASE WHEN a.suspended_at IS NOT NULL THEN NULL
            ELSE (SELECT CASE WHEN count(*) = 0 THEN NULL
                              WHEN bool_or(m.due_at <= n.now) THEN 'red'
                              WHEN bool_or(m.yellow_at <= n.now) THEN 'yellow'
                              ELSE 'green' END
                  FROM assignment.milestones m, (SELECT platform.clock_now() AS now) n
                  WHERE m.assignment_id = a.id AND m.met_at IS NULL
                    AND (a.state NOT IN ('verified', 'closed_out') OR m.kind LIKE 'stage.%'))
       END AS light,
       (SELECT min(m.due_at) FROM assignment.milestones m WHERE m.assignment_id = a.id AND m.met_at IS NULL) AS next_deadline,
       f.body AS latest_feedback,
       f.submitted_at AS latest_feedback_at
FROM assignment.assignments a
LEFT JOIN LATERAL (
    SELECT x.body, x.submitted_at FROM assignment.feedback x
    WHERE x.assignment_id = a.id ORDER BY x.submitted_at DESC LIMIT 1
) f ON true
ORDER BY a.item_id, a.round DESC, (a.role = 'lead') DESC;
