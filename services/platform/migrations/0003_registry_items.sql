-- Sources, items and the ledger (立项 · 台账).

-- Every distinct character bigram of a text, lower-cased: the search key for
-- Chinese, where words are one or two characters and trigrams miss them.
CREATE FUNCTION registry.bigrams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM (SELECT substr(lower(t), i, 2) AS g FROM generate_series(1, char_length(t) - 1) AS i) grams
$$;

CREATE TABLE registry.sources (
    id           uuid PRIMARY KEY,
    court_id     uuid NOT NULL REFERENCES registry.units (id),
    kind         text NOT NULL,
    title        text NOT NULL,
    doc_number   text NOT NULL DEFAULT '',
    doc_date     date,
    issuer       text NOT NULL DEFAULT '',
    oa_link      text NOT NULL DEFAULT '',
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL
);
CREATE INDEX sources_court ON registry.sources (court_id, kind, doc_number);

CREATE TABLE registry.decisions (
    id         uuid PRIMARY KEY,
    source_id  uuid NOT NULL REFERENCES registry.sources (id),
    seq        int NOT NULL,
    text       text NOT NULL,
    UNIQUE (source_id, seq)
);

CREATE TABLE registry.items (
    id                    uuid PRIMARY KEY,
    -- Ledger order and keyset key: registration order, never reused.
    seq                   bigserial UNIQUE,
    court_id              uuid NOT NULL REFERENCES registry.units (id),
    number                text,
    title                 text NOT NULL,
    requirements          text NOT NULL DEFAULT '',
    source_id             uuid REFERENCES registry.sources (id),
    decision_id           uuid REFERENCES registry.decisions (id),
    urgency               text NOT NULL,
    urgency_reason        text NOT NULL DEFAULT '',
    deadline              date,
    lead_unit_id          uuid NOT NULL REFERENCES registry.units (id),
    co_unit_ids           uuid[] NOT NULL DEFAULT '{}',
    supervising_leader_id uuid REFERENCES registry.people (id),
    tags                  text[] NOT NULL DEFAULT '{}',
    continuing_attention  boolean NOT NULL DEFAULT false,
    parent_id             uuid REFERENCES registry.items (id),
    -- Ids from the top item down to this one itself.
    ancestry              uuid[] NOT NULL,
    level                 text,
    assignee_person_id    uuid REFERENCES registry.people (id),
    state                 text NOT NULL CHECK (state IN ('draft', 'pending_approval', 'registered')),
    review_comment        text NOT NULL DEFAULT '',
    reviewed_by           text NOT NULL DEFAULT '',
    registered_at         timestamptz,
    -- The court-local date of registration (立项日期).
    registered_on         date,
    progress_note         text NOT NULL DEFAULT '',
    -- Set on items imported from an Excel ledger: the row's identity there.
    import_key            text,
    -- The search key of title and requirements, stored so that filters and
    -- statistics need not recompute it.
    search_grams          text[] GENERATED ALWAYS AS (registry.bigrams(title || ' ' || requirements)) STORED,
    version               bigint NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    UNIQUE (court_id, number),
    UNIQUE (court_id, import_key)
);
CREATE INDEX items_lead ON registry.items (lead_unit_id, seq);
CREATE INDEX items_co ON registry.items USING gin (co_unit_ids);
CREATE INDEX items_leader ON registry.items (supervising_leader_id, seq);
CREATE INDEX items_state ON registry.items (state, seq);
CREATE INDEX items_urgency ON registry.items (urgency, seq);
CREATE INDEX items_registered ON registry.items (registered_on, seq);
CREATE INDEX items_deadline ON registry.items (deadline, seq);
CREATE INDEX items_source ON registry.items (source_id, seq);
CREATE INDEX items_parent ON registry.items (parent_id, seq);
CREATE INDEX items_ancestry ON registry.items USING gin (ancestry);
CREATE INDEX items_tags ON registry.items USING gin (tags);
CREATE INDEX items_court ON registry.items (court_id, seq);
CREATE INDEX items_text ON registry.items USING gin (search_grams);

CREATE TABLE registry.item_targets (
    item_id          uuid NOT NULL REFERENCES registry.items (id),
    seq              int NOT NULL,
    what             text NOT NULL,
    target_value     double precision NOT NULL,
    unit_of_measure  text NOT NULL DEFAULT '',
    PRIMARY KEY (item_id, seq)
);

-- 督办编号 counters, one per court and year.
CREATE TABLE registry.item_numbers (
    court_id  uuid NOT NULL REFERENCES registry.units (id),
    year      int NOT NULL,
    last      bigint NOT NULL,
    PRIMARY KEY (court_id, year)
);

-- The live follow-up status the ledger shows. The assignment service owns and
-- publishes this view; until it exists, no item has a status.
CREATE SCHEMA IF NOT EXISTS assignment;
CREATE VIEW assignment.ledger_item_status AS
SELECT NULL::uuid AS item_id,
       NULL::text AS state,
       NULL::text AS state_label,
       NULL::text AS light,
       NULL::timestamptz AS next_deadline,
       NULL::text AS latest_feedback,
       NULL::timestamptz AS latest_feedback_at
WHERE false;
