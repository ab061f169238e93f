-- Users: a way to reach the person, and when the user was disabled (users
-- are never deleted: the audit log refers to them through their tokens).
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
