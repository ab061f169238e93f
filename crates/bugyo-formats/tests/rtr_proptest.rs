//! Property tests for the RTR codec: every PDU survives encode/decode, the
//! framing decoder gives the same PDUs however the stream is split, and no
//! random or mutated input makes it panic.

use bugyo_formats::rtr::{Decoder, Pdu, Timing, MAX_PDU_LEN};
use bugyo_model::{Asn, Prefix, Vrp};
use proptest::prelude::*;

fn vrp() -> impl Strategy<Value = Vrp> {
    prop_oneof![
        (any::<u32>(), 0u8..=32, 0u8..=32, any::<u32>()).prop_map(|(a, l, m, asn)| (
            Prefix::v4(a, l),
            l,
            m,
            asn
        )),
        (any::<u128>(), 0u8..=128, 0u8..=128, any::<u32>()).prop_map(|(a, l, m, asn)| (
            Prefix::v6(a, l),
            l,
            m,
            asn
        )),
    ]
    .prop_filter_map("valid prefix", |(p, l, m, asn)| {
        p.ok().map(|prefix| Vrp {
            prefix,
            max_len: m.max(l),
            asn: Asn(asn),
        })
    })
}

fn pdu() -> impl Strategy<Value = Pdu> {
    let v = 0u8..=2;
    prop_oneof![
        (v.clone(), any::<u16>(), any::<u32>()).prop_map(|(version, session_id, serial)| {
            Pdu::SerialNotify {
                version,
                session_id,
                serial,
            }
        }),
        (v.clone(), any::<u16>(), any::<u32>()).prop_map(|(version, session_id, serial)| {
            Pdu::SerialQuery {
                version,
                session_id,
                serial,
            }
        }),
        v.clone().prop_map(|version| Pdu::ResetQuery { version }),
        v.clone().prop_map(|version| Pdu::CacheReset { version }),
        (v.clone(), any::<u16>()).prop_map(|(version, session_id)| Pdu::CacheResponse {
            version,
            session_id
        }),
        (v.clone(), any::<bool>(), vrp()).prop_map(|(version, announce, vrp)| Pdu::Prefix {
            version,
            announce,
            vrp
        }),
        (
            v.clone(),
            any::<u16>(),
            any::<u32>(),
            any::<(u32, u32, u32)>()
        )
            .prop_map(|(version, session_id, serial, (refresh, retry, expire))| {
                Pdu::EndOfData {
                    version,
                    session_id,
                    serial,
                    timing: (version > 0).then_some(Timing {
                        refresh,
                        retry,
                        expire,
                    }),
                }
            }),
        (
            1u8..=2,
            any::<bool>(),
            any::<[u8; 20]>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(version, announce, ski, asn, spki)| Pdu::RouterKey {
                version,
                announce,
                ski,
                asn: Asn(asn),
                spki
            }),
        (
            v.clone(),
            0u16..10,
            proptest::collection::vec(any::<u8>(), 0..40),
            "[a-z ]{0,30}"
        )
            .prop_map(|(version, code, pdu, text)| Pdu::ErrorReport {
                version,
                code,
                pdu,
                text
            }),
        (
            any::<bool>(),
            0u8..4,
            any::<u32>(),
            proptest::collection::vec(any::<u32>(), 0..20)
        )
            .prop_map(|(announce, afi_flags, c, p)| Pdu::Aspa {
                version: 2,
                announce,
                afi_flags,
                customer: Asn(c),
                providers: if announce {
                    p.into_iter().map(Asn).collect()
                } else {
                    Vec::new()
                },
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn roundtrip(p in pdu()) {
        let b = p.to_bytes();
        prop_assert_eq!(b.len() as u32, u32::from_be_bytes([b[4], b[5], b[6], b[7]]));
        prop_assert_eq!(Pdu::decode(&b), Ok(p));
    }

    #[test]
    fn stream_split_anywhere(ps in proptest::collection::vec(pdu(), 0..20), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..10)) {
        let mut stream = Vec::new();
        for p in &ps {
            p.encode(&mut stream);
        }
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.push(0);
        at.push(stream.len());
        at.sort_unstable();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for w in at.windows(2) {
            d.push(&stream[w[0]..w[1]]);
            for _ in 0..1000 {
                match d.next() {
                    Some(r) => got.push(r),
                    None => break,
                }
            }
        }
        let want: Vec<_> = ps.into_iter().map(Ok).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(d.pending(), 0);
    }

    #[test]
    fn random_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = Decoder::new();
        for c in &chunks {
            let _ = Pdu::decode(c);
            d.push(c);
            for _ in 0..100 {
                if d.next().is_none() {
                    break;
                }
            }
        }
    }

    #[test]
    fn mutated_pdus_never_panic(ps in proptest::collection::vec(pdu(), 1..8), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>()) {
        let mut stream = Vec::new();
        for p in &ps {
            p.encode(&mut stream);
        }
        for (i, v) in &flips {
            let at = i.index(stream.len());
            stream[at] = *v;
        }
        let end = cut.index(stream.len() + 1);
        let stream = &stream[..end];
        let _ = Pdu::decode(stream);
        let mut d = Decoder::new();
        d.push(stream);
        let mut seen = 0usize;
        for _ in 0..100 {
            match d.next() {
                Some(Ok(p)) => {
                    // Whatever decodes re-encodes to a PDU that decodes the same.
                    prop_assert_eq!(Pdu::decode(&p.to_bytes()), Ok(p));
                    seen += 1;
                }
                Some(Err(e)) => {
                    prop_assert!(e.offset <= stream.len() as u64);
                    seen += 1;
                }
                None => break,
            }
        }
        prop_assert!(seen <= ps.len() + 1);
    }

    #[test]
    fn huge_length_is_fatal(len in (MAX_PDU_LEN + 1)..=u32::MAX) {
        let mut b = vec![1, 4, 0, 0];
        b.extend_from_slice(&len.to_be_bytes());
        let mut d = Decoder::new();
        d.push(&b);
        let e = d.next();
        prop_assert!(matches!(e, Some(Err(ref e)) if e.fatal && e.field == "length"));
        prop_assert!(d.next().is_none());
    }
}
