//! NLRI: the prefix lists of UPDATE messages and MP_REACH/MP_UNREACH
//! (RFC 4271 §4.3, RFC 4760 §5), optionally with ADD-PATH path identifiers
//! (RFC 7911). Trailing bits beyond the prefix length are cleared, so
//! `0d 0b 0d` decodes as 11.8.0.0/13, as bgpdump does.

use super::{BgpError, ErrorAction};
use bugyo_model::{Afi, Prefix};

/// One NLRI entry: a prefix and, with ADD-PATH, its path identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nlri {
    /// The prefix (host bits cleared).
    pub prefix: Prefix,
    /// The ADD-PATH path identifier (RFC 7911), if the session uses it.
    pub path_id: Option<u32>,
}

/// Builds a prefix from its leading address bytes (at most 4 or 16) and its
/// length; bits past the length are cleared. `None` if the length is too long.
#[inline]
pub fn prefix_from_bytes(afi: Afi, bytes: &[u8], len: u8) -> Option<Prefix> {
    match afi {
        Afi::Ipv4 => {
            if len > 32 {
                return None;
            }
            let mut a = [0u8; 4];
            let n = bytes.len().min(4);
            a[..n].copy_from_slice(&bytes[..n]);
            Prefix::v4(u32::from_be_bytes(a), len).ok()
        }
        Afi::Ipv6 => {
            if len > 128 {
                return None;
            }
            let mut a = [0u8; 16];
            let n = bytes.len().min(16);
            a[..n].copy_from_slice(&bytes[..n]);
            Prefix::v6(u128::from_be_bytes(a), len).ok()
        }
    }
}

/// Parses a packed NLRI list, appending to `out`. `base` is added to byte
/// positions in errors; `field` names the list in errors. On error the
/// prefixes decoded before the bad one are kept in `out`.
pub fn parse_nlri(
    buf: &[u8],
    afi: Afi,
    add_path: bool,
    base: usize,
    field: &'static str,
    out: &mut Vec<Nlri>,
) -> Result<(), BgpError> {
    let max = match afi {
        Afi::Ipv4 => 32,
        Afi::Ipv6 => 128,
    };
    let mut p = 0usize;
    while p < buf.len() {
        let start = p;
        let path_id = if add_path {
            let Some(id) = super::be32(buf, p) else {
                return Err(BgpError::new(
                    field,
                    base + start,
                    "truncated path identifier",
                    ErrorAction::SessionReset,
                ));
            };
            p += 4;
            Some(id)
        } else {
            None
        };
        let Some(&len) = buf.get(p) else {
            return Err(BgpError::new(
                field,
                base + start,
                "truncated prefix",
                ErrorAction::SessionReset,
            ));
        };
        p += 1;
        if len > max {
            return Err(BgpError::new(
                field,
                base + start,
                format!("prefix length {len} longer than {max}"),
                ErrorAction::SessionReset,
            ));
        }
        let nbytes = usize::from(len).div_ceil(8);
        let Some(bytes) = buf.get(p..p + nbytes) else {
            return Err(BgpError::new(
                field,
                base + start,
                format!(
                    "prefix of length {len} truncated ({} of {nbytes} bytes)",
                    buf.len() - p
                ),
                ErrorAction::SessionReset,
            ));
        };
        p += nbytes;
        match prefix_from_bytes(afi, bytes, len) {
            Some(prefix) => out.push(Nlri { prefix, path_id }),
            None => {
                return Err(BgpError::new(
                    field,
                    base + start,
                    "bad prefix",
                    ErrorAction::SessionReset,
                ));
            }
        }
    }
    Ok(())
}

/// Appends one NLRI entry in wire form.
pub fn write_nlri(out: &mut Vec<u8>, n: &Nlri, add_path: bool) {
    if add_path {
        out.extend_from_slice(&n.path_id.unwrap_or(0).to_be_bytes());
    }
    let len = n.prefix.len();
    out.push(len);
    let nbytes = usize::from(len).div_ceil(8);
    match n.prefix.addr() {
        std::net::IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..nbytes.min(4)]),
        std::net::IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..nbytes.min(16)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_trailing_bits_and_reports_truncation() {
        let mut v = Vec::new();
        let e = parse_nlri(
            &[0x0d, 0x0b, 0x0d, 0x0b],
            Afi::Ipv4,
            false,
            100,
            "NLRI",
            &mut v,
        )
        .unwrap_err();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].prefix.to_string(), "11.8.0.0/13");
        assert_eq!(e.pos, 103);
    }

    #[test]
    fn add_path_round_trip() {
        let n = Nlri {
            prefix: "2001:db8::/32".parse().unwrap(),
            path_id: Some(7),
        };
        let mut b = Vec::new();
        write_nlri(&mut b, &n, true);
        let mut v = Vec::new();
        parse_nlri(&b, Afi::Ipv6, true, 0, "NLRI", &mut v).unwrap();
        assert_eq!(v, vec![n]);
        assert!(parse_nlri(&[33, 1, 2, 3, 4, 5], Afi::Ipv4, false, 0, "NLRI", &mut v).is_err());
    }
}
