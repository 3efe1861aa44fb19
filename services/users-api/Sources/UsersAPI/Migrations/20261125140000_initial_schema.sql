-- users-api owns `users` and `outbox`.

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    CONSTRAINT users_activated_at_matches_status CHECK ((status = 'active') = (activated_at IS NOT NULL))
);

-- Emails are matched case-insensitively: one account per lower-cased address.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- The transactional outbox. Rows keep the seed's shape (topic, payload {to, subject, body},
-- created_at, status) so its psql snippet for the latest code keeps working, plus what a retrying,
-- multi-worker dispatcher needs.
--   status: pending -> processing (leased by `locked_by`) -> dispatched | failed (dead) | expired
--   next_attempt_at: when a pending row is due; for a processing row, when its lease ends.
CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    topic text NOT NULL,
    payload jsonb NOT NULL CHECK (payload ? 'to' AND payload ? 'subject' AND payload ? 'body'),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'dispatched', 'failed', 'expired')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_by text,
    last_error text,
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz
);

-- What a dispatcher claims: due rows that are pending, or processing with an ended lease.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status IN ('pending', 'processing');

-- The seed README's query: latest message of a topic for an address.
CREATE INDEX outbox_topic_to_created_idx ON outbox (topic, (payload ->> 'to'), created_at DESC);
