//! Damaged and unusual MRT files: the reader keeps the good records,
//! reports the bad ones with their offsets, and never panics.

mod mrt_util;
use bugyo_formats::mrt::MrtEntry;
use mrt_util::*;

#[test]
fn table_dump_with_lengths_four_bytes_short() {
    // Every record of this early RIS dump declares 4 bytes too few, and
    // packs many routes; bgpdump stops after the first route.
    let (entries, stats) =
        entries("bgpkit/tests_fixtures_ripe_rrc00_2000.01_bview.20000111.0032.gz");
    assert_eq!(stats.records, 2490);
    assert_eq!(stats.length_fixes, 2490);
    assert_eq!(stats.skipped, 0, "{:?}", stats.errors);
    let ribs = entries
        .iter()
        .filter(|e| matches!(e, MrtEntry::Rib(_)))
        .count();
    assert!(ribs > 400_000, "only {ribs} routes");
    let first = dump_text(&entries[..1]);
    assert_eq!(first, "TABLE_DUMP|947550744|B|204.152.166.29|3549|3.0.0.0/8|3549 701 80|IGP|204.152.166.29|0|0||NAG||\n");
}

#[test]
fn damaged_record_boundaries_are_skipped_and_reported() {
    let (entries, stats) =
        entries("bgpkit/tests_fixtures_ripe_rrc00_2000.03_updates.20000325.0345.gz");
    assert_eq!(stats.skipped, 2, "{:?}", stats.errors);
    assert_eq!(stats.errors[0].offset, 188);
    assert!(
        stats.errors[0].to_string().starts_with("offset 188: "),
        "{}",
        stats.errors[0]
    );
    assert!(
        stats.errors[1].offset > 4000 && stats.errors[1].offset < 4600,
        "{:?}",
        stats.errors
    );
    assert_eq!(stats.skipped_bytes, 24);
    // Records before and after both damaged places are kept.
    assert_eq!(entries.len(), 2580);
    let last = entries.last().expect("entries").time().secs;
    assert!(last > 953_956_000, "records after the damage are read");
    let lines = dump_text(&entries).lines().count();
    assert_eq!(lines, 5685);
}

/// Files that bgpdump reads without trouble: we print exactly as many lines.
#[test]
fn same_line_counts_as_bgpdump() {
    for (f, n) in [
        (
            "bgpkit/tests_fixtures_ripe_rrc00_1999.09_updates.19990903.1041.gz",
            65315,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc00_1999.12_updates.19991214.1621.gz",
            55516,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc00_2000.01_updates.20000102.2014.gz",
            6359,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc01_2000.11_updates.20001104.0124.gz",
            883,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc03_2010.02_updates.20100227.1600.first-796-records.gz",
            1363,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc15_2010.02_updates.20100227.1600.gz",
            53806,
        ),
        (
            "bgpkit/tests_fixtures_ripe_rrc15_2010.02_updates.20100227.1610.gz",
            7485,
        ),
        ("bgpkit/examples_local_only_updates.bz2", 268),
        ("caida-bgpstream/test_ris.rrc06.updates.1427846400.gz", 1561),
        (
            "caida-bgpstream/test_routeviews.route-views.jinx.updates.1427846400.bz2",
            8611,
        ),
        ("mrtparse/samples_bird-mrtdump_bgp", 24),
        ("mrtparse/samples_bird-mrtdump_rib", 18),
        ("mrtparse/samples_bird6-mrtdump_bgp", 24),
        ("mrtparse/samples_bird6-mrtdump_rib", 10),
        ("mrtparse/samples_bird_bgp", 36),
        ("mrtparse/samples_openbgpd_bgp", 109),
        ("mrtparse/samples_openbgpd_rib_table", 31),
        ("mrtparse/samples_openbgpd_rib_table-mp", 0),
        ("mrtparse/samples_openbgpd_rib_table-v2", 31),
        ("mrtparse/samples_quagga_bgp", 38),
        ("mrtparse/samples_quagga_rib", 9),
    ] {
        let (entries, stats) = entries(f);
        assert_eq!(dump_text(&entries).lines().count(), n, "{f}: {stats}");
        assert_eq!(stats.skipped, 0, "{f}: {:?}", stats.errors);
    }
}

/// Every MRT sample in the shared data reads without panicking.
#[test]
fn every_sample_reads() {
    let dir = data_dir();
    let mut n = 0;
    for sub in ["mrtparse", "bgpkit", "caida-bgpstream"] {
        for e in std::fs::read_dir(dir.join(sub)).expect("dir") {
            let p = e.expect("entry").path();
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if name.contains("README")
                || name.ends_with(".md")
                || name.ends_with(".json")
                || name.ends_with(".csv")
                || name.ends_with(".cap")
            {
                continue;
            }
            let (entries, stats) = entries(&format!("{sub}/{name}"));
            assert!(stats.records > 0, "{name}: no records");
            let _ = dump_text(&entries);
            n += 1;
        }
    }
    assert!(n >= 24, "only {n} files");
}

#[test]
fn junk_and_truncation_do_not_panic() {
    use bugyo_formats::mrt::MrtReader;
    use std::io::Cursor;
    let raw = bugyo_formats::input::read_all(&data("bgpdump/test_data_updates.20020722.2238.gz"))
        .expect("read");
    // Junk in front, a cut in the middle, junk at the end.
    let mut v = vec![0xAB; 37];
    v.extend_from_slice(&raw[..raw.len() / 2]);
    v.extend_from_slice(&raw[raw.len() / 2 + 5..]);
    v.extend_from_slice(&[1, 2, 3]);
    let mut r = MrtReader::new(Cursor::new(v));
    let n = r.by_ref().filter(|e| e.is_ok()).count();
    let s = r.stats();
    assert!(n > 1000, "{n} entries kept");
    assert!(s.skipped >= 2 && s.skipped <= 5, "{:?}", s.errors);
    assert_eq!(s.errors[0].offset, 0);
}
