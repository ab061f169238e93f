//! Shared helpers of the MRT tests: where the test data is, and reading
//! files through the library.
#![allow(dead_code)]

use bugyo_formats::mrt::bgpdump::BgpdumpFormatter;
use bugyo_formats::mrt::{MrtEntry, MrtReader, ReadStats};
pub use bugyo_testdata::{data, data_dir};
use std::io::Read;

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
