-- Personal API tokens: each belongs to one user and acts with that user's role. The secret
-- is shown once, when it is created; only its SHA-256 and first characters are kept.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    -- The secret's first characters, so its owner can recognise it.
    token_prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- Written at most once a minute, not on every request.
    last_used_at TIMESTAMP,
    expires_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, id);
