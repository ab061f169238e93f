//! The BGP speaker against BIRD 2 on loopback: one session with both an
//! IPv4 and an IPv6 unicast channel (MP-BGP), bird in a 4-byte AS sending
//! static routes whose AS paths hold 4-byte AS numbers, ADD-PATH on the
//! IPv6 channel only (so the two families of one session differ). The
//! routes must come out as feed events with the exact prefixes and paths;
//! disabling a static protocol and reconfiguring bird must withdraw and
//! replace them; `birdc disable` must end the session with bird's
//! NOTIFICATION and `enable` bring it back; killing bird must end it too.
//! One test has bird connect to our listener, one connects to bird; a
//! third restarts bird with graceful restart on (routes kept while it is
//! away, stale ones withdrawn when it is back without forwarding state).
//!
//! Fails (never skips) when bird is not installed.

use bugyo_io::bgp::{self, BgpConfig, PeerConfig, SessionState};
use bugyo_io::feed::FeedEvent;
use bugyo_testdata::bird::{self, Bird};
use bugyo_testdata::gobgp::{free_port, WAIT};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const BUGYO_AS: u32 = 65000;
/// bird's AS: a 4-byte one, so its OPEN carries AS_TRANS.
const BIRD_AS: u32 = 4_200_000_010;

/// prefix → AS path, as text.
type Table = BTreeMap<String, String>;

/// The routes of bird's static protocols: (prefix, path before bird's own
/// AS is prepended).
const V4: &[(&str, &[u32])] = &[
    ("10.1.0.0/24", &[701, 15169, 4713]),
    ("10.2.0.0/16", &[4_200_000_001]),
];
const V6: &[(&str, &[u32])] = &[
    ("2001:db8:1::/48", &[64500, 64501]),
    ("2001:db8:2::/48", &[4_200_000_002, 64502]),
];

/// A static route with `path` as its BGP AS path (prepended last first).
fn route(prefix: &str, path: &[u32]) -> String {
    let prepends: String = path
        .iter()
        .rev()
        .map(|a| format!(" bgp_path.prepend({a});"))
        .collect();
    format!("  route {prefix} blackhole {{{prepends} }};\n")
}

/// bird's configuration: static protocols `s4` and `s6` with `v4` and `v6`,
/// and BGP protocol `bugyo` on 127.0.0.1 port `bird_port`, connecting to
/// `bugyo_port` or (None) only waiting for us.
fn bird_config(
    bird_port: u16,
    bugyo_port: Option<u16>,
    v4: &[(&str, &[u32])],
    v6: &[(&str, &[u32])],
) -> String {
    let s4: String = v4.iter().map(|(p, a)| route(p, a)).collect();
    let s6: String = v6.iter().map(|(p, a)| route(p, a)).collect();
    let (port, passive) = match bugyo_port {
        Some(p) => (p, "off"),
        None => (179, "on"),
    };
    format!(
        r#"router id 192.0.2.20;
protocol device {{ }}
protocol static s4 {{
  ipv4;
{s4}}}
protocol static s6 {{
  ipv6;
{s6}}}
protocol bgp bugyo {{
  local 127.0.0.1 port {bird_port} as {BIRD_AS};
  neighbor 127.0.0.1 port {port} as {BUGYO_AS};
  multihop;
  passive {passive};
  hold time 9;
  keepalive time 3;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  ipv4 {{ import none; export all; next hop address 192.0.2.20; }};
  ipv6 {{ import none; export all; next hop address 2001:db8::20; add paths tx; }};
}}
"#
    )
}

/// The table bird should have sent for `v4` and `v6`.
fn expected(v4: &[(&str, &[u32])], v6: &[(&str, &[u32])]) -> Table {
    v4.iter()
        .chain(v6)
        .map(|(p, path)| {
            let mut text = BIRD_AS.to_string();
            for a in *path {
                text.push_str(&format!(" {a}"));
            }
            (p.to_string(), text)
        })
        .collect()
}

/// The next feed event, within [`WAIT`].
async fn next(rx: &mut mpsc::Receiver<FeedEvent>, what: &str, b: &Bird) -> FeedEvent {
    match timeout(WAIT, rx.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("feed closed waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}\nbird log:\n{}", b.log()),
    }
}

/// Applies UPDATE events to `table` until it equals `want` (at most
/// [`WAIT`]). Every event must be an UPDATE from bird; IPv6 routes carry
/// ADD-PATH identifiers (negotiated for IPv6 only), IPv4 routes none.
async fn table_until(
    rx: &mut mpsc::Receiver<FeedEvent>,
    table: &mut Table,
    want: &Table,
    what: &str,
    b: &Bird,
) {
    let deadline = Instant::now() + WAIT;
    while table != want {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match timeout(left, rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("feed closed waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}: have {table:?}, want {want:?}\nbird log:\n{}",
                b.log()
            ),
        };
        let FeedEvent::Update(u) = ev else {
            panic!("waiting for {what}: unexpected {ev:?}")
        };
        assert_eq!(u.peer.asn.0, BIRD_AS);
        assert_eq!(u.local.map(|l| l.asn.0), Some(BUGYO_AS));
        assert!(!u.treat_as_withdraw, "{u:?}");
        for w in &u.withdrawn {
            assert_eq!(
                w.path_id.is_some(),
                w.prefix.afi() == bugyo_model::Afi::Ipv6
            );
            table.remove(&w.prefix.to_string());
        }
        if let Some(a) = &u.attrs {
            for n in &u.announced {
                let v6 = n.prefix.afi() == bugyo_model::Afi::Ipv6;
                assert_eq!(n.path_id.is_some(), v6, "ADD-PATH id only for IPv6: {n:?}");
                table.insert(n.prefix.to_string(), a.as_path.to_string());
            }
        }
    }
}

/// Skips events until one satisfies `want` (at most [`WAIT`]).
async fn wait_event(
    rx: &mut mpsc::Receiver<FeedEvent>,
    what: &str,
    b: &Bird,
    want: impl Fn(&FeedEvent) -> bool,
) -> FeedEvent {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, rx.recv()).await {
            Ok(Some(ev)) if want(&ev) => return ev,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("feed closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}\nbird log:\n{}", b.log()),
        }
    }
}

fn speaker_config(listen: Option<SocketAddr>, port: Option<u16>, active: bool) -> BgpConfig {
    BgpConfig {
        local_asn: BUGYO_AS,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        listen,
        peers: vec![PeerConfig {
            asn: BIRD_AS,
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            active,
        }],
        hold_time: 9,
    }
}

/// bird's IPv4 routes after [`routes_flow`] reconfigured it: one removed,
/// one with a new path, one new.
const V4_NEW: &[(&str, &[u32])] = &[
    ("10.2.0.0/16", &[64510, 4_200_000_001]),
    ("10.3.0.0/24", &[4_200_000_003]),
];

/// The full table arrives; a new configuration removes, changes and adds
/// IPv4 routes; a static protocol disabled withdraws its (IPv6) routes and
/// enabled again announces them again. (Reconfiguring bird enables
/// disabled protocols, so it comes first.)
async fn routes_flow(
    b: &Bird,
    rx: &mut mpsc::Receiver<FeedEvent>,
    bird_port: u16,
    bugyo_port: Option<u16>,
) {
    let mut table = Table::new();
    table_until(rx, &mut table, &expected(V4, V6), "both families", b).await;

    b.configure(&bird_config(bird_port, bugyo_port, V4_NEW, V6));
    table_until(rx, &mut table, &expected(V4_NEW, V6), "IPv4 changed", b).await;

    b.birdc(&["disable", "s6"]);
    table_until(rx, &mut table, &expected(V4_NEW, &[]), "IPv6 withdrawn", b).await;

    b.birdc(&["enable", "s6"]);
    table_until(rx, &mut table, &expected(V4_NEW, V6), "IPv6 back", b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_connects_to_our_listener() {
    let dir = bugyo_testdata::scratch("bgp-bird-passive");
    let (tx, mut rx) = mpsc::channel(1024);
    let handle = bgp::start(
        speaker_config(Some("127.0.0.1:0".parse().unwrap()), None, false),
        tx,
    )
    .await
    .expect("start speaker");
    let port = handle.local_addr().expect("listener").port();
    let bird_port = free_port();
    let mut b = bird::bird(&dir, &bird_config(bird_port, Some(port), V4, V6));

    let ev = next(&mut rx, "SessionUp", &b).await;
    assert!(
        matches!(ev, FeedEvent::SessionUp { peer, .. } if peer.asn.0 == BIRD_AS),
        "{ev:?}"
    );
    routes_flow(&b, &mut rx, bird_port, Some(port)).await;
    b.wait_up("bugyo");
    let stats = handle.stats().snapshot();
    assert_eq!(stats[0].1.state, SessionState::Established);
    assert!(stats[0].1.errors.is_empty(), "{stats:?}");

    // Administrative shutdown from bird: its NOTIFICATION ends the session
    // and every route goes with it.
    b.birdc(&["disable", "bugyo"]);
    let ev = next(&mut rx, "SessionDown after disable", &b).await;
    let FeedEvent::SessionDown { reason, .. } = ev else {
        panic!("not SessionDown: {ev:?}")
    };
    assert!(reason.contains("NOTIFICATION 6/2"), "{reason}");
    assert_eq!(handle.stats().snapshot()[0].1.state, SessionState::Idle);

    // Enabled again, bird connects again and sends the whole table.
    b.birdc(&["enable", "bugyo"]);
    let ev = next(&mut rx, "second SessionUp", &b).await;
    assert!(matches!(ev, FeedEvent::SessionUp { .. }), "{ev:?}");
    let mut table = Table::new();
    table_until(
        &mut rx,
        &mut table,
        &expected(V4_NEW, V6),
        "table again",
        &b,
    )
    .await;
    assert_eq!(handle.stats().snapshot()[0].1.sessions, 2);

    // Killed: no NOTIFICATION, the connection just closes. bird offers
    // graceful restart without any address family (its default "aware"
    // mode), so no route may be kept: the session ends at once.
    b.kill();
    let ev = wait_event(&mut rx, "SessionDown after kill", &b, |e| {
        matches!(e, FeedEvent::SessionDown { .. })
    })
    .await;
    let FeedEvent::SessionDown { peer, .. } = ev else {
        unreachable!()
    };
    assert_eq!(peer.asn.0, BIRD_AS);
    assert_eq!(handle.stats().snapshot()[0].1.state, SessionState::Idle);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_connect_to_bird() {
    let dir = bugyo_testdata::scratch("bgp-bird-active");
    let bird_port = free_port();
    let b = bird::bird(&dir, &bird_config(bird_port, None, V4, V6));
    let (tx, mut rx) = mpsc::channel(1024);
    let handle = bgp::start(speaker_config(None, Some(bird_port), true), tx)
        .await
        .expect("start speaker");
    let ev = next(&mut rx, "SessionUp", &b).await;
    assert!(matches!(ev, FeedEvent::SessionUp { .. }), "{ev:?}");
    routes_flow(&b, &mut rx, bird_port, None).await;

    b.birdc(&["disable", "bugyo"]);
    let ev = next(&mut rx, "SessionDown after disable", &b).await;
    assert!(matches!(ev, FeedEvent::SessionDown { .. }), "{ev:?}");
    // We keep trying; once bird takes connections again the session is back.
    b.birdc(&["enable", "bugyo"]);
    let ev = next(&mut rx, "second SessionUp", &b).await;
    assert!(matches!(ev, FeedEvent::SessionUp { .. }), "{ev:?}");
    b.wait_up("bugyo");

    // Our shutdown sends Cease / Administrative Shutdown, which bird reports.
    handle.shutdown().await;
    let ev = wait_event(&mut rx, "SessionDown after shutdown", &b, |e| {
        matches!(e, FeedEvent::SessionDown { .. })
    })
    .await;
    assert!(
        matches!(ev, FeedEvent::SessionDown { ref reason, .. } if reason == "shutdown"),
        "{ev:?}"
    );
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let out = b.birdc(&["show", "protocols", "all", "bugyo"]);
        if out.contains("Received: Administrative shutdown") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bird did not see our NOTIFICATION:\n{out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// [`bird_config`] with graceful restart on: bird lists IPv4 and IPv6
/// unicast in its capability (restart time 30 s).
fn bird_config_gr(bird_port: u16, bugyo_port: u16) -> String {
    bird_config(bird_port, Some(bugyo_port), V4, V6).replace(
        "  hold time 9;",
        "  graceful restart on;\n  graceful restart time 30;\n  hold time 9;",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_graceful_restart() {
    let dir = bugyo_testdata::scratch("bgp-bird-gr");
    let (tx, mut rx) = mpsc::channel(1024);
    let handle = bgp::start(
        speaker_config(Some("127.0.0.1:0".parse().unwrap()), None, false),
        tx,
    )
    .await
    .expect("start speaker");
    let port = handle.local_addr().expect("listener").port();
    let bird_port = free_port();
    let first = dir.join("first");
    std::fs::create_dir_all(&first).expect("directory");
    let mut b = bird::bird(&first, &bird_config_gr(bird_port, port));
    let ev = next(&mut rx, "SessionUp", &b).await;
    assert!(matches!(ev, FeedEvent::SessionUp { .. }), "{ev:?}");
    let full = expected(V4, V6);
    let mut table = Table::new();
    table_until(&mut rx, &mut table, &full, "both families", &b).await;

    // With graceful restart bird ends its table with End-of-RIB markers
    // (empty UPDATEs): let them arrive first.
    while let Ok(Some(ev)) = timeout(std::time::Duration::from_millis(500), rx.recv()).await {
        let FeedEvent::Update(u) = &ev else {
            panic!("unexpected {ev:?}")
        };
        assert!(u.announced.is_empty() && u.withdrawn.is_empty(), "{u:?}");
    }

    // Killed: the capability listed both families, so their routes are
    // kept while bird restarts, with no event.
    b.kill();
    let quiet = timeout(std::time::Duration::from_millis(1500), rx.recv()).await;
    assert!(quiet.is_err(), "event while bird restarts: {quiet:?}");
    assert_eq!(
        handle.stats().snapshot()[0].1.state,
        SessionState::Restarting
    );

    // Back (a new bird, not in recovery: no Forwarding State bit): the
    // session resumes without a second SessionUp, the stale routes are
    // withdrawn at once and bird's table arrives again.
    let second = dir.join("second");
    std::fs::create_dir_all(&second).expect("directory");
    let b2 = bird::bird(&second, &bird_config_gr(bird_port, port));
    let ev = next(&mut rx, "stale routes withdrawn", &b2).await;
    let FeedEvent::Update(u) = ev else {
        panic!("not an Update (no second SessionUp expected): {ev:?}")
    };
    assert!(u.announced.is_empty() && !u.withdrawn.is_empty(), "{u:?}");
    for w in &u.withdrawn {
        table.remove(&w.prefix.to_string());
    }
    table_until(&mut rx, &mut table, &full, "table after restart", &b2).await;
    let st = &handle.stats().snapshot()[0].1;
    assert_eq!((st.state, st.sessions), (SessionState::Established, 2));
    handle.shutdown().await;
}
