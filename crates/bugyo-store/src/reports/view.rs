//! Who may see an outage report, and what of it, labelled with TLP 2.0:
//!
//! | reader | sees | audited |
//! |---|---|---|
//! | a member of the reporting organisation | everything | no |
//! | the regulator, the hub (analyst, admin) | everything | reads of a report not marked `share_operators` |
//! | another member | only a report marked `share_operators`, without the private fields ([`PRIVATE_FIELDS`]) and without who submitted each version | no |
//! | anyone else | nothing | |
//!
//! The label says how far the report may go on: TLP:CLEAR when marked
//! `share_public`, TLP:GREEN (the operators' community) when marked
//! `share_operators`, else TLP:AMBER+STRICT. The marks of the latest version
//! decide: the reporter may share a report later, or stop sharing it.

use super::fields::{SharingMarks, PRIVATE_FIELDS};
use crate::audience::Tlp;
use crate::tokens::Role;
use serde_json::{Map, Value};

/// Who is reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportReader {
    /// The token's role.
    pub role: Role,
    /// The reader's organisation, if any.
    pub org_id: Option<i64>,
}

/// How a reader stands to a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// A member of the reporting organisation.
    Reporter,
    /// The regulator or the hub.
    Oversight,
    /// Another member, the report being shared with operators.
    Operator,
}

impl Access {
    /// The reader's access to a report of `org_id` marked `marks`; `None`:
    /// the reader may not know the report exists.
    pub fn of(reader: ReportReader, org_id: i64, marks: SharingMarks) -> Option<Access> {
        match reader.role {
            Role::Regulator | Role::Analyst | Role::Admin => Some(Access::Oversight),
            Role::Member if reader.org_id == Some(org_id) => Some(Access::Reporter),
            Role::Member if marks.operators => Some(Access::Operator),
            Role::Member => None,
        }
    }

    /// True if this read must be written to the audit log: the regulator
    /// or the hub reading a report its reporter did not share.
    pub fn audited(self, marks: SharingMarks) -> bool {
        self == Access::Oversight && !marks.operators
    }

    /// True if the reader sees who submitted each version.
    pub fn sees_authors(self) -> bool {
        self != Access::Operator
    }

    /// `body` (a report's JSON) as this reader may see it.
    pub fn redact(self, body: &Map<String, Value>) -> Map<String, Value> {
        let mut out = body.clone();
        if self == Access::Operator {
            for f in PRIVATE_FIELDS {
                out.remove(*f);
            }
        }
        out
    }

    /// True if the reader may see `field`.
    pub fn sees_field(self, field: &str) -> bool {
        self != Access::Operator || !PRIVATE_FIELDS.contains(&field)
    }
}

/// The TLP 2.0 label of a report marked `marks`.
pub fn tlp(marks: SharingMarks) -> Tlp {
    if marks.public {
        Tlp::Clear
    } else if marks.operators {
        Tlp::Green
    } else {
        Tlp::AmberStrict
    }
}
