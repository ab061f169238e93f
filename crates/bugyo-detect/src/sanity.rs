//! Path and prefix sanity: bogon prefixes (RFC 6890 special-purpose space),
//! over-specific prefixes, private and reserved ASNs in public paths, AS_SET,
//! loops, and implausibly long paths.

use bugyo_model::{Afi, AsPath, Asn, Prefix};
use std::fmt;
use std::sync::OnceLock;

/// One problem with a route's prefix or path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SanityIssue {
    /// The prefix is special-purpose or unallocated space.
    BogonPrefix,
    /// Longer than /24 (IPv4) or /48 (IPv6): filtered by most networks.
    TooSpecific,
    /// A private or reserved ASN appears in the path.
    BogonAsn(Asn),
    /// The path contains an AS_SET (deprecated by RFC 9774).
    AsSet,
    /// The same AS appears twice, separated by others.
    Loop(Asn),
    /// More ASNs than any real path needs.
    TooLong(usize),
}

impl fmt::Display for SanityIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanityIssue::BogonPrefix => {
                f.write_str("bogon prefix (special-purpose or unallocated space)")
            }
            SanityIssue::TooSpecific => {
                f.write_str("prefix more specific than /24 (IPv4) or /48 (IPv6)")
            }
            SanityIssue::BogonAsn(a) => write!(f, "private or reserved {a} in the AS path"),
            SanityIssue::AsSet => f.write_str("AS_SET in the AS path"),
            SanityIssue::Loop(a) => write!(f, "AS path loop through {a}"),
            SanityIssue::TooLong(n) => write!(f, "implausibly long AS path ({n} ASNs)"),
        }
    }
}

/// Paths with more ASNs than this (prepends counted) are implausible.
pub const MAX_PATH_LEN: usize = 50;

const BOGONS: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/8",
    "100::/64",
    "2001:2::/48",
    "2001:10::/28",
    "2001:db8::/32",
    "3fff::/20",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
];

fn bogons() -> &'static [Prefix] {
    static LIST: OnceLock<Vec<Prefix>> = OnceLock::new();
    LIST.get_or_init(|| BOGONS.iter().filter_map(|s| s.parse().ok()).collect())
}

/// True for special-purpose space, and for IPv6 outside 2000::/3.
pub fn is_bogon_prefix(p: &Prefix) -> bool {
    // Fast path: most routes are far from any special-purpose block.
    let near_special = match p.addr() {
        std::net::IpAddr::V4(a) if p.len() >= 8 => matches!(
            a.octets()[0],
            0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255
        ),
        std::net::IpAddr::V6(a) if p.len() >= 16 => {
            let top = a.segments()[0];
            !(0x2000..0x4000).contains(&top) || top == 0x2001 || top == 0x3fff
        }
        _ => true,
    };
    if !near_special {
        return false;
    }
    if p.afi() == Afi::Ipv6 {
        let global: Prefix = match "2000::/3".parse() {
            Ok(g) => g,
            Err(_) => return false,
        };
        if !p.is_within(&global) && !p.is_empty() {
            return true;
        }
    }
    if p.is_empty() {
        return true;
    }
    bogons().iter().any(|b| p.is_within(b))
}

/// All sanity issues of a route.
pub fn check(prefix: &Prefix, path: &AsPath) -> Vec<SanityIssue> {
    let mut out = check_prefix(prefix);
    out.extend(check_path(path));
    out
}

/// The issues of the prefix alone.
pub fn check_prefix(prefix: &Prefix) -> Vec<SanityIssue> {
    let mut out = Vec::new();
    if is_bogon_prefix(prefix) {
        out.push(SanityIssue::BogonPrefix);
    }
    let too_specific = match prefix.afi() {
        Afi::Ipv4 => prefix.len() > 24,
        Afi::Ipv6 => prefix.len() > 48,
    };
    if too_specific {
        out.push(SanityIssue::TooSpecific);
    }
    out
}

/// The issues of the AS path alone.
pub fn check_path(path: &AsPath) -> Vec<SanityIssue> {
    let mut out = Vec::new();
    if let Some(a) = path.iter().find(|a| a.is_bogon()) {
        out.push(SanityIssue::BogonAsn(a));
    }
    if path.has_set() {
        out.push(SanityIssue::AsSet);
    }
    if let Some(a) = path.loop_asn() {
        out.push(SanityIssue::Loop(a));
    }
    let n = path.len_written();
    if n > MAX_PATH_LEN {
        out.push(SanityIssue::TooLong(n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bogons_and_paths() {
        let p = |s: &str| s.parse::<Prefix>().unwrap();
        assert!(is_bogon_prefix(&p("10.1.0.0/16")));
        assert!(is_bogon_prefix(&p("2001:db8:1::/48")));
        assert!(is_bogon_prefix(&p("fd00::/8")));
        assert!(!is_bogon_prefix(&p("1.0.0.0/24")));
        assert!(!is_bogon_prefix(&p("2001:200::/32")));
        let path = AsPath::from_sequence([2497, 64512, 4713]);
        assert_eq!(
            check(&p("1.0.0.0/25"), &path),
            vec![SanityIssue::TooSpecific, SanityIssue::BogonAsn(Asn(64512))]
        );
        assert!(check(&p("1.0.0.0/24"), &AsPath::from_sequence([2497, 4713])).is_empty());
    }
}
