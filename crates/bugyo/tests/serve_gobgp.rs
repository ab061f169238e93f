//! `bugyo serve` end to end with a real router: gobgpd (Debian) connects to
//! bugyo's BGP listener on loopback; routes added with the `gobgp` CLI —
//! an OCN prefix, then a leaked more-specific through AS15169 and its
//! provider AS701 — must come out as a route-leak incident in the events
//! file; after SIGTERM the archive holds every update, and `bugyo replay`
//! over the archive finds the same incident.

mod common;

use bugyo_testdata::gobgp::{binary, free_port, gobgpd, gobgpd_with, WAIT};
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn live_leak_is_reported_archived_and_replayable() {
    let dir = scratch("serve");
    let asrel = dir.join("as-rel.txt");
    std::fs::write(
        &asrel,
        "# test relationships\n701|15169|-1\n2914|4713|-1\n2497|2914|0\n2497|701|0\n701|2914|0\n",
    )
    .unwrap();
    let (port, http_port) = (free_port(), free_port());
    let data = dir.join("data");
    let mut server = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args([
            "serve",
            "--local-asn",
            "65000",
            "--peer",
            "2497@127.0.0.1",
            "--learning-secs",
            "0",
        ])
        .arg("--http")
        .arg(format!("127.0.0.1:{http_port}"))
        .arg("--bgp-listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--as-rel")
        .arg(&asrel)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.join("bugyo.log")).unwrap())
        .spawn()
        .expect("start bugyo serve");
    let g = gobgpd(&dir, 2497, 65000, port, None);
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
    std::thread::sleep(Duration::from_millis(500));
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

    let events = data.join("events.jsonl");
    let deadline = Instant::now() + WAIT;
    let opened = loop {
        let lines = json_lines(&std::fs::read_to_string(&events).unwrap_or_default());
        if let Some(l) = lines.into_iter().find(|l| l["event"] == "opened") {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no incident within {WAIT:?}\nbugyo log:\n{}\ngobgpd log:\n{}",
            std::fs::read_to_string(dir.join("bugyo.log")).unwrap_or_default(),
            g.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(opened["kind"], "route-leak");
    assert_eq!(opened["culprit_asn"], 15169);
    assert_eq!(opened["leaked_to_asn"], 701);
    assert_eq!(opened["prefixes"][0], "60.1.1.0/24");
    assert_eq!(opened["samples"][0]["as_path"], "2497 701 15169 4713");

    // Feed health at /metrics.
    let metrics = http_get(http_port, "/metrics");
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
    assert!(http_get(http_port, "/nothing").starts_with("HTTP/1.1 404"));

    // SIGTERM: a clean stop that closes the archive.
    let status = Command::new(binary("kill"))
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(s) = server.try_wait().unwrap() {
            assert!(s.success(), "bugyo serve exited with {s}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "bugyo serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(g);

    // The archive holds the session and both updates; a replay finds the leak.
    let mut files = Vec::new();
    for month in std::fs::read_dir(data.join("archive")).unwrap().flatten() {
        for f in std::fs::read_dir(month.path()).unwrap().flatten() {
            files.push(f.path().to_string_lossy().to_string());
        }
    }
    assert!(!files.is_empty(), "no archive files");
    files.sort();
    let mut dump_args = vec!["dump"];
    dump_args.extend(files.iter().map(|s| s.as_str()));
    let (dump, _) = bugyo(&dump_args);
    // gobgpd sends with ADD-PATH here, so the lines carry a path id.
    let line = |prefix: &str, path: &str| {
        dump.lines().any(|l| {
            l.contains("|A|127.0.0.1|2497|")
                && l.contains(&format!("|{prefix}|"))
                && l.contains(&format!("|{path}|"))
        })
    };
    assert!(line("60.1.0.0/16", "2497 2914 4713"), "{dump}");
    assert!(line("60.1.1.0/24", "2497 701 15169 4713"), "{dump}");
    assert!(
        dump.contains("|STATE|127.0.0.1|2497|1|6"),
        "session up archived: {dump}"
    );
    let mut replay_args = vec![
        "replay",
        "--format",
        "json",
        "--min-severity",
        "info",
        "--learning-secs",
        "0",
        "--as-rel",
    ];
    let asrel_s = asrel.to_string_lossy().to_string();
    replay_args.push(&asrel_s);
    replay_args.extend(files.iter().map(|s| s.as_str()));
    let (out, _) = bugyo(&replay_args);
    let replayed = json_lines(&out);
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
    let asrel = dir.join("as-rel.txt");
    std::fs::write(&asrel, "701|15169|-1\n2914|4713|-1\n701|2914|0\n").unwrap();
    let (bgp_port, bmp_port) = (free_port(), free_port());
    let data = dir.join("data");
    let mut server = Command::new(env!("CARGO_BIN_EXE_bugyo"))
        .args(["serve", "--learning-secs", "0"])
        .arg("--http")
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--bgp-listen")
        .arg(format!("127.0.0.1:{bgp_port}"))
        .arg("--bmp-listen")
        .arg(format!("127.0.0.1:{bmp_port}"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--as-rel")
        .arg(&asrel)
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(dir.join("bugyo.log")).unwrap())
        .spawn()
        .expect("start bugyo serve");
    std::thread::sleep(Duration::from_millis(300));
    let bmp = format!(
        "\n[[bmp-servers]]\n  [bmp-servers.config]\n    address = \"127.0.0.1\"\n    port = {bmp_port}\n    route-monitoring-policy = \"local-rib\"\n"
    );
    // The BGP neighbour points at a port nobody accepts from; only BMP matters.
    let g = gobgpd_with(&dir, 2497, 65000, free_port(), None, &bmp);
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
    let events = data.join("events.jsonl");
    let deadline = Instant::now() + WAIT;
    let opened = loop {
        let lines = json_lines(&std::fs::read_to_string(&events).unwrap_or_default());
        if let Some(l) = lines.into_iter().find(|l| l["event"] == "opened") {
            break l;
        }
        assert!(
            Instant::now() < deadline,
            "no incident from BMP within {WAIT:?}\nbugyo log:\n{}\ngobgpd log:\n{}",
            std::fs::read_to_string(dir.join("bugyo.log")).unwrap_or_default(),
            g.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(opened["kind"], "route-leak");
    assert_eq!(opened["culprit_asn"], 15169);
    assert_eq!(opened["prefixes"][0], "60.1.1.0/24");
    let status = Command::new(binary("kill"))
        .arg("-TERM")
        .arg(server.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + WAIT;
    while server.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "bugyo serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(g);
    let mut files = Vec::new();
    for month in std::fs::read_dir(data.join("archive")).unwrap().flatten() {
        for f in std::fs::read_dir(month.path()).unwrap().flatten() {
            files.push(f.path().to_string_lossy().to_string());
        }
    }
    let mut args = vec!["dump"];
    args.extend(files.iter().map(|s| s.as_str()));
    let (dump, _) = bugyo(&args);
    assert!(
        dump.lines()
            .any(|l| l.contains("|60.1.0.0/16|") && l.contains("|2914 4713|")),
        "{dump}"
    );
    assert!(
        dump.lines()
            .any(|l| l.contains("|60.1.1.0/24|") && l.contains("|701 15169 4713|")),
        "{dump}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A plain HTTP GET on loopback; the whole response as text.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to /metrics");
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
