-- The working-day calendar and follow-up policies (assignment service).
CREATE SCHEMA IF NOT EXISTS assignment;

-- One row per year: the current version. Every version ever loaded is kept
-- in calendar_versions, so a deadline can name the data it was computed from.
CREATE TABLE assignment.calendar_years (
    year              int PRIMARY KEY,
    version           bigint NOT NULL,
    working_weekdays  int[] NOT NULL,
    holidays          date[] NOT NULL,
    workdays          date[] NOT NULL,
    -- [{name, days[], workdays[]}] as typed in.
    groups            jsonb NOT NULL,
    source            text NOT NULL DEFAULT '',
    content           text NOT NULL,
    loaded_at         timestamptz NOT NULL,
    loaded_by         text NOT NULL
);

CREATE TABLE assignment.calendar_versions (
    year       int NOT NULL,
    version    bigint NOT NULL,
    content    text NOT NULL,
    loaded_at  timestamptz NOT NULL,
    loaded_by  text NOT NULL,
    PRIMARY KEY (year, version)
);

-- Follow-up policies: milestones per urgency class, as data.
CREATE TABLE assignment.policies (
    name        text PRIMARY KEY,
    label       text NOT NULL,
    is_default  boolean NOT NULL DEFAULT false,
    -- {"general": [["deploy", {"working_days": 1}], …], …}
    rules       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX policies_one_default ON assignment.policies (is_default) WHERE is_default;
