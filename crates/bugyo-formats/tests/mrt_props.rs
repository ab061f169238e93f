//! Property tests: random and damaged input never panics the MRT reader,
//! the BGP UPDATE parser or the bgpdump-text parser, and errors carry
//! positions inside the input.

mod mrt_util;
use bugyo_formats::bgp::{
    parse_attributes, parse_message, parse_update, AttrOptions, UpdateOptions,
};
use bugyo_formats::mrt::bgpdump_text::TextReader;
use bugyo_formats::mrt::MrtReader;
use proptest::prelude::*;
use std::io::Cursor;
use std::sync::OnceLock;

/// The first few KiB of real MRT files of several kinds.
fn samples() -> &'static Vec<Vec<u8>> {
    static S: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    S.get_or_init(|| {
        [
            "bgpdump/test_data_updates.20160811.1600.gz",
            "bgpdump/test_data_bview.ipv6_unicast_add_path.gz",
            "bgpdump/test_data_bview.20020722.2337.gz",
            "bgpdump/test_data_updates.et-header.2015.gz",
            "bgpkit/tests_fixtures_ripe_rrc00_1999.12_updates.19991214.1621.gz",
        ]
        .iter()
        .map(|f| {
            let mut v = bugyo_formats::input::read_all(&mrt_util::data(f)).expect("read");
            v.truncate(6000);
            v
        })
        .collect()
    })
}

fn read_everything(bytes: Vec<u8>) {
    let len = bytes.len() as u64;
    let mut r = MrtReader::new(Cursor::new(bytes));
    for e in r.by_ref() {
        if let Err(e) = e {
            assert!(e.offset <= len, "{e} beyond {len}");
        }
    }
    assert!(r.stats().bytes <= len);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        read_everything(bytes.clone());
        let _ = parse_update(&bytes, UpdateOptions { asn4: true, add_path: false });
        let _ = parse_update(&bytes, UpdateOptions { asn4: false, add_path: true });
        let p = parse_attributes(&bytes, 0, AttrOptions { asn4: false });
        for e in &p.errors {
            prop_assert!(e.pos <= bytes.len());
        }
        let _ = parse_message(&bytes);
    }

    #[test]
    fn damaged_real_records_never_panic(
        which in 0usize..5,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12),
        cut in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut v = samples()[which].clone();
        for (at, x) in flips {
            let i = at % v.len();
            v[i] ^= x;
        }
        v.truncate(cut % (v.len() + 1));
        v.extend_from_slice(&tail);
        read_everything(v);
    }

    #[test]
    fn damaged_update_bodies_never_panic(which in 0usize..3, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        // The UPDATE bodies of the first records of a BGP4MP file.
        let raw = &samples()[0];
        let start = [12 + 44 + 19, 200, 400][which].min(raw.len());
        let mut body = raw[start..].to_vec();
        body.truncate(300);
        for (at, x) in flips {
            if !body.is_empty() {
                let i = at % body.len();
                body[i] ^= x;
            }
        }
        if let Ok(m) = parse_update(&body, UpdateOptions { asn4: true, add_path: false }) {
            for e in &m.errors {
                prop_assert!(e.pos <= body.len());
            }
        }
    }

    #[test]
    fn bgpdump_text_never_panics(lines in proptest::collection::vec(
        prop_oneof![
            "[A-Z0-9_|:./ {}()\\[\\],-]{0,80}",
            Just("BGP4MP|1171158060|A|195.66.224.39|3561|196.44.98.0/23|3561 3491 {29614,24890}|IGP|195.66.224.39|0|0||NAG||".to_string()),
            Just("TABLE_DUMP2_AP|1452168107|B|10.0.15.1|65015|10.0.10.0/24|36|65015 (65014 65013)|IGP|10.0.15.1|100|0|1:2|AG|1 2.3.4.5|".to_string()),
        ], 0..20),
        cut in any::<usize>())
    {
        let mut text = lines.join("\n");
        if !text.is_empty() {
            let mut c = cut % text.len();
            while !text.is_char_boundary(c) {
                c -= 1;
            }
            text.truncate(c);
        }
        let n = text.lines().count() as u64;
        let mut r = TextReader::new(Cursor::new(text.into_bytes()));
        for e in r.by_ref() {
            if let Err(e) = e {
                prop_assert!(e.line >= 1 && e.line <= n.max(1));
            }
        }
    }
}
