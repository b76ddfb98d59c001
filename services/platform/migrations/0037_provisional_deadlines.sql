-- Deadlines counted over a year whose calendar is not loaded yet: the year is
-- recorded at version 0 in calendar_versions (assumed Monday to Friday), so a
-- milestone is provisional (暂定) exactly while it rests on such a year and no
-- extension has set its date. Derived, so that every writer of
-- calendar_versions (assigning, resuming, recomputing on load) keeps it right.
ALTER TABLE assignment.milestones
    ADD COLUMN provisional boolean NOT NULL
    GENERATED ALWAYS AS (NOT extended AND jsonb_path_exists(calendar_versions, '$.* ? (@ == 0)')) STORED;

CREATE INDEX milestones_provisional ON assignment.milestones (assignment_id) WHERE provisional AND met_at IS NULL;

-- The ledger shows whether the next deadline, and 办理时限 (the final
-- resolution deadline, migration 0035), are provisional.
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
       fd.final_deadline,
       (SELECT bool_or(m.provisional) FROM assignment.milestones m
        WHERE m.assignment_id = a.id AND m.met_at IS NULL
          AND m.due_at = (SELECT min(x.due_at) FROM assignment.milestones x
                          WHERE x.assignment_id = a.id AND x.met_at IS NULL)) AS next_deadline_provisional,
       (SELECT bool_or(m.provisional) FROM assignment.milestones m
        WHERE m.assignment_id = a.id AND m.kind NOT LIKE 'stage.%'
          AND m.due_date = fd.final_deadline) AS final_deadline_provisional
FROM assignment.assignments a
LEFT JOIN LATERAL (
    SELECT x.body, x.submitted_at FROM assignment.feedback x
    WHERE x.assignment_id = a.id ORDER BY x.submitted_at DESC LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT coalesce(max(m.due_date) FILTER (WHERE m.kind LIKE 'plan.%'),
                    max(m.due_date) FILTER (WHERE m.kind NOT LIKE 'stage.%')) AS final_deadline
    FROM assignment.milestones m WHERE m.assignment_id = a.id
) fd ON true
ORDER BY a.item_id, a.round DESC, (a.role = 'lead') DESC;

-- Reports and notices mark provisional dates too.
CREATE OR REPLACE VIEW assignment.report_milestones AS
SELECT assignment_id, kind, due_date, due_at, yellow_at, met_at, provisional
FROM assignment.milestones;
