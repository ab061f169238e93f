-- Advisories (BRIEF §4): the regulator, or the hub, sees the whole picture
-- across operators and shares it back to the members concerned. An
-- advisory is written once, in Japanese and English, and never changed.
INSERT INTO sequences (name, next_id) VALUES ('advisories', 0);

-- Who issued it: the token, the person behind it (a user's token), the
-- token's role and organisation (if any: its name heads the message).
-- tlp is the TLP 2.0 label as written (TLP:AMBER...); incidents and
-- reports are the related ids as a JSON array of integers.
CREATE TABLE advisories (
    id BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    token_id BIGINT,
    user_id BIGINT,
    issuer_role TEXT NOT NULL,
    issuer_org_id BIGINT REFERENCES orgs (id),
    title_ja TEXT NOT NULL,
    title_en TEXT NOT NULL,
    body_ja TEXT NOT NULL,
    body_en TEXT NOT NULL,
    tlp TEXT NOT NULL,
    incidents TEXT NOT NULL,
    reports TEXT NOT NULL
);

-- The organisations it is addressed to: only they (and the regulator and
-- the hub) may read it.
CREATE TABLE advisory_recipients (
    advisory_id BIGINT NOT NULL REFERENCES advisories (id),
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    PRIMARY KEY (advisory_id, org_id)
);
CREATE INDEX advisory_recipients_org ON advisory_recipients (org_id);

-- Its delivery to each contact of each recipient, owed from the moment it
-- is issued: one row per advisory and contact, so each is sent once;
-- pending until sent, retried with backoff, like report_reminders.
CREATE TABLE advisory_deliveries (
    advisory_id BIGINT NOT NULL REFERENCES advisories (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    message_id TEXT,
    PRIMARY KEY (advisory_id, contact_id)
);
CREATE INDEX advisory_deliveries_due ON advisory_deliveries (status, next_attempt_at);
