-- Overdue assignments owe a progress report every month; a month without
-- one is urged once (kind 'monthly', period 'YYYY-MM').
ALTER TABLE assignment.urges DROP CONSTRAINT urges_kind_check;
ALTER TABLE assignment.urges ADD CONSTRAINT urges_kind_check CHECK (kind IN ('automatic', 'manual', 'monthly'));
ALTER TABLE assignment.urges ADD COLUMN period text;
CREATE UNIQUE INDEX urges_monthly_once ON assignment.urges (assignment_id, period) WHERE kind = 'monthly';
