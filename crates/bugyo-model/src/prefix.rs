//! IP prefixes. A [`Prefix`] is always in canonical form: host bits are zero
//! and the length fits the family, so two routes for the same network compare
//! equal however their NLRI was encoded.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Afi {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

/// Why a prefix could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// The length is longer than the family allows.
    #[error("prefix length {len} is longer than {max}")]
    TooLong {
        /// The given length.
        len: u8,
        /// The family's maximum (32 or 128).
        max: u8,
    },
    /// The text is not `address/length`.
    #[error("not a prefix: {0:?}")]
    Syntax(String),
}

/// An IPv4 or IPv6 prefix with host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix(IpNet);

impl Prefix {
    /// Builds a prefix, clearing any host bits (as bgpdump does for NLRI
    /// with trailing bits set).
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let net = match addr {
            IpAddr::V4(a) => {
                IpNet::V4(Ipv4Net::new(a, len).map_err(|_| PrefixError::TooLong { len, max: 32 })?)
            }
            IpAddr::V6(a) => {
                IpNet::V6(Ipv6Net::new(a, len).map_err(|_| PrefixError::TooLong { len, max: 128 })?)
            }
        };
        Ok(Prefix(net.trunc()))
    }

    /// An IPv4 prefix from its address bits.
    pub fn v4(addr: u32, len: u8) -> Result<Prefix, PrefixError> {
        Prefix::new(IpAddr::V4(Ipv4Addr::from(addr)), len)
    }

    /// An IPv6 prefix from its address bits.
    pub fn v6(addr: u128, len: u8) -> Result<Prefix, PrefixError> {
        Prefix::new(IpAddr::V6(Ipv6Addr::from(addr)), len)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.0.network()
    }

    /// The prefix length.
    pub fn len(&self) -> u8 {
        self.0.prefix_len()
    }

    /// True for the default route (length zero).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The address family.
    pub fn afi(&self) -> Afi {
        match self.0 {
            IpNet::V4(_) => Afi::Ipv4,
            IpNet::V6(_) => Afi::Ipv6,
        }
    }

    /// The `ipnet` form, for tries and set operations.
    pub fn net(&self) -> IpNet {
        self.0
    }

    /// True if `self` equals `other` or lies inside it.
    pub fn is_within(&self, other: &Prefix) -> bool {
        other.0.contains(&self.0)
    }

    /// True if `self` lies strictly inside `other`.
    pub fn is_more_specific_of(&self, other: &Prefix) -> bool {
        self.len() > other.len() && self.is_within(other)
    }

    /// The number of addresses as a power of two exponent: 2^(32-len) for
    /// IPv4, 2^(128-len) for IPv6. Used to weigh address space.
    pub fn host_bits(&self) -> u8 {
        match self.0 {
            IpNet::V4(n) => 32 - n.prefix_len(),
            IpNet::V6(n) => 128 - n.prefix_len(),
        }
    }
}

impl From<IpNet> for Prefix {
    fn from(n: IpNet) -> Self {
        Prefix(n.trunc())
    }
}

impl From<Ipv4Net> for Prefix {
    fn from(n: Ipv4Net) -> Self {
        Prefix(IpNet::V4(n.trunc()))
    }
}

impl From<Ipv6Net> for Prefix {
    fn from(n: Ipv6Net) -> Self {
        Prefix(IpNet::V6(n.trunc()))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0.network(), self.0.prefix_len())
    }
}

impl std::str::FromStr for Prefix {
    type Err = PrefixError;
    /// Parses `192.0.2.0/24` or `2001:db8::/32`; host bits are cleared.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (a, l) = s
            .split_once('/')
            .ok_or_else(|| PrefixError::Syntax(s.to_string()))?;
        let addr: IpAddr = a.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        let len: u8 = l.parse().map_err(|_| PrefixError::Syntax(s.to_string()))?;
        Prefix::new(addr, len)
    }
}

impl serde::Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Prefix {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Prefix, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse()
            .map_err(|e| serde::de::Error::custom(format!("prefix {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical() {
        let p: Prefix = "11.13.0.0/13".parse().unwrap();
        assert_eq!(p.to_string(), "11.8.0.0/13");
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("nonsense".parse::<Prefix>().is_err());
    }

    #[test]
    fn containment() {
        let a: Prefix = "10.0.0.0/8".parse().unwrap();
        let b: Prefix = "10.1.0.0/16".parse().unwrap();
        assert!(b.is_more_specific_of(&a));
        assert!(!a.is_more_specific_of(&b));
        assert!(a.is_within(&a));
    }
}
