-- Quarterly reports (四半期報告, 電気通信事業報告規則第7条の3): each
-- organisation reports the accidents of a fiscal quarter that reach the
-- quarterly-report thresholds (major accidents included) within two months
-- after the quarter. bugyo keeps that an organisation filed the quarterly
-- report of a quarter (e.g. FY2021Q3: the form itself goes to the
-- regulator by its own channel), when, by whom (token and the person
-- behind it) and an optional note or reference; once per organisation and
-- quarter, never changed.
CREATE TABLE quarterly_reports (
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    quarter TEXT NOT NULL,
    filed_at BIGINT NOT NULL,
    token_id BIGINT,
    user_id BIGINT,
    note TEXT
);
CREATE UNIQUE INDEX quarterly_reports_org_quarter ON quarterly_reports (org_id, quarter);

-- Reminders of a quarterly report owed to a contact of the organisation:
-- one row per organisation, quarter, contact and reminder (a week before
-- the due date, the day before, overdue), so each is sent once; pending
-- until sent, retried with backoff, like report_reminders (whose rows are
-- keyed by a report: a quarterly report is owed per organisation and
-- quarter, not per report).
CREATE TABLE quarterly_reminders (
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    quarter TEXT NOT NULL,
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
    PRIMARY KEY (org_id, quarter, contact_id, reminder)
);
CREATE INDEX quarterly_reminders_due ON quarterly_reminders (status, next_attempt_at);

-- Finding the accidents of a quarter that its quarterly report lists.
CREATE INDEX reports_quarter ON reports (quarter, classification);
