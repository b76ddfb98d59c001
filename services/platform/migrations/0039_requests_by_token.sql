-- Stored responses belong to the token that made the request, not to its
-- principal's name: two tokens of one name can have different scopes. Internal
-- principals have no token (nil) and are told apart by name.
ALTER TABLE platform.requests ADD COLUMN token_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE platform.requests DROP CONSTRAINT requests_pkey;
ALTER TABLE platform.requests ADD PRIMARY KEY (token_id, principal, request_id);
