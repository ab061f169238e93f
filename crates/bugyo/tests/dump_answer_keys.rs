//! `bugyo dump` (the real binary) prints exactly bgpdump's answer keys, and
//! behaves on damaged and missing files.

use bugyo_testdata::data_dir;
use std::io::Read;
use std::process::Command;

fn gunzip(p: &std::path::Path) -> Vec<u8> {
    let mut v = Vec::new();
    bugyo_formats::input::open(p)
        .expect("open answer key")
        .read_to_end(&mut v)
        .expect("read answer key");
    v
}

fn dump(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .arg("dump")
        .args(args)
        .output()
        .expect("run bugyo")
}

#[test]
fn dump_matches_every_bgpdump_answer_key() {
    let dir = data_dir().join("bgpdump");
    let mut n = 0;
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let Some(rest) = name.strip_prefix("test_data_") else {
            continue;
        };
        let key = dir.join(format!("test_expect_{rest}.bgp.gz"));
        let out = dump(&[dir.join(&name).as_os_str()]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = gunzip(&key);
        if out.stdout != want {
            let got = String::from_utf8_lossy(&out.stdout);
            let want = String::from_utf8_lossy(&want);
            let d = got.lines().zip(want.lines()).find(|(a, b)| a != b);
            panic!(
                "{name}: output differs from {}: {d:?} ({} vs {} lines)",
                key.display(),
                got.lines().count(),
                want.lines().count()
            );
        }
        n += 1;
    }
    assert_eq!(n, 12, "expected 12 test_data files");
}

#[test]
fn damaged_file_summary_and_exit_code() {
    let f = data_dir().join("bgpkit/tests_fixtures_ripe_rrc00_2000.03_updates.20000325.0345.gz");
    let out = dump(&[f.as_os_str()]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("2 skipped") && lines[0].contains("offset 188:"),
        "{err}"
    );
    assert!(lines[1].contains("スキップ 2 件"), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5685);
}

#[test]
fn missing_file_fails_but_others_are_dumped() {
    let good = data_dir().join("bgpdump/test_data_updates.nlri_mask_trailing_bits.gz");
    let out = dump(&[
        std::ffi::OsStr::new("/nonexistent/file.mrt"),
        good.as_os_str(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("|11.8.0.0/13|"));
}

#[test]
fn json_lines() {
    let f = data_dir().join("bgpdump/test_data_updates.et-header.2015.gz");
    let out = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(["dump", "--format", "json"])
        .arg(&f)
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 577_744);
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("line")).expect("json");
    assert_eq!(first["type"], "BGP4MP_ET");
    assert_eq!(first["entry"], "STATE");
    assert_eq!(first["timestamp"], "2015-10-23T02:01:18.509481Z");
    assert_eq!(first["peer_asn"], 3856);
    let a: serde_json::Value = serde_json::from_str(
        text.lines()
            .find(|l| l.contains("\"entry\":\"A\""))
            .expect("A line"),
    )
    .expect("json");
    for k in [
        "prefix",
        "as_path",
        "origin",
        "next_hop",
        "communities",
        "atomic_aggregate",
    ] {
        assert!(a.get(k).is_some(), "missing {k}: {a}");
    }
}
