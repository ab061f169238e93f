//! `bugyo demo` on a fresh machine: the synthetic scenario's leak and hijack
//! come out as exactly two incidents above `low`, and `bugyo replay` over the
//! files the demo wrote gives the same incidents (a replay is deterministic).

mod common;

use common::*;

#[test]
fn demo_finds_the_leak_and_the_hijack_and_replay_agrees() {
    let dir = scratch("demo");
    let d = dir.to_str().unwrap();
    let (out, err) = bugyo(&["demo", "--dir", d, "--format", "json", "--stubs", "600"]);
    assert!(
        err.contains("SYNTHETIC"),
        "the demo must say its data is synthetic: {err}"
    );
    let inc = json_lines(&out);
    let kinds: Vec<(&str, u64)> = inc
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap(),
                i["culprit_asn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0], ("route-leak", 15169));
    assert_eq!(inc[0]["leaked_to_asn"], 701);
    assert_eq!(inc[0]["severity"], "critical");
    assert_eq!(inc[0]["victims"][0]["asn"], 4713);
    assert_eq!(inc[0]["first_seen"], "2017-08-25T03:22:00Z");
    assert_eq!(inc[0]["status"], "resolved");
    assert_eq!(kinds[1].0, "subprefix-hijack");
    assert_eq!(inc[1]["victims"][0]["asn"], 2516);
    assert!(inc[1]["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "kddi"));

    let (out2, _) = bugyo(&[
        "replay",
        "--rib",
        &format!("{d}/bview.20170825.0300.gz"),
        "--as-rel",
        &format!("{d}/as-rel.txt"),
        "--as2org",
        &format!("{d}/as2org.txt"),
        "--rpki",
        &format!("{d}/rpki.json"),
        "--watch",
        &format!("{d}/watch.toml"),
        "--format",
        "json",
        &format!("{d}/updates.20170825.0300.gz"),
    ]);
    assert_eq!(
        json_lines(&out2),
        inc,
        "replay of the demo's files must give the demo's incidents"
    );
    // And the table view names them in both languages.
    let (table, _) = bugyo(&["demo", "--dir", d, "--stubs", "600"]);
    assert!(table.contains("route-leak / 経路リーク"), "{table}");
    assert!(table.contains("What to try next / 次に試すこと"), "{table}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Output piped into a reader that has gone (`bugyo demo | head -1` once
/// head has exited) ends quietly: no panic, a successful exit.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    use std::process::{Command, Stdio};
    let dir = scratch("demo-pipe");
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(["demo", "--dir", dir.to_str().unwrap(), "--stubs", "600"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .output()
        .expect("run bugyo demo");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {err}", out.status);
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
