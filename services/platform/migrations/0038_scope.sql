-- Published by the registry for access checks: the top of the unit tree,
-- which a deployment-wide setting (the calendar, appraisal rules) targets.
CREATE VIEW registry.tree_roots AS
SELECT id FROM registry.units WHERE parent_id IS NULL;
