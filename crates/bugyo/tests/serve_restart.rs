//! `bugyo serve` stopped and started again while a real router, Debian's
//! gobgpd, streams 120,000 routes of the real RIS rrc06 table into it, configured
//! through a `--config` file:
//!
//! - SIGTERM mid-stream: the server exits cleanly and its archive holds
//!   exactly the messages it took in (its own count), all readable;
//! - a restart on the same data directory: the router reconnects, the table
//!   arrives again, and detection resumes (a leak added then is reported);
//! - SIGKILL (a crash), then another start: the archive file the crash left
//!   unfinished is repaired, so every run's records stay readable;
//! - a relationships file changed while running is reloaded and judges the
//!   routes that follow;
//! - every incident change of the three runs is in the store, one version
//!   per line of the events file;
//! - the leak open at the crash goes on after it as the same incident.

mod common;

use bugyo_formats::mrt::{MrtEntry, MrtReader};
use bugyo_testdata::gobgp::{binary, free_port, gobgpd, WAIT};
use bugyo_testdata::wait_until;
use common::serve::{add_leak, metric, wait_leak, Serve, AS_REL};
use common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn rib_routes(m: &str) -> f64 {
    metric(m, "bugyo_rib_routes").unwrap_or(0.0)
}

/// The numbers in the log line `stopped: F feed events, R routes, A archived, ...`.
fn stop_counts(log: &str) -> (u64, u64, u64) {
    let line = log
        .lines()
        .find(|l| l.starts_with("stopped: "))
        .unwrap_or_else(|| panic!("no stop line in log:\n{log}"));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

/// Every entry of every archive file; panics on any damaged record.
fn read_archive(serve: &Serve) -> Vec<MrtEntry> {
    let mut all = Vec::new();
    for f in serve.archive() {
        let mut r = MrtReader::open(Path::new(&f)).unwrap();
        while let Some(e) = r.next_entry() {
            all.push(e.unwrap_or_else(|e| panic!("{f}: damaged record: {e}")));
        }
        assert_eq!(r.stats().skipped, 0, "{f}: {:?}", r.stats());
    }
    all
}

fn announcements(entries: &[MrtEntry]) -> usize {
    entries
        .iter()
        .map(|e| match e {
            MrtEntry::Update(u) => u.announced.len(),
            _ => 0,
        })
        .sum()
}

/// The configuration file of these tests: bugyo in AS65000 on `port`,
/// gobgpd (AS2497) its one peer, no learning window, reloads every second.
fn write_config(dir: &Path, port: u16) -> String {
    let path = dir.join("serve.toml");
    std::fs::write(
        &path,
        format!(
            "local_asn = 65000\n\
             [bgp]\nlisten = \"127.0.0.1:{port}\"\nhold_time = 9\n\
             [[bgp.peer]]\nasn = 2497\naddress = \"127.0.0.1\"\ndescription = \"gobgpd with the rrc06 table\"\n\
             [reference]\nreload_secs = 1\n\
             [detection]\nlearning_secs = 0\n"
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn sigterm_mid_stream_restart_and_crash_lose_nothing() {
    let dir = scratch("serve-restart");
    // 120,000 routes of AS2497's view of the rrc06 table (IPv4), as a
    // TABLE_DUMP_V2 file.
    let table: Vec<_> = rrc06_rib()
        .iter()
        .filter(|r| r.peer.asn.0 == 2497)
        .take(120_000)
        .cloned()
        .collect();
    assert_eq!(table.len(), 120_000);
    let rib = dir.join("rrc06-as2497.mrt");
    write_rib(&rib, &table);
    // Relationships start without AS15169's provider: the first leak below
    // is not one until the file changes.
    let as_rel = dir.join("as-rel.txt");
    std::fs::write(&as_rel, AS_REL.replace("701|15169|-1\n", "")).unwrap();

    let port = free_port();
    let config = write_config(&dir, port);
    let args = ["--config".to_string(), config];
    let mut serve = Serve::start_with(&dir, &as_rel, &args);
    let g = gobgpd(&dir, 2497, 65000, port, None);
    serve.wait_metrics(WAIT * 3, "the session", |m| {
        metric(m, "bugyo_bgp_session_up{peer=\"AS2497@127.0.0.1\"}") == Some(1.0)
    });

    // 1. The table streams in; SIGTERM once some 20,000 routes are in.
    let mut inject = Command::new(binary("gobgp"))
        .args(["-p", &g.api_port.to_string(), "mrt", "inject", "global"])
        .arg(&rib)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let m = serve.wait_metrics(WAIT * 3, "20,000 routes", |m| rib_routes(m) >= 20_000.0);
    serve.stop();
    let (events, routes, archived) = stop_counts(&serve.log());
    eprintln!(
        "SIGTERM with {} routes in the RIB: {events} feed events, {routes} routes, {archived} archived",
        rib_routes(&m)
    );
    assert!(
        (routes as usize) < table.len(),
        "the stop came mid-stream ({routes} of {} routes)",
        table.len()
    );
    assert_eq!(events, archived, "every message taken in is archived");
    let first = read_archive(&serve);
    assert_eq!(
        first.len() as u64,
        archived,
        "the archive holds exactly them"
    );
    assert_eq!(announcements(&first) as u64, routes);

    // 2. Restart: gobgpd reconnects and sends its table again; detection
    // resumes. The relationships file changes meanwhile and is reloaded.
    let mut serve = Serve::start_with(&dir, &as_rel, &args);
    serve.wait_metrics(WAIT * 3, "the session again", |m| {
        metric(m, "bugyo_bgp_session_up{peer=\"AS2497@127.0.0.1\"}") == Some(1.0)
    });
    let status = inject.wait().unwrap();
    assert!(status.success(), "gobgp mrt inject failed");
    serve.wait_metrics(WAIT * 3, "the whole table again", |m| {
        rib_routes(m) >= (table.len() - 1_000) as f64
    });
    add_leak(&g, "60.1.1.0/24");
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(&as_rel, AS_REL).unwrap();
    wait_until(
        WAIT,
        || {
            serve
                .log()
                .contains("reference data reloaded")
                .then_some(())
        },
        || format!("no reload\n{}", serve.log()),
    );
    add_leak(&g, "60.1.2.0/24");
    let leak = wait_leak(&serve, "60.1.2.0/24");
    assert_eq!(leak["culprit_asn"], 15169);
    assert_eq!(leak["leaked_to_asn"], 701);
    assert_eq!(
        leak["prefix_count"], 1,
        "the route judged before the reload is not in it: {leak}"
    );
    // Let the archive reach a sync point (it flushes twice a second).
    std::thread::sleep(Duration::from_secs(1));

    // 3. A crash, then a new start: the unfinished file is repaired.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    let mut serve = Serve::start_with(&dir, &as_rel, &args);
    serve.wait_metrics(WAIT * 3, "the table after the crash", |m| {
        rib_routes(m) >= (table.len() - 1_000) as f64
    });
    serve.stop();
    let (_, third_routes, third_archived) = stop_counts(&serve.log());
    let all = read_archive(&serve);
    assert!(
        all.len() as u64 >= archived + third_archived,
        "runs 1 and 3 whole: {} < {archived} + {third_archived}",
        all.len()
    );
    assert!(announcements(&all) as u64 >= routes + third_routes);
    let dump = serve.archive_dump();
    for prefix in ["60.1.1.0/24", "60.1.2.0/24"] {
        assert!(
            common::serve::announced(&dump, prefix, "2497 701 15169 4713"),
            "run 2's flushed records survive the crash: {prefix}"
        );
    }

    // Every incident change of the three runs is in the store as a
    // version, the crash notwithstanding: one per line of the events file.
    let lines = std::fs::read_to_string(serve.events_path()).unwrap_or_default();
    let lines = json_lines(&lines);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (versions, leaks) = rt.block_on(async {
        let store = bugyo_store::Store::open_data_dir(&serve.data)
            .await
            .expect("open the store");
        let mut incidents = Vec::new();
        loop {
            let page = store
                .incidents(&bugyo_store::IncidentFilter {
                    after_id: incidents.last().map(|i: &bugyo_store::StoredIncident| i.id),
                    ..Default::default()
                })
                .await
                .expect("list");
            if page.is_empty() {
                break;
            }
            incidents.extend(page);
        }
        let mut versions = 0;
        for i in &incidents {
            versions += store.incident_history(i.id).await.expect("history").len();
        }
        store.close().await;
        let leaks: Vec<_> = incidents
            .into_iter()
            .filter(|i| i.kind == "route-leak" && i.culprit_asn == Some(15169))
            .collect();
        (versions, leaks)
    });
    assert_eq!(
        versions,
        lines.len(),
        "a stored version per incident change"
    );
    // The leak open at the crash goes on in run 3 as the same incident: the
    // store has one, still open, and the route judged before the reload
    // joins it now that the relationships say it is a leak.
    assert_eq!(leaks.len(), 1, "one leak across the restarts: {leaks:#?}");
    assert_eq!(leaks[0].status, "open");
    assert_eq!(leaks[0].prefix_count, 2, "{:#?}", leaks[0]);
    drop(g);
    let _ = std::fs::remove_dir_all(dir);
}
