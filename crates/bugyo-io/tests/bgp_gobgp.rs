//! The BGP speaker against a real BGP implementation: Debian's `gobgpd` on
//! loopback, driven with the `gobgp` CLI. gobgpd connects to our listener
//! (and, in the second test, we connect to it); routes added and deleted
//! with `gobgp global rib` must come out as feed events with the right
//! prefixes and AS paths, and killing gobgpd must end the session.
//!
//! Fails (never skips) when `gobgpd` or `gobgp` is not installed.

use bugyo_io::bgp::{self, BgpConfig, PeerConfig, SessionState};
use bugyo_io::feed::FeedEvent;
use bugyo_testdata::gobgp::{free_port, Gobgpd};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

use bugyo_testdata::gobgp::WAIT;
const BUGYO_AS: u32 = 65000;
const GOBGP_AS: u32 = 65010;

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
    let mut g = bugyo_testdata::gobgp::gobgpd(&dir, GOBGP_AS, BUGYO_AS, port, None);
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
    let g = bugyo_testdata::gobgp::gobgpd(&dir, GOBGP_AS, BUGYO_AS, 179, Some(gport));
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
