//! RPKI indexes: route origin validation against VRPs (RFC 6811) and AS path
//! verification against ASPA records (draft-ietf-sidrops-aspa-verification).

use bugyo_model::{Asn, Aspa, Prefix, Vrp};
use ipnet::IpNet;
use prefix_trie::joint::JointPrefixMap;
use rustc_hash::FxHashMap;
use std::fmt;

/// The outcome of route origin validation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rov {
    /// A VRP covers the route and authorises its origin and length.
    Valid(Vrp),
    /// VRPs cover the route but none authorises its origin.
    InvalidAsn(Vrp),
    /// A VRP authorises the origin, but not this long a prefix.
    InvalidLength(Vrp),
    /// No VRP covers the route.
    NotFound,
}

impl Rov {
    /// True for either kind of invalid.
    pub fn is_invalid(&self) -> bool {
        matches!(self, Rov::InvalidAsn(_) | Rov::InvalidLength(_))
    }

    /// Short name: `valid`, `invalid`, `not-found`.
    pub fn name(&self) -> &'static str {
        match self {
            Rov::Valid(_) => "valid",
            Rov::InvalidAsn(_) | Rov::InvalidLength(_) => "invalid",
            Rov::NotFound => "not-found",
        }
    }
}

impl fmt::Display for Rov {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rov::Valid(v) => write!(
                f,
                "RPKI valid (ROA {} max /{} {})",
                v.prefix, v.max_len, v.asn
            ),
            Rov::InvalidAsn(v) => write!(
                f,
                "RPKI invalid: origin not authorised (ROA {} max /{} {})",
                v.prefix, v.max_len, v.asn
            ),
            Rov::InvalidLength(v) => write!(
                f,
                "RPKI invalid: longer than maxLength /{} of ROA {} {}",
                v.max_len, v.prefix, v.asn
            ),
            Rov::NotFound => f.write_str("RPKI not found"),
        }
    }
}

/// VRPs indexed by prefix.
#[derive(Default)]
pub struct VrpIndex {
    map: JointPrefixMap<IpNet, Vec<Vrp>>,
    count: usize,
}

impl VrpIndex {
    /// Builds the index.
    pub fn new(vrps: impl IntoIterator<Item = Vrp>) -> VrpIndex {
        let mut idx = VrpIndex::default();
        for v in vrps {
            let list = idx.map.entry(v.prefix.net()).or_default();
            if !list.contains(&v) {
                list.push(v);
                idx.count += 1;
            }
        }
        idx
    }

    /// Number of distinct VRPs.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if no VRP is loaded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Validates a route (RFC 6811). `origin` is `None` when the path has no
    /// single origin (AS_SET); such a route can never be valid.
    pub fn validate(&self, prefix: &Prefix, origin: Option<Asn>) -> Rov {
        let mut covered = None;
        let mut length = None;
        for (_, list) in self.map.cover(&prefix.net()) {
            for v in list {
                covered.get_or_insert(*v);
                if let Some(o) = origin {
                    if v.asn == o && o.0 != 0 {
                        if prefix.len() <= v.max_len {
                            return Rov::Valid(*v);
                        }
                        length.get_or_insert(*v);
                    }
                }
            }
        }
        match (length, covered) {
            (Some(v), _) => Rov::InvalidLength(v),
            (None, Some(v)) => Rov::InvalidAsn(v),
            (None, None) => Rov::NotFound,
        }
    }
}

/// The outcome of ASPA path verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AspaVerdict {
    /// Every hop is attested as customer-to-provider where it must be.
    Valid,
    /// Some hop is attested as not allowed; names the customer AS whose
    /// ASPA does not list the next AS.
    Invalid {
        /// The AS whose ASPA was violated.
        customer: Asn,
        /// The AS it sent the route to, not among its providers.
        to: Asn,
    },
    /// Not enough attestations to decide.
    Unknown,
}

impl fmt::Display for AspaVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AspaVerdict::Valid => f.write_str("ASPA valid"),
            AspaVerdict::Invalid { customer, to } => {
                write!(f, "ASPA invalid: {to} is not a provider of {customer} yet sits above it in the path")
            }
            AspaVerdict::Unknown => f.write_str("ASPA unknown"),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hop {
    ProviderPlus,
    NotProviderPlus,
    NoAttestation,
}

/// ASPA records indexed by customer AS.
#[derive(Default)]
pub struct AspaIndex {
    providers: FxHashMap<Asn, Vec<Asn>>,
}

impl AspaIndex {
    /// Builds the index; several records for one customer are merged.
    pub fn new(records: impl IntoIterator<Item = Aspa>) -> AspaIndex {
        let mut providers: FxHashMap<Asn, Vec<Asn>> = FxHashMap::default();
        for r in records {
            let list = providers.entry(r.customer).or_default();
            list.extend(r.providers);
            list.sort_unstable();
            list.dedup();
        }
        AspaIndex { providers }
    }

    /// Number of customer ASes with a record.
    pub fn len(&self) -> usize {
        self.providers.len()
    }

    /// True if no record is loaded.
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
    }

    fn hop(&self, customer: Asn, next: Asn) -> Hop {
        match self.providers.get(&customer) {
            None => Hop::NoAttestation,
            Some(p) if p.binary_search(&next).is_ok() => Hop::ProviderPlus,
            Some(_) => Hop::NotProviderPlus,
        }
    }

    /// Downstream verification (the route may have come from a provider,
    /// which is the safe assumption for a route collector): `hops` is the
    /// AS path with prepends collapsed, receiver's neighbour first.
    pub fn verify_downstream(&self, hops: &[Asn]) -> AspaVerdict {
        // Work from the origin: path[0] = origin ... path[n-1] = neighbour.
        let path: Vec<Asn> = hops.iter().rev().copied().collect();
        let n = path.len();
        if n <= 2 {
            return AspaVerdict::Valid;
        }
        // Up-ramp from the origin: hops path[i] -> path[i+1].
        let mut max_up = n;
        let mut min_up = n;
        let mut violation = None;
        for i in 0..n - 1 {
            let h = self.hop(path[i], path[i + 1]);
            if h != Hop::ProviderPlus && min_up == n {
                min_up = i + 1;
            }
            if h == Hop::NotProviderPlus {
                max_up = i + 1;
                violation.get_or_insert((path[i], path[i + 1]));
                break;
            }
        }
        // Down-ramp from the neighbour: hops path[j] -> path[j-1].
        let mut max_down = n;
        let mut min_down = n;
        for j in (1..n).rev() {
            let h = self.hop(path[j], path[j - 1]);
            if h != Hop::ProviderPlus && min_down == n {
                min_down = n - j;
            }
            if h == Hop::NotProviderPlus {
                max_down = n - j;
                break;
            }
        }
        if max_up + max_down < n {
            let (customer, to) = violation.unwrap_or((path[0], path[1]));
            AspaVerdict::Invalid { customer, to }
        } else if min_up + min_down >= n {
            AspaVerdict::Valid
        } else {
            AspaVerdict::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrp(p: &str, max: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: p.parse().unwrap(),
            max_len: max,
            asn: Asn(asn),
        }
    }

    #[test]
    fn rov() {
        let idx = VrpIndex::new([vrp("10.0.0.0/16", 20, 4713), vrp("10.0.0.0/16", 16, 0)]);
        let p = |s: &str| s.parse::<Prefix>().unwrap();
        assert!(matches!(
            idx.validate(&p("10.0.0.0/16"), Some(Asn(4713))),
            Rov::Valid(_)
        ));
        assert!(matches!(
            idx.validate(&p("10.0.1.0/20"), Some(Asn(4713))),
            Rov::Valid(_)
        ));
        assert!(matches!(
            idx.validate(&p("10.0.1.0/24"), Some(Asn(4713))),
            Rov::InvalidLength(_)
        ));
        assert!(matches!(
            idx.validate(&p("10.0.1.0/24"), Some(Asn(666))),
            Rov::InvalidAsn(_)
        ));
        assert!(matches!(
            idx.validate(&p("10.0.0.0/16"), None),
            Rov::InvalidAsn(_)
        ));
        assert_eq!(idx.validate(&p("11.0.0.0/16"), Some(Asn(1))), Rov::NotFound);
    }

    #[test]
    fn aspa_downstream() {
        // 65001 (origin) has providers 65002; 65003 has provider 65004.
        let idx = AspaIndex::new([
            Aspa {
                customer: Asn(65001),
                providers: vec![Asn(65002)],
            },
            Aspa {
                customer: Asn(65003),
                providers: vec![Asn(65004)],
            },
            Aspa {
                customer: Asn(65002),
                providers: vec![Asn(65004)],
            },
            Aspa {
                customer: Asn(65004),
                providers: vec![Asn(65010)],
            },
        ]);
        // neighbour first: 65004 65002 65001: up-ramp all the way
        assert_eq!(
            idx.verify_downstream(&[Asn(65004), Asn(65002), Asn(65001)]),
            AspaVerdict::Valid
        );
        // 65003 65004 65002 65001: down from 65004 to 65003 is provider->customer: valid
        assert_eq!(
            idx.verify_downstream(&[Asn(65003), Asn(65004), Asn(65002), Asn(65001)]),
            AspaVerdict::Valid
        );
        // leak: 65004 65003 65002 65001 — 65002 sends to 65003 (not its provider),
        // and 65003 sends up to 65004 (its provider, and 65004 attests that
        // 65003 is not its provider): a valley.
        assert!(matches!(
            idx.verify_downstream(&[Asn(65004), Asn(65003), Asn(65002), Asn(65001)]),
            AspaVerdict::Invalid { .. }
        ));
    }
}
