-- A 文号 is unique: one report of a court per (kind, period), and corrected
-- reissues (更正) numbered after it, each naming the report it replaces.
-- Friday reminders (one per unit) and notices (one per event) carry no 文号.
ALTER TABLE reporting.reports
    ADD COLUMN correction int NOT NULL DEFAULT 0,
    ADD COLUMN replaces uuid REFERENCES reporting.reports (id),
    ADD COLUMN correction_reason text NOT NULL DEFAULT '';

-- Reports issued twice before this migration stay as archived (their
-- rendering is what was mailed); the later copies count as corrections so
-- that the rule holds for what follows.
UPDATE reporting.reports r SET correction = d.n - 1
FROM (SELECT id, row_number() OVER (PARTITION BY court_id, kind, period ORDER BY seq) AS n
      FROM reporting.reports
      WHERE unit_id IS NULL AND kind IN ('weekly', 'monthly', 'quarterly', 'annual')) d
WHERE r.id = d.id AND d.n > 1;

CREATE UNIQUE INDEX reports_one_number ON reporting.reports (court_id, kind, period, correction)
    WHERE unit_id IS NULL AND kind IN ('weekly', 'monthly', 'quarterly', 'annual');
