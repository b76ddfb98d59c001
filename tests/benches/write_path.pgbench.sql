-- pgbench transaction writing the rows one SubmitFeedback writes: the
-- request claim, the feedback, the assignment's new version, a milestone
-- met, the event and the audit record (one assignment per client).
--   pgbench -n -c 16 -j 2 -T 20 -f tests/benches/write_path.pgbench.sql DBNAME
\set k random(1, 2000000000)
BEGIN;
SELECT id FROM assignment.assignments WHERE id = (SELECT assignment_id FROM bench_targets WHERE client = :client_id) FOR UPDATE;
INSERT INTO platform.requests (principal, request_id, method, fingerprint)
  VALUES ('pgbench', :client_id || '-' || :k || '-' || clock_timestamp(), 'SubmitFeedback', '\x00');
INSERT INTO assignment.feedback (id, assignment_id, kind, body, submitted_by, submitted_at)
  SELECT gen_random_uuid(), assignment_id, 'progress', '已完成阶段性工作', 'pgbench', now() FROM bench_targets WHERE client = :client_id;
UPDATE assignment.assignments SET state = 'in_progress', updated_at = now(), version = version + 1
  WHERE id = (SELECT assignment_id FROM bench_targets WHERE client = :client_id);
UPDATE assignment.milestones SET met_at = coalesce(met_at, now())
  WHERE assignment_id = (SELECT assignment_id FROM bench_targets WHERE client = :client_id) AND kind = 'initial';
INSERT INTO platform.events (occurred_at, service, event_type, subject_kind, subject_id, unit_ids, payload, principal, request_id)
  VALUES (now(), 'assignment', 'assignment.feedback', 'assignment', 'x', '{}', '{"before": null, "after": null}', 'pgbench', 'x');
SELECT platform.audit_append('[{"occurred_at": "2026-10-09T01:00:00Z", "principal": "pgbench", "action": "assignment.feedback", "target_kind": "assignment", "target_id": "x", "request_id": "x"}]');
END;
