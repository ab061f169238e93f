-- The detector's state of each incident at its latest version (the serde
-- form of bugyo_detect::Incident, without prefixes, which are kept in
-- incident_prefixes), so that `bugyo serve` takes open incidents over after
-- a restart. Replaced at every version: it is working state, not history
-- (incident_versions is the history).
ALTER TABLE incidents ADD COLUMN detector_state TEXT;
