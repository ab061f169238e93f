-- Reminders of a report deadline owed to a contact of the reporting
-- organisation: one row per report, contact and reminder (a week before
-- the detailed report is due, the day before, overdue), so each is sent
-- once; pending until sent, retried with backoff like notices.
CREATE TABLE report_reminders (
    report_id BIGINT NOT NULL REFERENCES reports (id),
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    reminder TEXT NOT NULL,
    due TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    message_id TEXT,
    PRIMARY KEY (report_id, contact_id, reminder)
);
CREATE INDEX report_reminders_due ON report_reminders (status, next_attempt_at);
