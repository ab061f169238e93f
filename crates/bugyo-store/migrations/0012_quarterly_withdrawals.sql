-- A quarterly report recorded as filed by mistake (the wrong quarter, the
-- form not sent after all) is withdrawn, not edited: the filing moves here
-- with who withdrew it, when and why, and the quarter is owed again until
-- a new filing is recorded. The filing row itself is never changed; this
-- table is its history.
CREATE TABLE quarterly_withdrawals (
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    quarter TEXT NOT NULL,
    filed_at BIGINT NOT NULL,
    filed_token_id BIGINT,
    filed_user_id BIGINT,
    note TEXT,
    withdrawn_at BIGINT NOT NULL,
    token_id BIGINT,
    user_id BIGINT,
    reason TEXT NOT NULL
);
CREATE INDEX quarterly_withdrawals_org ON quarterly_withdrawals (org_id, quarter);
