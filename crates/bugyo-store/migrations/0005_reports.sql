-- Outage reports to the regulator (issue 5): a first report, follow-ups, a
-- final report and the detailed (30-day) report of a major accident, each
-- submission or correction a new version; nothing is overwritten.
INSERT INTO sequences (name, next_id) VALUES ('reports', 0);

-- One row per report: its latest state, for listing and filtering.
-- Booleans are 0 or 1 (BIGINT: both backends). classification is major,
-- quarterly, none, or pending while service class, users or duration is
-- unknown; quarter is the fiscal quarter (JST) of the occurrence.
CREATE TABLE reports (
    id BIGINT PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    stage TEXT NOT NULL,
    version BIGINT NOT NULL,
    occurred_at BIGINT NOT NULL,
    share_public BIGINT NOT NULL,
    share_operators BIGINT NOT NULL,
    classification TEXT NOT NULL,
    quarter TEXT NOT NULL,
    detailed_report_due TEXT,
    area TEXT,
    services TEXT,
    situation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX reports_org ON reports (org_id);
CREATE INDEX reports_occurred_at ON reports (occurred_at);

-- Every version of a report, never overwritten: the whole report as JSON
-- at that version, its statutory classification (JSON, or NULL while it
-- cannot be computed), who submitted it and why (a correction's reason).
CREATE TABLE report_versions (
    report_id BIGINT NOT NULL REFERENCES reports (id),
    version BIGINT NOT NULL,
    stage TEXT NOT NULL,
    body TEXT NOT NULL,
    classification TEXT,
    token_id BIGINT,
    user_id BIGINT,
    reason TEXT,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (report_id, version)
);

-- The detected incidents the latest version of a report is linked to.
CREATE TABLE report_incidents (
    report_id BIGINT NOT NULL REFERENCES reports (id),
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    PRIMARY KEY (report_id, incident_id)
);
CREATE INDEX report_incidents_incident ON report_incidents (incident_id);
