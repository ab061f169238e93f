//! The library's `bgpdump -m` output equals bgpdump's own answer keys.

mod mrt_util;
use mrt_util::*;

#[test]
fn every_answer_key_matches() {
    for (data_file, key) in answer_key_pairs() {
        let (entries, stats) = entries(&data_file);
        let got = dump_text(&entries);
        let want = read_text(&key);
        if got != want {
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{data_file}: output differs from {key} at line {} ({} vs {} lines):\n got: {:?}\nwant: {:?}",
                line + 1,
                got.lines().count(),
                want.lines().count(),
                got.lines().nth(line),
                want.lines().nth(line)
            );
        }
        assert_eq!(stats.skipped, 0, "{data_file}: {:?}", stats.errors);
    }
}

#[test]
fn trailing_mask_bits_are_cleared() {
    let (entries, stats) = entries("bgpdump/test_data_updates.nlri_mask_trailing_bits.gz");
    let text = dump_text(&entries);
    assert!(text.contains("|11.8.0.0/13|"), "{text}");
    assert_eq!(
        stats.warnings, 1,
        "the truncated second prefix is a warning"
    );
    assert!(
        stats.warning_list[0].reason.contains("NLRI"),
        "{:?}",
        stats.warning_list
    );
}
