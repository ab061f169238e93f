//! The store's database dies under `bugyo serve` (PostgreSQL, stopped
//! mid-run): detection goes on and the events file keeps every change, the
//! store's failures show in `/metrics`, and a shutdown with changes still
//! unstored exits with an error that says so: an error, not silent loss.

mod common;

use bugyo_testdata::gobgp::{free_port, gobgpd, WAIT};
use bugyo_testdata::postgres::Postgres;
use bugyo_testdata::wait_until;
use common::serve::{add_leak, metric, wait_leak, Serve};
use common::*;
use std::process::Command;

#[test]
fn a_dead_database_is_an_error_not_silent_loss() {
    let dir = scratch("serve-store-down");
    let pg = Postgres::start();
    let port = free_port();
    let extra: Vec<String> = [
        "--database",
        &pg.url(),
        "--bgp-listen",
        &format!("127.0.0.1:{port}"),
        "--peer",
        "2497@127.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut serve = Serve::start(&dir, &extra);
    let g = gobgpd(&dir, 2497, 65535, port, None);
    let wait_metric = |serve: &mut Serve, what: &str, name: &str, at_least: f64| {
        serve.wait_metrics(WAIT, what, |m| metric(m, name).unwrap_or(0.0) >= at_least);
    };
    wait_metric(
        &mut serve,
        "the session",
        "bugyo_bgp_session_up{peer=\"AS2497@127.0.0.1\"}",
        1.0,
    );
    add_leak(&g, "60.1.1.0/24");
    wait_leak(&serve, "60.1.1.0/24");
    wait_metric(
        &mut serve,
        "the leak stored",
        "bugyo_store_versions_total",
        1.0,
    );

    // The database goes away; the leak grows.
    drop(pg);
    let lines_before = std::fs::read_to_string(serve.events_path())
        .unwrap()
        .lines()
        .count();
    for p in ["60.1.2.0/24", "60.1.3.0/24", "60.1.4.0/24"] {
        add_leak(&g, p);
    }
    wait_metric(&mut serve, "store errors", "bugyo_store_errors_total", 1.0);
    wait_metric(&mut serve, "changes waiting", "bugyo_store_pending", 1.0);
    let lines_after = std::fs::read_to_string(serve.events_path())
        .unwrap()
        .lines()
        .count();
    assert!(
        lines_after > lines_before,
        "detection goes on: the events file has the growth"
    );

    // SIGTERM: the changes still unstored make the exit an error.
    let status = Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let log_path = serve.dir.join("bugyo.log");
    let exit = wait_until(
        WAIT * 2,
        || serve.child.try_wait().unwrap(),
        || {
            format!(
                "bugyo serve did not stop\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            )
        },
    );
    let log = serve.log();
    assert!(
        !exit.success(),
        "an exit with changes unstored is an error\n{log}"
    );
    assert!(log.contains("could not be stored"), "{log}");
    drop(g);
    let _ = std::fs::remove_dir_all(dir);
}
