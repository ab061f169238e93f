//! MRT routing archives (RFC 6396, RFC 8050): reading, writing, and the
//! `bgpdump -m` text form in both directions.
//!
//! [`MrtReader`] turns a stream of MRT records into [`MrtEntry`] values:
//! one per route of a table dump, one per BGP UPDATE, one per session state
//! change. Damaged records are skipped and counted in [`ReadStats`] with
//! their byte offsets; the reader resynchronises on damaged framing.

pub mod bgpdump;
pub mod bgpdump_text;
mod cache;
mod decode;
pub mod ipfmt;
pub mod json;
mod reader;
pub mod writer;

pub use crate::bgp::Nlri;
pub use reader::{read_all, MrtReader};
pub use writer::MrtWriter;

use bugyo_model::{PathAttributes, Peer, Prefix, Timestamp};
use std::fmt;
use std::sync::Arc;

/// Which kind of table dump a [`RibEntry`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RibKind {
    /// TABLE_DUMP (type 12), the old one-route-per-record format.
    TableDump,
    /// TABLE_DUMP_V2 (type 13) RIB records.
    TableDumpV2,
    /// TABLE_DUMP_V2 ADD-PATH RIB records (RFC 8050, subtypes 8-12).
    TableDumpV2AddPath,
}

/// One route of a table dump: one per (peer, prefix, path id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RibEntry {
    /// Time of the dump (the MRT record's timestamp).
    pub time: Timestamp,
    /// The dump format.
    pub kind: RibKind,
    /// The peer the route was learned from.
    pub peer: Peer,
    /// The prefix.
    pub prefix: Prefix,
    /// ADD-PATH path identifier, for [`RibKind::TableDumpV2AddPath`].
    pub path_id: Option<u32>,
    /// The path attributes, shared between routes with identical attributes.
    pub attrs: Arc<PathAttributes>,
    /// When the route was last changed ("originated time").
    pub originated: Timestamp,
}

/// One BGP UPDATE as received from (or, with `outgoing`, sent to) a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateEntry {
    /// Time of the MRT record.
    pub time: Timestamp,
    /// True for BGP4MP_ET records (microsecond timestamps).
    pub extended: bool,
    /// The remote peer.
    pub peer: Peer,
    /// The local side of the session (the collector), when known.
    pub local: Option<Peer>,
    /// Withdrawn prefixes (withdrawn-routes field, then MP_UNREACH_NLRI).
    pub withdrawn: Vec<Nlri>,
    /// Announced prefixes (NLRI field, then MP_REACH_NLRI).
    pub announced: Vec<Nlri>,
    /// The path attributes of the announced prefixes.
    pub attrs: Option<Arc<PathAttributes>>,
    /// True for the MESSAGE_LOCAL subtypes: the UPDATE was sent by the
    /// local speaker to `peer`.
    pub outgoing: bool,
    /// True for the deprecated MRT type 5 (BGP) records.
    pub legacy: bool,
    /// True if a malformed attribute forced RFC 7606 treat-as-withdraw: the
    /// announced prefixes were moved to `withdrawn` and `attrs` is `None`.
    pub treat_as_withdraw: bool,
    /// True if the prefixes are multicast routes (MP SAFI 2, or 3 for
    /// "unicast and multicast"): not for the unicast RIB. bgpdump prints
    /// them like unicast routes, so `bugyo dump` does too.
    pub multicast: bool,
}

/// A BGP session state change (RFC 4271 FSM states: 1 Idle ... 6 Established).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// Time of the MRT record.
    pub time: Timestamp,
    /// True for BGP4MP_ET records.
    pub extended: bool,
    /// The peer whose session changed state.
    pub peer: Peer,
    /// The old state.
    pub old: u16,
    /// The new state.
    pub new: u16,
    /// True for the deprecated MRT type 5 (BGP) records.
    pub legacy: bool,
}

/// The prefix of the TABLE_DUMP_V2 view name that bugyo gives the peers of
/// one BMP-monitored router: `bmp 192.0.2.1`.
pub const BMP_VIEW: &str = "bmp ";

fn no_peer() -> Peer {
    Peer::new(
        bugyo_model::Asn(0),
        std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    )
}

impl Default for UpdateEntry {
    /// An empty UPDATE from AS0 at 0.0.0.0 at time zero: a template to fill.
    fn default() -> Self {
        UpdateEntry {
            time: Timestamp::default(),
            extended: false,
            peer: no_peer(),
            local: None,
            withdrawn: Vec::new(),
            announced: Vec::new(),
            attrs: None,
            outgoing: false,
            legacy: false,
            treat_as_withdraw: false,
            multicast: false,
        }
    }
}

impl Default for StateChange {
    /// A state change 0 -> 0 of AS0 at 0.0.0.0 at time zero: a template to fill.
    fn default() -> Self {
        StateChange {
            time: Timestamp::default(),
            extended: false,
            peer: no_peer(),
            old: 0,
            new: 0,
            legacy: false,
        }
    }
}

/// A decoded MRT entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MrtEntry {
    /// One route of a table dump: one per (peer, prefix, path id).
    Rib(RibEntry),
    /// One BGP UPDATE as received from a peer.
    Update(UpdateEntry),
    /// A BGP session state change.
    State(StateChange),
    /// A BGP message other than UPDATE (OPEN, NOTIFICATION, KEEPALIVE,
    /// ROUTE-REFRESH) on a known session: an OPEN starts a new session, a
    /// NOTIFICATION ends one. Not routes.
    Message {
        /// Time of the MRT record.
        time: Timestamp,
        /// The remote peer of the session.
        peer: Peer,
        /// `OPEN`, `NOTIFICATION`, `KEEPALIVE` or `ROUTE-REFRESH`.
        what: &'static str,
        /// True if the local speaker sent it (the MESSAGE_LOCAL subtypes).
        outgoing: bool,
    },
    /// Anything else (peer index, ISIS, ...): counted, not routes.
    Other {
        /// Time of the MRT record.
        time: Timestamp,
        /// What it was, e.g. `KEEPALIVE` or `PEER_INDEX_TABLE`.
        what: &'static str,
    },
}

impl MrtEntry {
    /// The entry's timestamp.
    pub fn time(&self) -> Timestamp {
        match self {
            MrtEntry::Rib(r) => r.time,
            MrtEntry::Update(u) => u.time,
            MrtEntry::State(s) => s.time,
            MrtEntry::Other { time, .. } | MrtEntry::Message { time, .. } => *time,
        }
    }
}

/// A damaged record: where it was and why it was skipped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset}: {reason}")]
pub struct MrtError {
    /// Byte offset of the record in the decompressed stream.
    pub offset: u64,
    /// What was wrong.
    pub reason: String,
}

/// How many errors and warnings [`ReadStats`] keeps as values.
pub const KEEP_ERRORS: usize = 100;

/// What a reader has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// MRT records read (good or bad).
    pub records: u64,
    /// Entries produced.
    pub entries: u64,
    /// Records (or damaged byte runs) skipped.
    pub skipped: u64,
    /// Bytes passed over while resynchronising.
    pub skipped_bytes: u64,
    /// The first [`KEEP_ERRORS`] skips.
    pub errors: Vec<MrtError>,
    /// Records kept despite a problem (treat-as-withdraw, truncated NLRI,
    /// discarded attribute, repaired length ...).
    pub warnings: u64,
    /// The first [`KEEP_ERRORS`] warnings.
    pub warning_list: Vec<MrtError>,
    /// TABLE_DUMP records whose declared length was 4 bytes short (a known
    /// producer bug) and was corrected.
    pub length_fixes: u64,
    /// Decompressed bytes consumed.
    pub bytes: u64,
}

impl ReadStats {
    pub(crate) fn skip(&mut self, e: MrtError) {
        self.skipped += 1;
        if self.errors.len() < KEEP_ERRORS {
            self.errors.push(e);
        }
    }

    pub(crate) fn warn(&mut self, e: MrtError) {
        self.warnings += 1;
        if self.warning_list.len() < KEEP_ERRORS {
            self.warning_list.push(e);
        }
    }
}

impl fmt::Display for ReadStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records, {} entries, {} skipped ({} bytes), {} warnings",
            self.records, self.entries, self.skipped, self.skipped_bytes, self.warnings
        )
    }
}
