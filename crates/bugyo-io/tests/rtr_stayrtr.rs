//! The RTR client against a real cache: Debian's `stayrtr` on loopback,
//! serving a generated rpki-client JSON file. Checks the full load, an
//! incremental update, the outage and stale alarm, and recovery.
//!
//! Fails (never skips) when `stayrtr` is not installed.

use bugyo_io::rtr::{RtrClient, RtrConfig, RtrEvent};
use bugyo_model::{Asn, Prefix, Vrp};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, watch};
use tokio::time::timeout;

/// A child process killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
    let (a, l) = prefix.split_once('/').expect("prefix with a length");
    Vrp {
        prefix: Prefix::new(a.parse().expect("address"), l.parse().expect("length"))
            .expect("prefix"),
        max_len,
        asn: Asn(asn),
    }
}

/// Writes `vrps` as rpki-client JSON, atomically (write, then rename).
fn write_vrps(path: &Path, vrps: &[Vrp]) {
    let roas: Vec<String> = vrps
        .iter()
        .map(|v| {
            format!(
                r#"{{"asn":{},"prefix":"{}","maxLength":{},"ta":"test"}}"#,
                v.asn.0, v.prefix, v.max_len
            )
        })
        .collect();
    let json = format!(
        r#"{{"metadata":{{"buildtime":"2024-01-01T00:00:00Z"}},"roas":[{}]}}"#,
        roas.join(",")
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json).expect("write VRP file");
    std::fs::rename(&tmp, path).expect("rename VRP file");
}

fn start_server(bin: &Path, port: u16, cache: &Path, log: &Path) -> Server {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open log");
    let err = out.try_clone().expect("clone log");
    let child = Command::new(bin)
        .args(["-bind", &format!("127.0.0.1:{port}")])
        .args(["-cache", &cache.display().to_string()])
        .args(["-checktime=false", "-refresh", "1", "-metrics.addr", ""])
        .args([
            "-rtr.refresh",
            "1",
            "-rtr.retry",
            "1",
            "-rtr.expire",
            "3",
            "-loglevel",
            "debug",
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start stayrtr");
    let server = Server(child);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "stayrtr did not listen on 127.0.0.1:{port} within 5 s; log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

async fn wait<T: Clone + std::fmt::Debug>(
    rx: &mut watch::Receiver<T>,
    secs: u64,
    what: &str,
    pred: impl FnMut(&T) -> bool,
) -> T {
    let got = match timeout(Duration::from_secs(secs), rx.wait_for(pred)).await {
        Ok(Ok(v)) => Some(v.clone()),
        Ok(Err(_)) => panic!("client stopped while waiting for {what}"),
        Err(_) => None,
    };
    match got {
        Some(v) => v,
        None => panic!(
            "timed out ({secs} s) waiting for {what}; have {:?}",
            rx.borrow()
        ),
    }
}

/// Waits (bounded) for an event matching `pred`; returns those seen.
async fn wait_event(
    rx: &mut broadcast::Receiver<RtrEvent>,
    secs: u64,
    what: &str,
    pred: impl Fn(&RtrEvent) -> bool,
) -> Vec<RtrEvent> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) => {
                eprintln!("event: {e:?}");
                let hit = pred(&e);
                seen.push(e);
                if hit {
                    return seen;
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(_)) => break,
            Err(_) => break,
        }
    }
    panic!("no event: {what}; seen {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stayrtr_load_update_outage_recovery() {
    let bin = bugyo_testdata::gobgp::binary("stayrtr");
    let version = Command::new(&bin).arg("-version").output();
    eprintln!(
        "stayrtr: {} {:?}",
        bin.display(),
        version.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    );
    let dir = bugyo_testdata::scratch("rtr-stayrtr");
    let cache = dir.join("vrps.json");
    let log = dir.join("stayrtr.log");
    let port = bugyo_testdata::gobgp::free_port();

    let first = vec![
        vrp("192.0.2.0/24", 24, 65001),
        vrp("198.51.100.0/22", 24, 65002),
        vrp("2001:db8::/32", 48, 65003),
        vrp("203.0.113.0/24", 24, 0),
    ];
    write_vrps(&cache, &first);
    let server = start_server(&bin, port, &cache, &log);

    let mut cfg = RtrConfig::new(format!("127.0.0.1:{port}"));
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.response_timeout = Duration::from_secs(3);
    cfg.backoff_min = Duration::from_millis(200);
    cfg.backoff_max = Duration::from_millis(800);
    let client = RtrClient::spawn(cfg);
    let mut events = client.events();
    let mut snaps = client.snapshot();
    let mut status = client.status();

    // 1. The full load equals the file.
    let mut want = first.clone();
    want.sort();
    let s1 = wait(&mut snaps, 10, "the full load", |s| s.vrps == want).await;
    assert_eq!(status.borrow().version, Some(1));
    assert!(!client.stale());

    // 2. An incremental update: one removed, two added.
    let mut second = first.clone();
    second.retain(|v| v.asn != Asn(65002));
    second.push(vrp("192.0.2.128/25", 25, 65010));
    second.push(vrp("2001:db8:1::/48", 48, 65011));
    write_vrps(&cache, &second);
    let mut want2 = second.clone();
    want2.sort();
    let s2 = wait(&mut snaps, 10, "the incremental update", |s| {
        s.vrps == want2
    })
    .await;
    assert!(
        s2.serial > s1.serial,
        "serial {} -> {}",
        s1.serial,
        s2.serial
    );
    assert_eq!(s2.session_id, s1.session_id);
    let serial2 = s2.serial;
    wait_event(
        &mut events,
        5,
        "incremental transfer",
        |e| matches!(e, RtrEvent::Synced { full: false, serial, .. } if *serial == serial2),
    )
    .await;

    // 3. Outage: the client notices, then marks the data stale after the
    // expire interval (3 s), keeping the last data.
    drop(server);
    wait(&mut status, 5, "client did not notice the outage", |s| {
        !s.connected
    })
    .await;
    wait(&mut status, 8, "data not marked stale", |s| s.stale).await;
    assert!(client.stale());
    assert_eq!(snaps.borrow().vrps, want2);
    let seen = wait_event(&mut events, 5, "stale alarm", |e| {
        matches!(e, RtrEvent::Stale { last_sync: Some(_) })
    })
    .await;
    assert!(seen
        .iter()
        .any(|e| matches!(e, RtrEvent::Disconnected { .. })));

    // 4. Recovery: a new server (new session id) on the same port.
    let restarted_at = SystemTime::now();
    let _server = start_server(&bin, port, &cache, &log);
    wait_event(&mut events, 10, "recovery", |e| *e == RtrEvent::Fresh).await;
    wait(&mut snaps, 10, "recovery", |s| {
        s.updated_at > restarted_at && s.vrps == want2
    })
    .await;
    wait(&mut status, 5, "client did not recover", |s| {
        !s.stale && s.connected
    })
    .await;
    client.shutdown().await;
}

/// StayRTR 0.5 answers a version-2 Reset Query in version 1: the client
/// falls back to version 1 and loads the data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stayrtr_version_2_falls_back() {
    let bin = bugyo_testdata::gobgp::binary("stayrtr");
    let dir = bugyo_testdata::scratch("rtr-stayrtr-v2");
    let cache = dir.join("vrps.json");
    let port = bugyo_testdata::gobgp::free_port();
    let vrps = vec![
        vrp("192.0.2.0/24", 24, 65001),
        vrp("2001:db8::/32", 48, 65003),
    ];
    write_vrps(&cache, &vrps);
    let _server = start_server(&bin, port, &cache, &dir.join("stayrtr.log"));

    let mut cfg = RtrConfig::new(format!("127.0.0.1:{port}"));
    cfg.version = 2;
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.response_timeout = Duration::from_secs(3);
    cfg.backoff_min = Duration::from_millis(200);
    let client = RtrClient::spawn(cfg);
    let mut snaps = client.snapshot();
    let mut want = vrps.clone();
    want.sort();
    wait(&mut snaps, 10, "the full load", |s| s.vrps == want).await;
    let version = client.status().borrow().version;
    assert!(
        matches!(version, Some(1 | 2)),
        "negotiated version {version:?}"
    );
    client.shutdown().await;
}
