-- What each organisation is to the hub (a member operator, the hub itself,
-- the regulator) and the least severity of an incident it is first told of.
ALTER TABLE orgs ADD COLUMN kind TEXT NOT NULL DEFAULT 'member';
ALTER TABLE orgs ADD COLUMN notify_min_severity TEXT NOT NULL DEFAULT 'info';
