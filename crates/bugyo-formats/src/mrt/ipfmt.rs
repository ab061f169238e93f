//! Fast text formatting of numbers and addresses the way bgpdump prints
//! them. bgpdump formats IPv6 with its own routine, which differs from
//! RFC 5952 (and from Rust's `Display`): a run of a single zero group is
//! also shortened to `::`, IPv4-mapped addresses print as `::ffff:a.b.c.d`
//! and IPv4-compatible ones as `::a.b.c.d`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends a decimal number.
#[inline]
pub fn push_u32(out: &mut Vec<u8>, mut v: u32) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let mut b = [0u8; 10];
    let mut i = b.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        b[i] = PAIRS[d];
        b[i + 1] = PAIRS[d + 1];
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        b[i] = PAIRS[d];
        b[i + 1] = PAIRS[d + 1];
    } else {
        i -= 1;
        b[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&b[i..]);
}

/// Appends a decimal number (64-bit).
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut u = v.unsigned_abs();
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

/// Appends a dotted-quad IPv4 address.
#[inline]
pub fn push_ipv4(out: &mut Vec<u8>, a: Ipv4Addr) {
    let o = a.octets();
    for (i, x) in o.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        push_u32(out, u32::from(*x));
    }
}

/// Appends an IPv6 address in bgpdump's notation.
pub fn push_ipv6(out: &mut Vec<u8>, a: Ipv6Addr) {
    let s = a.segments();
    let o = a.octets();
    let mapped = s[..5] == [0; 5] && s[5] == 0xffff;
    let compat = s[..6] == [0; 6] && u32::from_be_bytes([o[12], o[13], o[14], o[15]]) > 1;
    if mapped || compat {
        out.extend_from_slice(if mapped { b"::ffff:" } else { b"::" });
        push_ipv4(out, Ipv4Addr::new(o[12], o[13], o[14], o[15]));
        return;
    }
    // Longest run of zero groups (first one wins), even of length one.
    let (mut best, mut best_len, mut i) = (usize::MAX, 0usize, 0usize);
    while i < 8 {
        if s[i] == 0 {
            let st = i;
            while i < 8 && s[i] == 0 {
                i += 1;
            }
            if i - st > best_len {
                best = st;
                best_len = i - st;
            }
        } else {
            i += 1;
        }
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut i = 0;
    while i < 8 {
        if i == best {
            if i == 0 {
                out.push(b':');
            }
            out.push(b':');
            i += best_len;
            continue;
        }
        let g = s[i];
        let mut started = false;
        for shift in [12u16, 8, 4, 0] {
            let d = (g >> shift) & 0xf;
            if d != 0 || started || shift == 0 {
                out.push(HEX[usize::from(d)]);
                started = true;
            }
        }
        if i != 7 {
            out.push(b':');
        }
        i += 1;
    }
}

/// Appends an address: dotted quad or bgpdump's IPv6 notation.
#[inline]
pub fn push_ip(out: &mut Vec<u8>, a: IpAddr) {
    match a {
        IpAddr::V4(v) => push_ipv4(out, v),
        IpAddr::V6(v) => push_ipv6(out, v),
    }
}

/// An address in bgpdump's notation, as a string.
pub fn ip_string(a: IpAddr) -> String {
    let mut v = Vec::with_capacity(40);
    push_ip(&mut v, a);
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> String {
        ip_string(s.parse().unwrap())
    }

    #[test]
    fn like_bgpdump() {
        assert_eq!(f("fe80::"), "fe80::");
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("::ffff:192.168.2.1"), "::ffff:192.168.2.1");
        assert_eq!(f("::192.168.1.2"), "::192.168.1.2");
        assert_eq!(f("2001:7f8:30::2:1:0:8447"), "2001:7f8:30::2:1:0:8447");
        assert_eq!(f("2001:db8:0:1:1:1:1:1"), "2001:db8::1:1:1:1:1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("1::"), "1::");
        assert_eq!(f("193.0.0.56"), "193.0.0.56");
    }
}
