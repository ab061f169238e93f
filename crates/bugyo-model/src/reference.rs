//! Reference data that routes are judged against: RPKI VRPs and ASPA
//! records, IRR route objects and AS sets, AS relationships, AS names and the
//! watch list of member organisations.

use crate::{Asn, Prefix};

/// A Validated ROA Payload (RFC 6811): `asn` may originate `prefix` and its
/// more-specifics up to `max_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Vrp {
    /// The authorised prefix.
    pub prefix: Prefix,
    /// The longest length that may be announced (>= prefix length).
    pub max_len: u8,
    /// The authorised origin AS (AS0 authorises nobody, RFC 7607).
    pub asn: Asn,
}

/// A validated ASPA record: the customer AS and the set of its providers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Aspa {
    /// The customer AS that signed the record.
    pub customer: Asn,
    /// The ASes it declares as its providers, sorted.
    pub providers: Vec<Asn>,
}

/// An IRR `route` or `route6` object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct RouteObject {
    /// The registered prefix.
    pub prefix: Prefix,
    /// The registered origin AS.
    pub origin: Asn,
    /// The registry it came from (`RADB`, `RIPE`, `JPIRR`, ...).
    pub source: String,
}

/// An IRR `as-set` object: named members that are ASNs or other sets.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AsSet {
    /// The set's name, e.g. `AS-EXAMPLE` or `AS65000:AS-CUSTOMERS`.
    pub name: String,
    /// Member ASNs.
    pub asns: Vec<Asn>,
    /// Member set names, resolved later.
    pub sets: Vec<String>,
    /// The registry it came from.
    pub source: String,
}

/// An IRR `aut-num` object (only what detection uses).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AutNum {
    /// The AS number.
    pub asn: Asn,
    /// Its `as-name`.
    pub name: String,
    /// The registry it came from.
    pub source: String,
}

/// The business relationship between two neighbouring ASes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relationship {
    /// `a` is a provider of `b` (CAIDA `-1`).
    ProviderToCustomer,
    /// `a` and `b` are peers (CAIDA `0`).
    PeerToPeer,
    /// `a` and `b` are siblings, one organisation (CAIDA `1` in serial-2 data).
    Sibling,
}

/// One AS relationship link as CAIDA publishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct AsLink {
    /// First AS (the provider for [`Relationship::ProviderToCustomer`]).
    pub a: Asn,
    /// Second AS (the customer for [`Relationship::ProviderToCustomer`]).
    pub b: Asn,
    /// How they relate.
    pub rel: Relationship,
}

impl AsLink {
    /// The link `a` to `b` (for [`Relationship::ProviderToCustomer`], `a`
    /// is the provider).
    pub fn new(a: u32, b: u32, rel: Relationship) -> AsLink {
        AsLink {
            a: Asn(a),
            b: Asn(b),
            rel,
        }
    }
}

/// An AS with its name and organisation, from CAIDA AS2Org.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AsOrg {
    /// The AS number.
    pub asn: Asn,
    /// The AS name (`aut_name`).
    pub name: String,
    /// The organisation's name.
    pub org_name: String,
    /// ISO 3166 country code of the organisation, if known.
    pub country: String,
}

/// A member organisation that bugyo watches on behalf of: an operator feeding
/// the hub or subscribing to its alerts.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    /// Short identifier, unique in the list (e.g. `ocn`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its ASNs.
    pub asns: Vec<Asn>,
    /// Prefixes it originates (beyond what its ASNs announce).
    pub prefixes: Vec<Prefix>,
    /// NOC contacts (RFC 2142 mailboxes), e-mail addresses.
    pub contacts: Vec<String>,
    /// Preferred language for notices: `ja` or `en`.
    pub language: String,
}
