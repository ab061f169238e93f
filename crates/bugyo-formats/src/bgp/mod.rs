//! BGP-4 messages (RFC 4271) as bytes: UPDATE bodies and their path
//! attributes, NLRI, and the other message types just enough to recognise
//! and skip them. Independent of MRT framing, so that the MRT reader, a BMP
//! station and a live BGP speaker can all share it.
//!
//! Malformed input never panics: it yields a [`BgpError`] naming the field
//! and the byte position, with the RFC 7606 action that applies (attribute
//! discard, treat-as-withdraw or session reset).

pub mod attrs;
pub mod encode;
pub mod encode_msg;
pub mod message;
pub mod nlri;
pub mod update;

pub use attrs::{
    parse_attributes, scan_attributes, AttrOptions, AttrScan, MpReach, MpUnreach, ParsedAttrs,
};
pub use encode::{encode_attributes, encode_update, EncodeOptions, MpMode};
pub use encode_msg::{
    add_path_mode, cap_add_path, cap_asn4, cap_graceful_restart, cap_multiprotocol,
    cap_route_refresh, capability, encode_end_of_rib, encode_keepalive, encode_notification,
    encode_open, end_of_rib, GracefulRestart,
};
pub use message::{parse_message, BgpMessage, Notification, Open};
pub use nlri::{parse_nlri, write_nlri, Nlri};
pub use update::{parse_update, split_update, UpdateMessage, UpdateOptions, UpdateParts};

use std::fmt;

/// Path attribute type codes used here.
pub mod attr_type {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MED: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271, RFC 6793).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITIES: u8 = 32;
    /// Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
}

/// What RFC 7606 says to do about a malformed part of an UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorAction {
    /// Ignore the bad attribute; the route stands without it.
    AttributeDiscard,
    /// Keep the session but treat every prefix of the UPDATE as withdrawn.
    TreatAsWithdraw,
    /// The message cannot be understood at all (a live session would reset).
    SessionReset,
}

impl fmt::Display for ErrorAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorAction::AttributeDiscard => "attribute discarded",
            ErrorAction::TreatAsWithdraw => "treat-as-withdraw",
            ErrorAction::SessionReset => "message unusable",
        })
    }
}

/// A malformed field in a BGP message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} at byte {pos}: {reason} ({action})")]
pub struct BgpError {
    /// The attribute or field, e.g. `AS_PATH` or `withdrawn routes`.
    pub field: &'static str,
    /// Byte position of the problem, from the start of the buffer the
    /// caller handed in (plus any base offset it gave).
    pub pos: usize,
    /// What is wrong.
    pub reason: String,
    /// What RFC 7606 says to do about it.
    pub action: ErrorAction,
}

impl BgpError {
    /// Builds an error.
    pub fn new(
        field: &'static str,
        pos: usize,
        reason: impl Into<String>,
        action: ErrorAction,
    ) -> Self {
        BgpError {
            field,
            pos,
            reason: reason.into(),
            action,
        }
    }
}

/// Reads a big-endian u16 at `at`, if there.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

/// Reads a big-endian u32 at `at`, if there.
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
