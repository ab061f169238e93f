//! For tests only: where the shared test data is (`$BUGYO_TESTDATA`, else
//! `../shared/data` beside the repository), and scratch directories.
//!
//! Data-driven tests must fail, not pass, when their data is missing, so
//! these functions panic with a message that says what to set.

pub mod bird;
pub mod chromium;
pub mod exabgp;
pub mod frr;
pub mod gobgp;
pub mod postgres;
pub mod smtp;
pub mod tls;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Polls `probe` every 100 ms until it gives a value, for at most `limit`;
/// then panics with the message `fail` makes (what was awaited, logs). The
/// one bounded wait of the tests' real peers and servers.
pub fn wait_until<T>(
    limit: Duration,
    mut probe: impl FnMut() -> Option<T>,
    fail: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("{}", fail());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shared test data directory. Panics if it is missing.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("BUGYO_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    assert!(
        dir.join("MANIFEST.md").is_file(),
        "test data not found at {} (set BUGYO_TESTDATA to the shared data directory)",
        dir.display()
    );
    dir
}

/// A file in the shared test data (`rel` relative to it). Panics if missing.
pub fn data(rel: &str) -> PathBuf {
    let p = data_dir().join(rel);
    assert!(p.is_file(), "test data file missing: {}", p.display());
    p
}

/// A fresh, empty scratch directory for one test (under the system's
/// temporary directory, unique per process).
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bugyo-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("cannot create scratch directory {}: {e}", d.display());
    }
    d
}

/// Whether this process runs as root (effective uid 0, from the `Uid:`
/// line of `/proc/self/status`, else from `id -u`): daemons that refuse
/// root are then started as their own system user.
pub(crate) fn is_root() -> bool {
    let from_proc = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Uid:"))?.to_owned();
            line.split_whitespace().nth(2).map(|u| u == "0")
        });
    from_proc.unwrap_or_else(|| {
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false)
    })
}

/// Sends signal `sig` (a name: INT, TERM, KILL) with `kill` to `targets`
/// (pids, or `-PGID` for a process group); errors are ignored (the
/// process may be gone already).
pub(crate) fn signal(sig: &str, targets: &[String]) {
    let _ = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .args(targets)
        .stderr(std::process::Stdio::null())
        .status();
}
