-- 办理时限 on the ledger is the final resolution deadline (办结时限), the day
-- itself: the 办结 milestone's last day, or an approved plan's last step's
-- (duban_core::plan::resolution_deadline is the same rule in Rust). The
-- next milestone (next_deadline) stays for the light and the next step.
-- While suspended the ledger says so (已中止), not the state it paused.
CREATE OR REPLACE VIEW assignment.ledger_item_status AS
SELECT DISTINCT ON (a.item_id)
       a.item_id,
       a.state,
       CASE WHEN a.suspended_at IS NOT NULL THEN '已中止' END AS state_label,
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
       a.assigned_at,
       (SELECT coalesce(max(m.due_date) FILTER (WHERE m.kind LIKE 'plan.%'),
                        max(m.due_date) FILTER (WHERE m.kind NOT LIKE 'stage.%'))
        FROM assignment.milestones m WHERE m.assignment_id = a.id) AS final_deadline
FROM assignment.assignments a
LEFT JOIN LATERAL (
    SELECT x.body, x.submitted_at FROM assignment.feedback x
    WHERE x.assignment_id = a.id ORDER BY x.submitted_at DESC LIMIT 1
) f ON true
ORDER BY a.item_id, a.round DESC, (a.role = 'lead') DESC;
