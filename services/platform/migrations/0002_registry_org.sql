-- The organisation directory (registry): units, people, posts, 分管, role bindings.
CREATE SCHEMA registry;

CREATE TABLE registry.units (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    short_name  text NOT NULL DEFAULT '',
    kind        text NOT NULL CHECK (kind IN ('court', 'department', 'grassroots_court', 'office')),
    parent_id   uuid REFERENCES registry.units (id),
    -- Ids from the root down to this unit itself: scope checks are `ancestry && scope`.
    ancestry    uuid[] NOT NULL,
    sort_order  int NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX units_ancestry ON registry.units USING gin (ancestry);
CREATE INDEX units_order ON registry.units (sort_order, id);
CREATE INDEX units_parent ON registry.units (parent_id);

CREATE TABLE registry.people (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    unit_id     uuid NOT NULL REFERENCES registry.units (id),
    title       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    phone       text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX people_unit ON registry.people (unit_id);

-- Terms of office of each unit's head (责任人) and liaison (联络员). The open
-- term (end_at IS NULL) is the current holder; at most one per post.
CREATE TABLE registry.unit_officers (
    id          bigserial PRIMARY KEY,
    unit_id     uuid NOT NULL REFERENCES registry.units (id),
    post        text NOT NULL CHECK (post IN ('head', 'liaison')),
    person_id   uuid NOT NULL REFERENCES registry.people (id),
    start_at    timestamptz NOT NULL,
    end_at      timestamptz,
    note        text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX unit_officers_current ON registry.unit_officers (unit_id, post) WHERE end_at IS NULL;

-- Which leader supervises (分管) which unit, with history.
CREATE TABLE registry.supervisions (
    id          bigserial PRIMARY KEY,
    leader_id   uuid NOT NULL REFERENCES registry.people (id),
    unit_id     uuid NOT NULL REFERENCES registry.units (id),
    start_at    timestamptz NOT NULL,
    end_at      timestamptz
);
CREATE UNIQUE INDEX supervisions_current ON registry.supervisions (leader_id, unit_id) WHERE end_at IS NULL;
CREATE INDEX supervisions_unit ON registry.supervisions (unit_id) WHERE end_at IS NULL;

CREATE TABLE registry.role_bindings (
    id          uuid PRIMARY KEY,
    person_id   uuid NOT NULL REFERENCES registry.people (id),
    role        text NOT NULL,
    unit_id     uuid NOT NULL REFERENCES registry.units (id),
    created_at  timestamptz NOT NULL,
    UNIQUE (person_id, role, unit_id)
);
