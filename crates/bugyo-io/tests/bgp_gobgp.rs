//! The BGP speaker against a real BGP implementation: Debian's `gobgpd` on
//! loopback, driven with the `gobgp` CLI. gobgpd connects to our listener
//! (and, in the second test, we connect to it); routes added and deleted
//! with `gobgp global rib` must come out as feed events with the right
//! prefixes and AS paths, and killing gobgpd must end the session.
//!
//! Fails (never skips) when `gobgpd` or `gobgp` is not installed.

use bugyo_io::bgp::{self, BgpConfig, PeerConfig, SessionState};
use bugyo_io::feed::FeedEvent;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// Every wait in this file is at most this long.
const WAIT: Duration = Duration::from_secs(20);
const BUGYO_AS: u32 = 65000;
const GOBGP_AS: u32 = 65010;

/// gobgpd, killed when dropped.
struct Gobgpd {
    child: Child,
    api_port: u16,
    dir: PathBuf,
}

impl Drop for Gobgpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found in PATH or /usr/bin: install it (apt-get install gobgpd; scripts/test.sh does this as root)")
        })
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    l.local_addr().expect("local address").port()
}

/// Starts gobgpd with one neighbour, bugyo at 127.0.0.1: either gobgpd
/// connects to `remote_port`, or (`listen_port`) it waits passively.
fn gobgpd(dir: &Path, remote_port: u16, listen_port: Option<u16>) -> Gobgpd {
    let api_port = free_port();
    let (port, passive) = match listen_port {
        Some(p) => (i64::from(p), true),
        None => (-1, false),
    };
    let config = format!(
        r#"[global.config]
  as = {GOBGP_AS}
  router-id = "192.0.2.10"
  port = {port}
  local-address-list = ["127.0.0.1"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = {BUGYO_AS}
  [neighbors.transport.config]
    remote-port = {remote_port}
    passive-mode = {passive}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [neighbors.add-paths.config]
    send-max = 4
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
    );
    let cfg = dir.join("gobgpd.toml");
    std::fs::write(&cfg, config).expect("write gobgpd config");
    let log = std::fs::File::create(dir.join("gobgpd.log")).expect("create log");
    let child = Command::new(binary("gobgpd"))
        .args(["-t", "toml", "-f"])
        .arg(&cfg)
        .arg(format!("--api-hosts=127.0.0.1:{api_port}"))
        .arg("--pprof-disable")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start gobgpd");
    Gobgpd {
        child,
        api_port,
        dir: dir.to_path_buf(),
    }
}

impl Gobgpd {
    /// Runs `gobgp -p API ARGS`, retrying for a while until the API answers.
    fn cli(&self, args: &[&str]) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let out = Command::new(binary("gobgp"))
                .args(["-p", &self.api_port.to_string()])
                .args(args)
                .output()
                .expect("run gobgp");
            if out.status.success() {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "gobgp {args:?} failed: {}{}\ngobgpd log:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
    }
}

/// Applies events to a prefix → AS path table until `done` holds for it.
async fn table_until(
    rx: &mut mpsc::Receiver<FeedEvent>,
    table: &mut BTreeMap<String, String>,
    what: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(table) {
        let ev = match timeout(
            deadline.saturating_duration_since(Instant::now()),
            rx.recv(),
        )
        .await
        {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("feed closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}; table {table:?}"),
        };
        match ev {
            FeedEvent::Update(u) => {
                assert_eq!(u.peer.asn.0, GOBGP_AS);
                assert!(u.local.is_some());
                assert!(!u.treat_as_withdraw, "{u:?}");
                for w in &u.withdrawn {
                    table.remove(&w.prefix.to_string());
                }
                if let Some(a) = &u.attrs {
                    for n in &u.announced {
                        // gobgpd is configured to send ADD-PATH identifiers.
                        assert!(n.path_id.is_some(), "no ADD-PATH id: {n:?}");
                        table.insert(n.prefix.to_string(), a.as_path.to_string());
                    }
                }
            }
            FeedEvent::SessionDown { reason, .. } => {
                panic!("session down waiting for {what}: {reason}")
            }
            FeedEvent::SessionUp { .. } => panic!("second SessionUp waiting for {what}"),
        }
    }
}

async fn wait_event(
    rx: &mut mpsc::Receiver<FeedEvent>,
    what: &str,
    want: impl Fn(&FeedEvent) -> bool,
) -> FeedEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        match timeout(
            deadline.saturating_duration_since(Instant::now()),
            rx.recv(),
        )
        .await
        {
            Ok(Some(ev)) if want(&ev) => return ev,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("feed closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

fn config(listen: Option<SocketAddr>, port: Option<u16>, active: bool) -> BgpConfig {
    BgpConfig {
        local_asn: BUGYO_AS,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        listen,
        peers: vec![PeerConfig {
            asn: GOBGP_AS,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            active,
        }],
        hold_time: 9,
    }
}

/// Adds, checks, deletes, checks: the common part of both tests.
async fn routes_flow(g: &Gobgpd, rx: &mut mpsc::Receiver<FeedEvent>) {
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "10.1.0.0/24",
        "aspath",
        "701,15169,4713",
    ]);
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        "10.2.0.0/16",
        "aspath",
        "4200000001",
    ]);
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv6",
        "2001:db8:1::/48",
        "aspath",
        "64500,64501",
    ]);
    let mut table = BTreeMap::new();
    let want: BTreeMap<String, String> = [
        ("10.1.0.0/24", "65010 701 15169 4713"),
        ("10.2.0.0/16", "65010 4200000001"),
        ("2001:db8:1::/48", "65010 64500 64501"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    table_until(rx, &mut table, "three routes", |t| t.len() >= 3).await;
    assert_eq!(table, want, "gobgpd log:\n{}", g.log());
    g.cli(&["global", "rib", "del", "-a", "ipv4", "10.1.0.0/24"]);
    g.cli(&["global", "rib", "del", "-a", "ipv6", "2001:db8:1::/48"]);
    table_until(rx, &mut table, "two withdrawals", |t| t.len() == 1).await;
    assert_eq!(table.keys().collect::<Vec<_>>(), ["10.2.0.0/16"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgpd_connects_to_our_listener() {
    let dir = bugyo_testdata::scratch("bgp-gobgp-passive");
    let (tx, mut rx) = mpsc::channel(1024);
    let handle = bgp::start(
        config(Some("127.0.0.1:0".parse().unwrap()), None, false),
        tx,
    )
    .await
    .expect("start speaker");
    let port = handle.local_addr().expect("listener").port();
    let mut g = gobgpd(&dir, port, None);
    wait_event(&mut rx, "SessionUp", |e| {
        matches!(e, FeedEvent::SessionUp { .. })
    })
    .await;
    routes_flow(&g, &mut rx).await;
    let stats = handle.stats().snapshot();
    assert_eq!(stats[0].1.state, SessionState::Established);
    assert!(
        stats[0].1.updates >= 5 && stats[0].1.announced >= 3,
        "{stats:?}"
    );
    let _ = g.child.kill();
    let _ = g.child.wait();
    let ev = wait_event(&mut rx, "SessionDown", |e| {
        matches!(e, FeedEvent::SessionDown { .. })
    })
    .await;
    let FeedEvent::SessionDown { peer, .. } = ev else {
        unreachable!()
    };
    assert_eq!(peer.asn.0, GOBGP_AS);
    assert_eq!(handle.stats().snapshot()[0].1.state, SessionState::Idle);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_gobgpd() {
    let dir = bugyo_testdata::scratch("bgp-gobgp-active");
    let gport = free_port();
    let g = gobgpd(&dir, 179, Some(gport));
    let (tx, mut rx) = mpsc::channel(1024);
    let handle = bgp::start(config(None, Some(gport), true), tx)
        .await
        .expect("start speaker");
    wait_event(&mut rx, "SessionUp", |e| {
        matches!(e, FeedEvent::SessionUp { .. })
    })
    .await;
    routes_flow(&g, &mut rx).await;
    handle.shutdown().await;
    let ev = wait_event(&mut rx, "SessionDown", |e| {
        matches!(e, FeedEvent::SessionDown { .. })
    })
    .await;
    assert!(matches!(ev, FeedEvent::SessionDown { ref reason, .. } if reason == "shutdown"));
}
