-- Looking up the audit log by action and object (report intake asks
-- whether a mail's Message-ID was filed before): without an index each
-- lookup reads the whole log, which grows with every audited read.
CREATE INDEX audit_log_action_object ON audit_log (action, object);
