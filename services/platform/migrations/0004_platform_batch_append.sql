-- Appending many audit records in one round trip: the chain is extended in
-- order, under the head row lock, with the same digest as before. `entries`
-- is a JSON array of objects carrying the audit columns; returns the last
-- sequence number.
CREATE FUNCTION platform.audit_append(entries jsonb) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
    prev bytea;
    e jsonb;
    at timestamptz;
    token uuid;
    before_v jsonb;
    after_v jsonb;
BEGIN
    SELECT seq, hash INTO head_seq, head_hash FROM platform.audit_head WHERE id = 1 FOR UPDATE;
    FOR e IN SELECT value FROM jsonb_array_elements(entries) LOOP
        prev := head_hash;
        head_seq := head_seq + 1;
        at := (e->>'occurred_at')::timestamptz;
        token := (e->>'token_id')::uuid;
        before_v := nullif(e->'before', 'null'::jsonb);
        after_v := nullif(e->'after', 'null'::jsonb);
        head_hash := platform.audit_digest(prev, head_seq, at, e->>'principal', token, e->>'action',
                                           e->>'target_kind', e->>'target_id', before_v, after_v, e->>'request_id');
        INSERT INTO platform.audit_log
            (seq, prev_hash, hash, occurred_at, principal, token_id, action, target_kind, target_id, before, after, request_id)
        VALUES (head_seq, prev, head_hash, at, e->>'principal', token, e->>'action', e->>'target_kind',
                e->>'target_id', before_v, after_v, e->>'request_id');
    END LOOP;
    UPDATE platform.audit_head SET seq = head_seq, hash = head_hash WHERE id = 1;
    RETURN head_seq;
END
$$;
