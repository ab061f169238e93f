//! Property tests: the BMP decoder and the pcap reader never panic on
//! random or damaged input, errors carry offsets, and good messages after a
//! bad one (with framing intact) are still decoded.

use bugyo_formats::{bmp, pcap};
use proptest::prelude::*;
use std::sync::OnceLock;

/// The messages of a real BMP stream (pmacct capture 204), one per entry.
fn real() -> &'static Vec<Vec<u8>> {
    static R: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    R.get_or_init(|| {
        let path = bugyo_testdata::data("pmacct/tests_204-BMP-CISCO-peer_down_traffic-00.pcap");
        let cap = pcap::read_capture_file(&path).expect("capture");
        let s = cap
            .streams_to_port(1790)
            .next()
            .expect("stream")
            .data
            .clone();
        let (msgs, _) = bmp::decode_all(&s);
        msgs.into_iter()
            .filter_map(Result::ok)
            .map(|m| s[m.offset as usize..m.offset as usize + m.len].to_vec())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..2000), cut in 1usize..64) {
        let mut d = bmp::BmpDecoder::new();
        for c in b.chunks(cut) {
            d.push(c);
            for r in d.by_ref() {
                if let Err(e) = r {
                    prop_assert!(e.offset >= e.msg_offset);
                }
            }
        }
        let _ = d.finish();
        let _ = pcap::read_capture(&b);
    }

    #[test]
    fn damaged_message_spares_its_neighbours(i in 0usize..400, pos in 0usize..4000, byte in any::<u8>(), trunc in any::<bool>()) {
        let msgs = real();
        let i = i % msgs.len();
        let mut bad = msgs[i].clone();
        let pos = 6 + pos % (bad.len() - 6).max(1);
        if trunc {
            bad.truncate(pos);
            let l = (bad.len() as u32).to_be_bytes();
            bad[1..5].copy_from_slice(&l);
        } else if pos < bad.len() {
            bad[pos] = byte;
        }
        let mut s = msgs[0].clone();
        s.extend_from_slice(&bad);
        let next = &msgs[(i + 1) % msgs.len()];
        s.extend_from_slice(next);
        let (out, st) = bmp::decode_all(&s);
        prop_assert_eq!(out.len(), 3);
        prop_assert!(out[0].is_ok() && out[2].is_ok());
        prop_assert_eq!(st.messages + st.errors, 3);
        if let Err(e) = &out[1] {
            prop_assert_eq!(e.msg_offset, msgs[0].len() as u64);
            prop_assert!(!e.fatal);
        }
    }

    #[test]
    fn corrupt_length_breaks_or_reframes(len in any::<u32>()) {
        let msgs = real();
        let mut bad = msgs[1].clone();
        bad[1..5].copy_from_slice(&len.to_be_bytes());
        let mut s = msgs[0].clone();
        s.extend_from_slice(&bad);
        s.extend_from_slice(&msgs[2]);
        let (out, st) = bmp::decode_all(&s);
        prop_assert!(out[0].is_ok());
        if !(6..=16 * 1024 * 1024).contains(&len) {
            prop_assert!(st.broken);
            prop_assert!(out.iter().any(|r| r.as_ref().is_err_and(|e| e.fatal)));
        }
    }
}
