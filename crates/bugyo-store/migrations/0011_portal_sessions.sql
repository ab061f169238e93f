-- Sessions of the web portal: a person signs in with their API token once,
-- and the browser keeps a session secret instead of the token. A session
-- lasts until it expires or is ended (sign-out), and dies with its token
-- (revoked, or its user disabled). Only the secret's SHA-256 is kept.
CREATE TABLE portal_sessions (
    hash TEXT PRIMARY KEY,
    token_id BIGINT NOT NULL REFERENCES api_tokens (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX portal_sessions_token ON portal_sessions (token_id);
