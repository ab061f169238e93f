//! UPDATE message bodies (RFC 4271 §4.3): withdrawn routes, path attributes
//! and NLRI, with MP_REACH/MP_UNREACH (RFC 4760) for IPv4 and IPv6 unicast.

use super::attrs::{afi_of, parse_attributes, AttrOptions};
use super::nlri::{parse_nlri, Nlri};
use super::{be16, BgpError, ErrorAction};
use bugyo_model::{Afi, PathAttributes};

/// How to read an UPDATE.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    /// 4-byte AS numbers (RFC 6793).
    pub asn4: bool,
    /// ADD-PATH path identifiers in every NLRI (RFC 7911).
    pub add_path: bool,
}

/// The three parts of an UPDATE body, not yet decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateParts<'a> {
    /// Withdrawn routes (packed IPv4 NLRI).
    pub withdrawn: &'a [u8],
    /// Position of `withdrawn` in the body.
    pub withdrawn_pos: usize,
    /// Path attributes.
    pub attrs: &'a [u8],
    /// Position of `attrs` in the body.
    pub attrs_pos: usize,
    /// Announced IPv4 NLRI.
    pub nlri: &'a [u8],
    /// Position of `nlri` in the body.
    pub nlri_pos: usize,
}

/// Splits an UPDATE body (the bytes after the 19-byte header).
pub fn split_update(body: &[u8]) -> Result<UpdateParts<'_>, BgpError> {
    let wl = usize::from(be16(body, 0).ok_or_else(|| {
        BgpError::new(
            "withdrawn routes length",
            0,
            "truncated",
            ErrorAction::SessionReset,
        )
    })?);
    let withdrawn = body.get(2..2 + wl).ok_or_else(|| {
        BgpError::new(
            "withdrawn routes length",
            0,
            format!("{wl} overruns the message"),
            ErrorAction::SessionReset,
        )
    })?;
    let ap = 2 + wl;
    let al = usize::from(be16(body, ap).ok_or_else(|| {
        BgpError::new(
            "total path attribute length",
            ap,
            "truncated",
            ErrorAction::SessionReset,
        )
    })?);
    let attrs = body.get(ap + 2..ap + 2 + al).ok_or_else(|| {
        BgpError::new(
            "total path attribute length",
            ap,
            format!("{al} overruns the message"),
            ErrorAction::SessionReset,
        )
    })?;
    let np = ap + 2 + al;
    Ok(UpdateParts {
        withdrawn,
        withdrawn_pos: 2,
        attrs,
        attrs_pos: ap + 2,
        nlri: &body[np..],
        nlri_pos: np,
    })
}

/// A decoded UPDATE.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateMessage {
    /// Withdrawn prefixes: the withdrawn-routes field, then MP_UNREACH_NLRI.
    pub withdrawn: Vec<Nlri>,
    /// Announced prefixes: the NLRI field, then MP_REACH_NLRI.
    pub announced: Vec<Nlri>,
    /// The path attributes, if the UPDATE announces anything (or carries
    /// attributes at all); `None` after treat-as-withdraw.
    pub attrs: Option<PathAttributes>,
    /// Problems found; parsing went on where RFC 7606 allows.
    pub errors: Vec<BgpError>,
    /// True if an error forced treat-as-withdraw: the announced prefixes
    /// were moved to `withdrawn`.
    pub treat_as_withdraw: bool,
    /// (AFI, SAFI) of MP_REACH_NLRI / MP_UNREACH_NLRI attributes whose
    /// family is not IPv4 or IPv6 unicast (e.g. SAFI 4 labeled unicast,
    /// SAFI 128 VPN): recognised but not decoded, so their prefixes are in
    /// neither `withdrawn` nor `announced`.
    pub other_families: Vec<(u16, u8)>,
}

/// Decodes an UPDATE body. Errors in framing (lengths that overrun the
/// message) fail the whole message; errors inside attributes or NLRI are
/// reported in [`UpdateMessage::errors`] and handled per RFC 7606.
pub fn parse_update(body: &[u8], opts: UpdateOptions) -> Result<UpdateMessage, BgpError> {
    let parts = split_update(body)?;
    let mut m = UpdateMessage::default();
    if let Err(e) = parse_nlri(
        parts.withdrawn,
        Afi::Ipv4,
        opts.add_path,
        parts.withdrawn_pos,
        "withdrawn routes",
        &mut m.withdrawn,
    ) {
        m.errors.push(e);
    }
    let pa = parse_attributes(
        parts.attrs,
        parts.attrs_pos,
        AttrOptions { asn4: opts.asn4 },
    );
    m.errors.extend(pa.errors.iter().cloned());
    if let Some(u) = &pa.mp_unreach {
        if !matches!((afi_of(u.afi), u.safi), (Some(_), 1)) {
            m.other_families.push((u.afi, u.safi));
        }
        if let (Some(afi), 1) = (afi_of(u.afi), u.safi) {
            if let Err(e) = parse_nlri(
                u.nlri,
                afi,
                opts.add_path,
                u.nlri_pos,
                "MP_UNREACH_NLRI",
                &mut m.withdrawn,
            ) {
                m.errors.push(e);
            }
        }
    }
    if let Err(e) = parse_nlri(
        parts.nlri,
        Afi::Ipv4,
        opts.add_path,
        parts.nlri_pos,
        "NLRI",
        &mut m.announced,
    ) {
        m.errors.push(e);
    }
    if let Some(r) = &pa.mp_reach {
        if !matches!((afi_of(r.afi), r.safi), (Some(_), 1)) {
            m.other_families.push((r.afi, r.safi));
        }
        if let (Some(afi), 1) = (afi_of(r.afi), r.safi) {
            if let Err(e) = parse_nlri(
                r.nlri,
                afi,
                opts.add_path,
                r.nlri_pos,
                "MP_REACH_NLRI",
                &mut m.announced,
            ) {
                m.errors.push(e);
            }
        }
    }
    let worst = m.errors.iter().map(|e| e.action).max();
    if worst >= Some(ErrorAction::TreatAsWithdraw) {
        m.treat_as_withdraw = true;
        let ann = std::mem::take(&mut m.announced);
        m.withdrawn.extend(ann);
    } else if !parts.attrs.is_empty() {
        m.attrs = Some(pa.attrs);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_treats_as_withdraw() {
        // withdrawn: 10.0.0.0/8; attrs: ORIGIN IGP; NLRI 192.0.2.0/24
        let body = [0, 2, 8, 10, 0, 4, 0x40, 1, 1, 0, 24, 192, 0, 2];
        let m = parse_update(&body, UpdateOptions::default()).unwrap();
        assert_eq!(m.withdrawn.len(), 1);
        assert_eq!(m.announced[0].prefix.to_string(), "192.0.2.0/24");
        assert!(m.attrs.is_some());
        let bad = [0, 0, 0, 4, 0x40, 1, 1, 9, 24, 192, 0, 2];
        let m = parse_update(&bad, UpdateOptions::default()).unwrap();
        assert!(m.treat_as_withdraw);
        assert_eq!(m.withdrawn.len(), 1);
        assert!(m.announced.is_empty());
        assert!(parse_update(&[0, 9], UpdateOptions::default()).is_err());
    }
}
