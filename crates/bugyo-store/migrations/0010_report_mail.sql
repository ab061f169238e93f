-- Outage reports that arrived by e-mail (bugyo report intake): one row per
-- message filed, keyed by its Message-ID (or a fingerprint of its bytes
-- when it has none), written in the same transaction as the report (or its
-- new version) and its report-mail audit entry, so a message delivered
-- twice, or seen again after a crash, is never filed twice.
CREATE TABLE report_mail (
    message_key TEXT PRIMARY KEY,
    org_id BIGINT REFERENCES orgs (id),
    report_id BIGINT REFERENCES reports (id),
    version BIGINT,
    filed_at BIGINT NOT NULL
);

-- Messages filed before this table: their report-mail audit entries.
INSERT INTO report_mail (message_key, org_id, filed_at)
    SELECT object, MIN(org_id), MIN(at) FROM audit_log WHERE action = 'report-mail' GROUP BY object;

-- The reply owed to the sender of a report mail (the report number, or why
-- it was refused): one per message, pending until sent, retried with
-- backoff like report_reminders. what is JSON: the outcome, the report and
-- version, the fields refused, the reason of a refusal.
CREATE TABLE report_mail_replies (
    message_key TEXT PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    in_reply_to TEXT,
    what TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    message_id TEXT
);
CREATE INDEX report_mail_replies_due ON report_mail_replies (status, next_attempt_at);
