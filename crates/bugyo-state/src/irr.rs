//! IRR route objects indexed by prefix, answering the question the old route
//! monitor asked — and the one it did not: is this route registered exactly,
//! as a more-specific of a registered route with the same origin, with
//! another origin, or not at all?

use bugyo_model::{Asn, Prefix, RouteObject};
use ipnet::IpNet;
use prefix_trie::joint::JointPrefixMap;
use std::fmt;

/// How a route relates to the IRR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IrrMatch {
    /// A route object with this prefix and origin exists.
    Exact {
        /// The registry holding it.
        source: String,
    },
    /// A less-specific route object with the same origin exists.
    MoreSpecific {
        /// The registered covering prefix.
        registered: Prefix,
        /// The registry holding it.
        source: String,
    },
    /// Route objects cover the prefix, but with other origins.
    OriginMismatch {
        /// The most specific registered covering prefix.
        registered: Prefix,
        /// The origins registered for it.
        origins: Vec<Asn>,
    },
    /// No route object covers the prefix.
    Unregistered,
}

impl IrrMatch {
    /// Short name: `exact`, `more-specific`, `origin-mismatch`, `unregistered`.
    pub fn name(&self) -> &'static str {
        match self {
            IrrMatch::Exact { .. } => "exact",
            IrrMatch::MoreSpecific { .. } => "more-specific",
            IrrMatch::OriginMismatch { .. } => "origin-mismatch",
            IrrMatch::Unregistered => "unregistered",
        }
    }
}

impl fmt::Display for IrrMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrrMatch::Exact { source } => write!(f, "IRR exact match ({source})"),
            IrrMatch::MoreSpecific { registered, source } => {
                write!(
                    f,
                    "IRR: more-specific of registered {registered} with the same origin ({source})"
                )
            }
            IrrMatch::OriginMismatch {
                registered,
                origins,
            } => {
                let o: Vec<String> = origins.iter().map(|a| a.to_string()).collect();
                write!(
                    f,
                    "IRR origin mismatch: {registered} is registered to {}",
                    o.join(", ")
                )
            }
            IrrMatch::Unregistered => f.write_str("IRR: no route object"),
        }
    }
}

/// Route objects indexed by prefix.
#[derive(Default)]
pub struct IrrIndex {
    map: JointPrefixMap<IpNet, Vec<(Asn, u16)>>,
    sources: Vec<String>,
    count: usize,
}

impl IrrIndex {
    /// Builds the index from route objects of any number of sources.
    pub fn new(objects: impl IntoIterator<Item = RouteObject>) -> IrrIndex {
        let mut idx = IrrIndex::default();
        for o in objects {
            let src = match idx.sources.iter().position(|s| *s == o.source) {
                Some(i) => i as u16,
                None => {
                    idx.sources.push(o.source.clone());
                    (idx.sources.len() - 1) as u16
                }
            };
            let list = idx.map.entry(o.prefix.net()).or_default();
            if !list.iter().any(|(a, s)| *a == o.origin && *s == src) {
                list.push((o.origin, src));
                idx.count += 1;
            }
        }
        idx
    }

    /// Number of distinct (prefix, origin, source) objects.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Checks a route against the registered objects.
    pub fn check(&self, prefix: &Prefix, origin: Option<Asn>) -> IrrMatch {
        let mut most_specific: Option<(IpNet, &Vec<(Asn, u16)>)> = None;
        let mut same_origin: Option<(IpNet, u16)> = None;
        for (net, list) in self.map.cover(&prefix.net()) {
            if let Some(o) = origin {
                if let Some((_, src)) = list.iter().find(|(a, _)| *a == o) {
                    if net.prefix_len() == prefix.len() {
                        return IrrMatch::Exact {
                            source: self.sources[*src as usize].clone(),
                        };
                    }
                    same_origin = Some((net, *src));
                }
            }
            most_specific = Some((net, list));
        }
        if let Some((net, src)) = same_origin {
            return IrrMatch::MoreSpecific {
                registered: Prefix::from(net),
                source: self.sources[src as usize].clone(),
            };
        }
        match most_specific {
            Some((net, list)) => {
                let mut origins: Vec<Asn> = list.iter().map(|(a, _)| *a).collect();
                origins.sort_unstable();
                origins.dedup();
                IrrMatch::OriginMismatch {
                    registered: Prefix::from(net),
                    origins,
                }
            }
            None => IrrMatch::Unregistered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_answers() {
        let idx = IrrIndex::new([
            RouteObject {
                prefix: "60.32.0.0/12".parse().unwrap(),
                origin: Asn(4713),
                source: "JPIRR".into(),
            },
            RouteObject {
                prefix: "60.32.0.0/12".parse().unwrap(),
                origin: Asn(4713),
                source: "RADB".into(),
            },
        ]);
        let p = |s: &str| s.parse::<Prefix>().unwrap();
        assert_eq!(idx.len(), 2);
        assert_eq!(
            idx.check(&p("60.32.0.0/12"), Some(Asn(4713))).name(),
            "exact"
        );
        assert_eq!(
            idx.check(&p("60.33.0.0/16"), Some(Asn(4713))).name(),
            "more-specific"
        );
        assert_eq!(
            idx.check(&p("60.33.0.0/16"), Some(Asn(666))).name(),
            "origin-mismatch"
        );
        assert_eq!(
            idx.check(&p("61.0.0.0/16"), Some(Asn(4713))),
            IrrMatch::Unregistered
        );
    }
}
