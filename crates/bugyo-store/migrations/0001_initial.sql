-- bugyo's store, version 1. One schema for SQLite and PostgreSQL: only
-- types and statements both accept (BIGINT, TEXT; ids from the sequences
-- table, not from backend-specific auto-increment). Times are Unix
-- microseconds: data time for what the routes say, wall time for when
-- bugyo recorded it.

-- Ids for every table, handed out by UPDATE ... RETURNING (a row lock in
-- PostgreSQL, the write lock in SQLite), so concurrent writers never clash.
CREATE TABLE sequences (
    name TEXT PRIMARY KEY,
    next_id BIGINT NOT NULL
);
INSERT INTO sequences (name, next_id) VALUES ('incidents', 0);
INSERT INTO sequences (name, next_id) VALUES ('incident_versions', 0);
INSERT INTO sequences (name, next_id) VALUES ('orgs', 0);
INSERT INTO sequences (name, next_id) VALUES ('contacts', 0);
INSERT INTO sequences (name, next_id) VALUES ('users', 0);
INSERT INTO sequences (name, next_id) VALUES ('api_tokens', 0);
INSERT INTO sequences (name, next_id) VALUES ('notifications', 0);
INSERT INTO sequences (name, next_id) VALUES ('audit_log', 0);

-- One row per incident: its latest state, for listing and filtering. The
-- natural key (kind, culprit, leaked-to, feed peer, first sighting) is the
-- same in every run over the same routes, so a replay of the live archive
-- updates the live incidents instead of duplicating them.
CREATE TABLE incidents (
    id BIGINT PRIMARY KEY,
    natural_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    severity TEXT NOT NULL,
    severity_rank BIGINT NOT NULL,
    culprit_asn BIGINT,
    leaked_to_asn BIGINT,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    resolved_at BIGINT,
    prefix_count BIGINT NOT NULL,
    version BIGINT NOT NULL,
    summary TEXT NOT NULL,
    summary_ja TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX incidents_first_seen ON incidents (first_seen);
CREATE INDEX incidents_kind ON incidents (kind);

-- Every change of an incident, never overwritten: its JSON at that version
-- (the schema of `bugyo replay --format json`) without the prefix list,
-- which is in incident_prefixes.
CREATE TABLE incident_versions (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    version BIGINT NOT NULL,
    -- Order of recording across all incidents (what the notifier follows).
    seq BIGINT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    event_time BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (incident_id, version)
);

-- The prefixes of an incident with the victim each belongs to (AS0: no
-- single victim), and the version that first had them: an incident only
-- gains prefixes, so version N's are those with first_version <= N, and a
-- 48,000-prefix leak is stored once, not once per version.
-- The address range (family 4 or 6; for IPv6 the top 64 bits, offset so
-- that signed order is address order) lets a filter find the incidents that
-- touch a prefix, more or less specific.
CREATE TABLE incident_prefixes (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    prefix TEXT NOT NULL,
    victim_asn BIGINT NOT NULL,
    first_version BIGINT NOT NULL,
    family BIGINT NOT NULL,
    net_start BIGINT NOT NULL,
    net_end BIGINT NOT NULL,
    PRIMARY KEY (incident_id, prefix)
);
CREATE INDEX incident_prefixes_victim ON incident_prefixes (victim_asn);
CREATE INDEX incident_prefixes_range ON incident_prefixes (family, net_start);

-- The ASes an incident concerns, by role (victim, culprit, leaked_to,
-- observer), as of its latest version: for filters and audiences.
CREATE TABLE incident_asns (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    asn BIGINT NOT NULL,
    role TEXT NOT NULL,
    prefix_count BIGINT NOT NULL,
    PRIMARY KEY (incident_id, asn, role)
);
CREATE INDEX incident_asns_asn ON incident_asns (asn);

-- Member organisations and what they hold.
CREATE TABLE orgs (
    id BIGINT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE org_asns (
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    asn BIGINT NOT NULL,
    PRIMARY KEY (org_id, asn)
);
CREATE INDEX org_asns_asn ON org_asns (asn);
CREATE TABLE org_prefixes (
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    prefix TEXT NOT NULL,
    PRIMARY KEY (org_id, prefix)
);

-- Where an organisation is told: e-mail (with its RFC 2142 role: noc,
-- abuse, security), webhook or Slack URL, syslog target.
CREATE TABLE contacts (
    id BIGINT PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs (id),
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    role TEXT NOT NULL,
    secret TEXT
);

CREATE TABLE users (
    id BIGINT PRIMARY KEY,
    org_id BIGINT REFERENCES orgs (id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE api_tokens (
    id BIGINT PRIMARY KEY,
    org_id BIGINT REFERENCES orgs (id),
    user_id BIGINT REFERENCES users (id),
    role TEXT NOT NULL,
    label TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- Each notice owed to a contact about one incident version, and its fate:
-- pending, then sent (alone or in a digest, message_id says which) or, after
-- attempts, still pending with the last error. What it said (event, prefix
-- count, severity) lets the next version be judged significant or not.
CREATE TABLE notifications (
    id BIGINT PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    version BIGINT NOT NULL,
    contact_id BIGINT NOT NULL REFERENCES contacts (id),
    event TEXT NOT NULL,
    prefix_count BIGINT NOT NULL,
    severity_rank BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT,
    message_id TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT,
    UNIQUE (incident_id, version, contact_id)
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);

-- How far each follower of incident_versions (the notifier) has read.
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO cursors (name, seq) VALUES ('notifier', 0);

-- Who read or changed what: every read of raw-route detail, every change
-- to members and tokens.
CREATE TABLE audit_log (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    token_id BIGINT,
    org_id BIGINT,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
