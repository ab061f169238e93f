//! Shared helpers of the MRT tests: where the test data is, and reading
//! files through the library.
#![allow(dead_code)]

use bugyo_formats::mrt::bgpdump::BgpdumpFormatter;
use bugyo_formats::mrt::{MrtEntry, MrtReader, ReadStats};
use std::io::Read;
use std::path::PathBuf;

/// The shared test data directory: `$BUGYO_TESTDATA`, else `../shared/data`
/// next to the workspace. Panics (failing the test) if it is missing.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("BUGYO_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    assert!(
        dir.join("bgpdump").is_dir(),
        "test data not found at {} (set BUGYO_TESTDATA to the shared data directory)",
        dir.display()
    );
    dir
}

/// A file in the shared data.
pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.is_file(), "test data file missing: {}", p.display());
    p
}

/// A whole (decompressed) file.
pub fn read_text(rel: &str) -> String {
    let mut s = String::new();
    bugyo_formats::input::open(&data(rel))
        .expect("open")
        .read_to_string(&mut s)
        .expect("read");
    s
}

/// Every entry of an MRT file, and the stats.
pub fn entries(rel: &str) -> (Vec<MrtEntry>, ReadStats) {
    let mut r = MrtReader::open(&data(rel)).expect("open");
    let v: Vec<MrtEntry> = r.by_ref().filter_map(Result::ok).collect();
    (v, r.stats().clone())
}

/// `bgpdump -m` text of entries.
pub fn dump_text(entries: &[MrtEntry]) -> String {
    let mut f = BgpdumpFormatter::new();
    let mut out = Vec::new();
    for e in entries {
        f.write_entry(e, &mut out);
    }
    String::from_utf8(out).expect("utf-8")
}

/// The `test_data_*` files of the bgpdump directory and their answer keys.
pub fn answer_key_pairs() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(data_dir().join("bgpdump")).expect("read_dir") {
        let name = e.expect("entry").file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("test_data_") {
            v.push((
                format!("bgpdump/{name}"),
                format!("bgpdump/test_expect_{rest}.bgp.gz"),
            ));
        }
    }
    v.sort();
    assert!(
        v.len() >= 12,
        "expected the 12 bgpdump test_data files, found {}",
        v.len()
    );
    v
}
