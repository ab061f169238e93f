//! Autonomous System numbers (RFC 6793: 32 bits) and the ranges that must
//! not appear in a public AS path (RFC 7607, RFC 5398, RFC 6996, RFC 7300).

use std::fmt;

/// An Autonomous System number. `Display` prints `AS65000`; use
/// [`Asn::get`] for the plain number that bgpdump and JSON output use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Asn(pub u32);

/// AS_TRANS (RFC 6793): stands in for a 4-byte ASN in 2-byte speakers' paths.
pub const AS_TRANS: Asn = Asn(23456);

impl Asn {
    /// The plain number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Private use (RFC 6996): 64512-65534 and 4200000000-4294967294.
    pub const fn is_private(self) -> bool {
        matches!(self.0, 64512..=65534 | 4_200_000_000..=4_294_967_294)
    }

    /// Reserved or documentation ASNs that no public route may carry:
    /// 0 (RFC 7607), AS_TRANS, 64496-64511 and 65536-65551 (RFC 5398),
    /// 65535 and 4294967295 (RFC 7300), 65552-131071 (IANA reserved).
    pub const fn is_reserved(self) -> bool {
        matches!(
            self.0,
            0 | 23456 | 64496..=64511 | 65535 | 65536..=131071 | 4_294_967_295
        )
    }

    /// Private or reserved: must not appear in a path on the public Internet.
    pub const fn is_bogon(self) -> bool {
        self.is_private() || self.is_reserved()
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AS{}", self.0)
    }
}

impl From<u32> for Asn {
    fn from(n: u32) -> Self {
        Asn(n)
    }
}

impl serde::Serialize for Asn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Asn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Asn, D::Error> {
        u32::deserialize(d).map(Asn)
    }
}

impl std::str::FromStr for Asn {
    type Err = std::num::ParseIntError;
    /// Accepts `65000`, `AS65000`, `as65000` and asdot `1.10`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_prefix("AS")
            .or_else(|| t.strip_prefix("as"))
            .or_else(|| t.strip_prefix("As"))
            .unwrap_or(t);
        if let Some((hi, lo)) = t.split_once('.') {
            let hi: u16 = hi.parse()?;
            let lo: u16 = lo.parse()?;
            return Ok(Asn((u32::from(hi) << 16) | u32::from(lo)));
        }
        t.parse().map(Asn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(Asn(64512).is_private());
        assert!(Asn(4_200_000_000).is_private());
        assert!(!Asn(4713).is_bogon());
        assert!(Asn(0).is_reserved());
        assert!(Asn(23456).is_reserved());
        assert!(Asn(64500).is_reserved());
        assert!(!Asn(131072).is_bogon());
    }

    #[test]
    fn parse() {
        assert_eq!("AS4713".parse::<Asn>().unwrap(), Asn(4713));
        assert_eq!("1.10".parse::<Asn>().unwrap(), Asn(65546));
        assert!("ASx".parse::<Asn>().is_err());
    }
}
