-- What a milestone's deadline owes besides its policy: working days added by
-- suspensions, or a date set by an approved extension. Reloading a calendar
-- year recomputes the policy part and keeps these.
ALTER TABLE assignment.milestones ADD COLUMN shift_days int NOT NULL DEFAULT 0;
ALTER TABLE assignment.milestones ADD COLUMN extended boolean NOT NULL DEFAULT false;
