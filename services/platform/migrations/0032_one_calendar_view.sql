-- Appraisal and reporting read the working-day calendar through one view,
-- assignment.working_calendar (0020); reporting's copy of it goes.
DROP VIEW assignment.report_calendar;
