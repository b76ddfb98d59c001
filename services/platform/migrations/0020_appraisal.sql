-- Appraisal (考评): rule sets, the fold of assignment events into facts,
-- published (frozen) periods and adjustments. Reads the directory and the
-- working-day calendar only through the views published here by their owners.
CREATE SCHEMA IF NOT EXISTS appraisal;

-- Published by the registry for appraisal: units with their kind and current
-- head and liaison, and people.
CREATE VIEW registry.appraisal_units AS
SELECT u.id, u.code, u.name, u.short_name, u.kind, u.ancestry, u.sort_order, u.active,
       c.head_id, c.liaison_id
FROM registry.units u
JOIN registry.unit_contacts c ON c.unit_id = u.id;

CREATE VIEW registry.appraisal_people AS
SELECT p.id, p.code, p.name, p.unit_id, p.title, p.active
FROM registry.people p;

-- Published by the assignment service: the working-day calendar, every year
-- in its current version.
CREATE VIEW assignment.working_calendar AS
SELECT year, version, working_weekdays, holidays, workdays
FROM assignment.calendar_years;

-- Versions of the rule set. The one for a period is the highest version
-- effective on the period's first day.
CREATE TABLE appraisal.rule_sets (
    version         int PRIMARY KEY,
    name            text NOT NULL,
    effective_from  date NOT NULL,
    -- The TOML as loaded, comments and all.
    content         text NOT NULL,
    loaded_at       timestamptz NOT NULL,
    loaded_by       text NOT NULL
);

-- Where the fold has read the event stream up to; the row lock serialises
-- replicas, so each event is folded exactly once.
CREATE TABLE appraisal.consumer (
    id      int PRIMARY KEY CHECK (id = 1),
    cursor  text NOT NULL,
    events  bigint NOT NULL DEFAULT 0
);
INSERT INTO appraisal.consumer (id, cursor) VALUES (1, '0.0');

-- What the fold remembers of each assignment between events.
CREATE TABLE appraisal.tracks (
    assignment_id  uuid PRIMARY KEY,
    item_id        uuid NOT NULL,
    unit_id        uuid NOT NULL,
    head_id        uuid NOT NULL,
    liaison_id     uuid NOT NULL,
    -- Whether some milestone is being counted overdue right now.
    counting       boolean NOT NULL,
    track          jsonb NOT NULL
);
CREATE INDEX tracks_item ON appraisal.tracks (item_id);
CREATE INDEX tracks_counting ON appraisal.tracks (unit_id) WHERE counting;

-- Facts established by events: free of points, priced per period by the
-- period's rule set. first_day..last_day are the days the fact can count in.
CREATE TABLE appraisal.facts (
    event_id       bigint NOT NULL,
    n              int NOT NULL,
    rule           text NOT NULL,
    first_day      date NOT NULL,
    last_day       date NOT NULL,
    assignment_id  uuid NOT NULL,
    unit_id        uuid NOT NULL,
    head_id        uuid NOT NULL,
    liaison_id     uuid NOT NULL,
    fact           jsonb NOT NULL,
    PRIMARY KEY (event_id, n)
);
CREATE INDEX facts_unit ON appraisal.facts (unit_id, last_day, first_day);
CREATE INDEX facts_head ON appraisal.facts (head_id, last_day);
CREATE INDEX facts_liaison ON appraisal.facts (liaison_id, last_day);

-- Published periods, frozen with the rule set they used.
CREATE TABLE appraisal.periods (
    key               text PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('month', 'quarter', 'year')),
    starts_on         date NOT NULL,
    ends_on           date NOT NULL,
    rule_set_version  int NOT NULL REFERENCES appraisal.rule_sets (version),
    published_at      timestamptz NOT NULL,
    published_by      text NOT NULL
);

-- Each subject's scorecard as published: never changed afterwards.
CREATE TABLE appraisal.snapshots (
    period_key    text NOT NULL REFERENCES appraisal.periods (key),
    subject_kind  text NOT NULL CHECK (subject_kind IN ('unit', 'person')),
    subject_id    uuid NOT NULL,
    total         bigint NOT NULL,
    -- The scorecard message (lines with their events), as published.
    card          bytea NOT NULL,
    PRIMARY KEY (period_key, subject_kind, subject_id)
);

-- Corrections: explicit, with a reason and an author, shown as their own
-- lines; points in hundredths.
CREATE TABLE appraisal.adjustments (
    id            uuid PRIMARY KEY,
    period_key    text NOT NULL,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('unit', 'person')),
    subject_id    uuid NOT NULL,
    points        bigint NOT NULL,
    reason        text NOT NULL,
    author        text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX adjustments_subject ON appraisal.adjustments (period_key, subject_kind, subject_id);
