-- Assignments imported from an old ledger, and the assignment time on the
-- ledger.

-- When an assignment came from a historical ledger: monthly progress is owed
-- from the import on, not for the months before the system knew of it.
ALTER TABLE assignment.assignments ADD COLUMN imported_at timestamptz;

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
       f.submitted_at AS latest_feedback_at,
       a.assigned_at
FROM assignment.assignments a
LEFT JOIN LATERAL (
    SELECT x.body, x.submitted_at FROM assignment.feedback x
    WHERE x.assignment_id = a.id ORDER BY x.submitted_at DESC LIMIT 1
) f ON true
ORDER BY a.item_id, a.round DESC, (a.role = 'lead') DESC;
