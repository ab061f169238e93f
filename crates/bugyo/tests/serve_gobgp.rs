//! `bugyo serve` end to end with a real router, Debian's gobgpd, on
//! loopback. Over BGP: routes added with the `gobgp` CLI — an OCN prefix,
//! then a leaked more-specific through AS15169 and its provider AS701 — come
//! out as a route-leak incident in the events file, `/metrics` shows the
//! session, and after SIGTERM the archive holds every update and `bugyo
//! replay` over it finds the same incident. Over BMP: gobgpd's Loc-RIB
//! reaches detection the same way.

mod common;

use bugyo_testdata::gobgp::{free_port, gobgpd, gobgpd_with, Gobgpd};
use common::serve::{announced, http_get, metric, Serve};
use common::*;
use std::time::Duration;

fn add_routes(g: &Gobgpd) {
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "60.1.0.0/16",
        "aspath",
        "2914,4713",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "60.1.1.0/24",
        "aspath",
        "701,15169,4713",
    ]);
}

#[test]
fn live_leak_is_reported_archived_and_replayable() {
    let dir = scratch("serve");
    let port = free_port();
    let mut serve = Serve::start(
        &dir,
        &[
            "--local-asn".into(),
            "65000".into(),
            "--peer".into(),
            "2497@127.0.0.1".into(),
            "--bgp-listen".into(),
            format!("127.0.0.1:{port}"),
        ],
    );
    let g = gobgpd(&dir, 2497, 65000, port, None);
    add_routes(&g);
    let opened = serve.wait_opened(&|| g.log());
    assert_eq!(opened["kind"], "route-leak");
    assert_eq!(opened["culprit_asn"], 15169);
    assert_eq!(opened["leaked_to_asn"], 701);
    assert_eq!(opened["prefixes"][0], "60.1.1.0/24");
    assert_eq!(opened["samples"][0]["as_path"], "2497 701 15169 4713");

    // Feed health at /metrics.
    let metrics = http_get(serve.http_port, "/metrics");
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("bugyo_bgp_session_up{peer=\"AS2497@127.0.0.1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bugyo_bgp_prefixes_announced_total{peer=\"AS2497@127.0.0.1\"} 2"),
        "{metrics}"
    );
    assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");
    assert!(http_get(serve.http_port, "/nothing").starts_with("HTTP/1.1 404"));
    // Detection and memory: both routes in the RIB, one judged incident.
    let body = serve.metrics();
    assert_eq!(metric(&body, "bugyo_rib_routes"), Some(2.0), "{body}");
    assert_eq!(metric(&body, "bugyo_incidents_open"), Some(1.0), "{body}");
    assert_eq!(
        metric(&body, "bugyo_detection_delay_seconds_count"),
        Some(2.0),
        "{body}"
    );
    // (The memory estimate is refreshed twice a second.)
    std::thread::sleep(Duration::from_millis(600));
    let body = serve.metrics();
    assert!(
        metric(&body, "bugyo_rib_memory_bytes{part=\"tables\"}").is_some_and(|v| v > 0.0),
        "{body}"
    );
    assert_eq!(
        metric(&body, "bugyo_rib_attribute_sets"),
        Some(2.0),
        "{body}"
    );
    assert!(metric(&body, "process_resident_memory_bytes").is_some_and(|v| v > 1e6));

    serve.stop();
    drop(g);
    // The archive holds the session and both updates (gobgpd sends with
    // ADD-PATH here, so the lines carry a path id)...
    let dump = serve.archive_dump();
    assert!(
        dump.contains("|STATE|127.0.0.1|2497|1|6"),
        "session up archived: {dump}"
    );
    assert!(announced(&dump, "60.1.0.0/16", "2497 2914 4713"), "{dump}");
    assert!(
        announced(&dump, "60.1.1.0/24", "2497 701 15169 4713"),
        "{dump}"
    );
    // ...and a replay of it finds the same incident.
    // (The session's end at shutdown is archived too: a feed-down incident.)
    let replayed: Vec<_> = serve
        .replay_archive(0)
        .into_iter()
        .filter(|i| i["kind"] != "feed-down")
        .collect();
    assert_eq!(replayed.len(), 1, "{replayed:#?}");
    for field in [
        "kind",
        "culprit_asn",
        "leaked_to_asn",
        "prefixes",
        "first_seen",
        "victims",
    ] {
        assert_eq!(replayed[0][field], opened[field], "{field}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// gobgpd as a BMP client of bugyo: its Loc-RIB routes (RFC 9069) reach
/// detection; a leak path among them is reported, and the routes are archived.
#[test]
fn bmp_from_gobgpd_feeds_detection() {
    let dir = scratch("serve-bmp");
    let (bgp_port, bmp_port) = (free_port(), free_port());
    let mut serve = Serve::start(
        &dir,
        &[
            "--bgp-listen".into(),
            format!("127.0.0.1:{bgp_port}"),
            "--bmp-listen".into(),
            format!("127.0.0.1:{bmp_port}"),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    let bmp = format!(
        "\n[[bmp-servers]]\n  [bmp-servers.config]\n    address = \"127.0.0.1\"\n    port = {bmp_port}\n    route-monitoring-policy = \"local-rib\"\n"
    );
    // The BGP neighbour points at a port nobody accepts from; only BMP matters.
    let g = gobgpd_with(&dir, 2497, 65000, free_port(), None, &bmp);
    add_routes(&g);
    let opened = serve.wait_opened(&|| g.log());
    assert_eq!(opened["kind"], "route-leak");
    assert_eq!(opened["culprit_asn"], 15169);
    assert_eq!(opened["prefixes"][0], "60.1.1.0/24");
    serve.stop();
    drop(g);
    let dump = serve.archive_dump();
    assert!(announced(&dump, "60.1.0.0/16", "2914 4713"), "{dump}");
    assert!(announced(&dump, "60.1.1.0/24", "701 15169 4713"), "{dump}");
    let _ = std::fs::remove_dir_all(dir);
}
