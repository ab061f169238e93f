//! Helpers shared by the integration tests: where the shared test data is,
//! scratch directories, running the real `bugyo` binary, building MRT
//! files from the real RIS rrc06 (Tokyo) table, and (`serve`) running
//! `bugyo serve` end to end.

#![allow(dead_code)]

pub mod leak2017;
pub mod mail;
pub mod portal;
pub mod serve;
pub mod small_leak;

use bugyo_formats::mrt::bgpdump_text::TextReader;
use bugyo_formats::mrt::{MrtEntry, MrtWriter, RibEntry, UpdateEntry};
#[allow(unused_imports)]
pub use bugyo_testdata::{data_dir, scratch};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Runs the bugyo binary; returns (stdout, stderr), asserting success.
pub fn bugyo(args: &[&str]) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(args)
        .output()
        .expect("run bugyo");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "bugyo {args:?} failed: {stderr}");
    (stdout, stderr)
}

/// Runs bugyo, which may fail; returns (success, stdout, stderr).
pub fn try_bugyo(args: &[&str]) -> (bool, String, String) {
    try_bugyo_env(&[], args)
}

/// [`try_bugyo`] with the environment variables `env` set for it.
pub fn try_bugyo_env(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run bugyo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`try_bugyo`] with `input` on its standard input.
pub fn try_bugyo_input(input: &str, args: &[&str]) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run bugyo");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for bugyo");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses JSON lines.
pub fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// The RIS rrc06 (Tokyo) RIB of 2010-07-01 07:59 from the bgpdump answer
/// key (641,957 routes, 5 peers), parsed once per test binary.
pub fn rrc06_rib() -> &'static Vec<RibEntry> {
    static RIB: OnceLock<Vec<RibEntry>> = OnceLock::new();
    RIB.get_or_init(|| {
        let path = data_dir().join("bgpdump/test_expect_bview.20100701.0759.gz.bgp.gz");
        let reader = bugyo_formats::input::open(&path).expect("open rrc06 text");
        let mut rib = Vec::new();
        let mut text = TextReader::new(reader);
        for e in text.by_ref() {
            if let Ok(MrtEntry::Rib(r)) = e {
                rib.push(r);
            }
        }
        assert_eq!(text.stats().skipped, 0, "rrc06 text must parse cleanly");
        assert_eq!(rib.len(), 641_957);
        rib
    })
}

/// Writes a TABLE_DUMP_V2 RIB file.
pub fn write_rib(path: &Path, routes: &[RibEntry]) {
    let mut w = MrtWriter::new(BufWriter::new(File::create(path).expect("create rib")));
    let time = routes.first().map(|r| r.time).unwrap_or_default();
    w.write_rib_dump(time, routes).expect("write rib");
    w.into_inner().expect("flush rib");
}

/// Writes BGP4MP_ET updates.
pub fn write_updates(path: &Path, updates: &[UpdateEntry]) {
    let mut w = MrtWriter::new(BufWriter::new(File::create(path).expect("create updates")));
    for u in updates {
        w.write_update(u).expect("write update");
    }
    w.into_inner().expect("flush updates");
}

/// Opens the store at `url`, runs `read` on it, closes it; gives what
/// `read` gave.
pub fn read_store<T>(url: &str, read: impl AsyncFnOnce(&bugyo_store::Store) -> T) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = bugyo_store::Store::open(url).await.expect("open the store");
        let out = read(&store).await;
        store.close().await;
        out
    })
}

/// The store's audit log at `url`, oldest first.
#[allow(dead_code)]
pub fn audit_log(url: &str) -> Vec<bugyo_store::AuditEntry> {
    let log = read_store(url, async |s| {
        s.audit_log(100_000).await.expect("audit log")
    });
    log.into_iter().rev().collect()
}

/// Runs `run(dir, store arguments, store URL)` on an SQLite store in a
/// scratch directory named `name-sqlite`, removed afterwards.
pub fn on_sqlite(name: &str, run: impl FnOnce(&Path, &[&str], &str)) {
    let dir = scratch(&format!("{name}-sqlite"));
    let data = dir.join("data");
    run(
        &dir,
        &["--data-dir", data.to_str().unwrap()],
        &bugyo_store::sqlite_url(&data),
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// [`on_sqlite`] on a throwaway PostgreSQL server.
pub fn on_postgres(name: &str, run: impl FnOnce(&Path, &[&str], &str)) {
    let dir = scratch(&format!("{name}-postgres"));
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    run(&dir, &["--database", &url], &url);
    let _ = std::fs::remove_dir_all(dir);
}
