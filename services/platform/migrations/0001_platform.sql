-- Cross-cutting tables: tokens, idempotency, events (outbox), audit chain, dev clock.
CREATE SCHEMA platform;

CREATE TABLE platform.tokens (
    id           uuid PRIMARY KEY,
    -- sha256 of the whole bearer secret; the secret itself is never stored.
    secret_hash  bytea NOT NULL UNIQUE,
    principal    text NOT NULL,
    person_id    uuid,
    roles        text[] NOT NULL,
    -- Roots of the unit subtrees the token may act on; empty for global roles.
    unit_scope   uuid[] NOT NULL DEFAULT '{}',
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- One row per accepted mutation: a retry with the same request id returns the
-- stored response instead of acting again.
CREATE TABLE platform.requests (
    principal    text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    fingerprint  bytea NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id)
);

-- Domain events (outbox). Consumers order by (xid, id) and only read events
-- whose writing transaction is older than every running one, so a late
-- commit can never land behind a cursor already handed out.
CREATE TABLE platform.events (
    id            bigserial PRIMARY KEY,
    xid           xid8 NOT NULL DEFAULT pg_current_xact_id(),
    occurred_at   timestamptz NOT NULL,
    service       text NOT NULL,
    event_type    text NOT NULL,
    subject_kind  text NOT NULL,
    subject_id    text NOT NULL,
    unit_ids      uuid[] NOT NULL DEFAULT '{}',
    payload       jsonb NOT NULL,
    principal     text NOT NULL,
    request_id    text NOT NULL
);
CREATE INDEX events_cursor ON platform.events (xid, id);

-- The audit chain. Each record's hash covers its content and the previous
-- record's hash; the head row holds the latest, so that deleting the newest
-- records is detected too.
CREATE TABLE platform.audit_head (
    id    int PRIMARY KEY CHECK (id = 1),
    seq   bigint NOT NULL,
    hash  bytea NOT NULL
);
INSERT INTO platform.audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE platform.audit_log (
    seq          bigint PRIMARY KEY,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL,
    occurred_at  timestamptz NOT NULL,
    principal    text NOT NULL,
    token_id     uuid,
    action       text NOT NULL,
    target_kind  text NOT NULL,
    target_id    text NOT NULL,
    before       jsonb,
    after        jsonb,
    request_id   text NOT NULL
);

-- The one definition of a record's hash, used both when appending and when
-- verifying. Timestamps enter as microseconds since the epoch and JSON as
-- jsonb's canonical text, so neither the session time zone nor key order
-- changes the result.
CREATE FUNCTION platform.audit_digest(
    prev_hash bytea, seq bigint, occurred_at timestamptz, principal text, token_id uuid,
    action text, target_kind text, target_id text, before jsonb, after jsonb, request_id text
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev_hash || convert_to(concat_ws(E'\x1f',
        seq::text,
        (extract(epoch FROM occurred_at) * 1000000)::bigint::text,
        principal,
        coalesce(token_id::text, ''),
        action, target_kind, target_id,
        coalesce(before::text, 'null'),
        coalesce(after::text, 'null'),
        request_id), 'UTF8'))
$$;

-- The shared dev/test clock: virtual now = base_virtual + (real now - base_real),
-- or base_virtual itself while frozen.
CREATE TABLE platform.dev_clock (
    id            int PRIMARY KEY CHECK (id = 1),
    base_virtual  timestamptz NOT NULL,
    base_real     timestamptz NOT NULL,
    frozen        boolean NOT NULL
);
