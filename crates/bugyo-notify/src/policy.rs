//! When a contact is told about an incident: when it first concerns the
//! contact's organisation, when it has grown significantly since the last
//! notice (the prefix count at least doubled, or the severity rose), and
//! when it resolves. Not on every route: a 48,000-prefix leak gives a
//! dozen notices at most, which digests then merge.

/// What a notice says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// The incident concerns the organisation (first notice).
    Opened,
    /// It grew significantly or became more severe.
    Grown,
    /// It is over.
    Resolved,
}

impl NoticeKind {
    /// The name kept in the notification log.
    pub fn name(self) -> &'static str {
        match self {
            NoticeKind::Opened => "opened",
            NoticeKind::Grown => "grown",
            NoticeKind::Resolved => "resolved",
        }
    }

    /// Parses a name from the log.
    pub fn parse(s: &str) -> Option<NoticeKind> {
        Some(match s {
            "opened" => NoticeKind::Opened,
            "grown" => NoticeKind::Grown,
            "resolved" => NoticeKind::Resolved,
            _ => return None,
        })
    }
}

/// What the last notice to a contact about an incident said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Told {
    /// Its kind.
    pub kind: NoticeKind,
    /// The prefix count it reported.
    pub prefix_count: i64,
    /// The severity it reported (0 info … 4 critical).
    pub severity_rank: i64,
}

/// The notice (if any) a version with `event`, `prefix_count` and
/// `severity_rank` deserves, given the last notice to the same contact.
pub fn decide(
    last: Option<Told>,
    event: &str,
    prefix_count: i64,
    severity_rank: i64,
) -> Option<NoticeKind> {
    match last {
        // A resolution never announced: nothing to say now.
        None if event == "resolved" => None,
        None => Some(NoticeKind::Opened),
        Some(l) if l.kind == NoticeKind::Resolved => None,
        Some(_) if event == "resolved" => Some(NoticeKind::Resolved),
        Some(l) if prefix_count >= 2 * l.prefix_count.max(1) || severity_rank > l.severity_rank => {
            Some(NoticeKind::Grown)
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(event: &str, prefixes: i64, severity: i64) -> Option<Told> {
        Some(Told {
            kind: NoticeKind::parse(event).unwrap(),
            prefix_count: prefixes,
            severity_rank: severity,
        })
    }

    #[test]
    fn opened_grown_resolved_and_nothing_else() {
        assert_eq!(decide(None, "opened", 16, 2), Some(NoticeKind::Opened));
        assert_eq!(decide(None, "updated", 16, 2), Some(NoticeKind::Opened));
        assert_eq!(decide(None, "resolved", 16, 2), None);
        let l = notice("opened", 100, 2);
        assert_eq!(decide(l, "updated", 199, 2), None);
        assert_eq!(decide(l, "updated", 200, 2), Some(NoticeKind::Grown));
        assert_eq!(decide(l, "updated", 120, 3), Some(NoticeKind::Grown));
        assert_eq!(decide(l, "resolved", 120, 2), Some(NoticeKind::Resolved));
        let r = notice("resolved", 100, 2);
        assert_eq!(decide(r, "updated", 1000, 4), None);
        // A doubling sequence of 16 -> 48,000 prefixes: about a dozen notices.
        let mut last = notice("opened", 16, 2);
        let mut n = 1;
        for count in (16..=48_000).step_by(16) {
            if let Some(k) = decide(last, "updated", count, 2) {
                last = notice(k.name(), count, 2);
                n += 1;
            }
        }
        assert!(n <= 13, "{n}");
    }
}
