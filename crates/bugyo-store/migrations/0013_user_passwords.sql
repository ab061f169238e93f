-- Passwords for signing in to the portal, as an alternative to pasting an
-- access token: a user signs in with their e-mail address and a password.
-- Only an Argon2id hash (PHC string, with its salt and parameters) is
-- kept. A sign-in speaks through the user's portal token, made when the
-- password is first set and never shown to anyone, so a portal session
-- dies with it as with any token (the user disabled, the token revoked).
-- After five wrong passwords in a row the account is locked for fifteen
-- minutes (locked_until), which bounds guessing.
ALTER TABLE users ADD COLUMN password_hash TEXT;
ALTER TABLE users ADD COLUMN password_set_at BIGINT;
ALTER TABLE users ADD COLUMN portal_token_id BIGINT;
ALTER TABLE users ADD COLUMN failed_sign_ins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
