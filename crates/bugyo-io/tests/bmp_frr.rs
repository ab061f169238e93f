//! The BMP station against a real BMP client: FRR 8.4's `bgpd` with the
//! BMP module, exporting to our station. FRR learns its routes from a
//! bird (4-byte AS) over one MP-BGP session on loopback (IPv4 and IPv6
//! unicast), and monitors both the pre-policy and the post-policy
//! Adj-RIB-In (FRR 8.4 has no Loc-RIB monitoring).
//!
//! Checked: the Initiation (sysName in the station's counters), Peer Up →
//! SessionUp, the pre-policy routes as Update events with the exact
//! prefixes and AS paths as bird sent them (FRR puts its own AS in front;
//! the station removes it), post-policy messages counted but not fed, bird
//! killed → Peer Down → SessionDown,
//! bird back → SessionUp and the routes again, FRR killed → the connection
//! loss ends the session, FRR back → a new connection that works.
//!
//! Fails (never skips) when FRR or bird is not installed.

use bugyo_io::bmp::{self, BmpHandle};
use bugyo_io::feed::FeedEvent;
use bugyo_testdata::bird::{self, Bird};
use bugyo_testdata::frr::{self, Frr};
use bugyo_testdata::gobgp::{free_port, WAIT};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const FRR_AS: u32 = 65020;
/// bird's AS (a 4-byte one) and address: the peer FRR reports over BMP.
const BIRD_AS: u32 = 4_200_000_010;
const BIRD_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The router: FRR connects to the station from 127.0.0.1.
const ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// bird's routes: (prefix, path before bird's AS is prepended).
const ROUTES: &[(&str, &[u32])] = &[
    ("10.1.0.0/24", &[701, 15169, 4713]),
    ("10.2.0.0/16", &[4_200_000_001]),
    ("2001:db8:1::/48", &[64500, 64501]),
];

/// prefix → AS path, as text.
type Table = BTreeMap<String, String>;

fn expected() -> Table {
    ROUTES
        .iter()
        .map(|(p, path)| {
            let mut text = BIRD_AS.to_string();
            for a in *path {
                text.push_str(&format!(" {a}"));
            }
            (p.to_string(), text)
        })
        .collect()
}

/// bird on 127.0.0.2 port `port`, waiting for FRR (127.0.0.1, AS 65020).
fn bird_config(port: u16) -> String {
    let mut s4 = String::new();
    let mut s6 = String::new();
    for (prefix, path) in ROUTES {
        let prepends: String = path
            .iter()
            .rev()
            .map(|a| format!(" bgp_path.prepend({a});"))
            .collect();
        let line = format!("  route {prefix} blackhole {{{prepends} }};\n");
        if prefix.contains(':') {
            s6.push_str(&line);
        } else {
            s4.push_str(&line);
        }
    }
    format!(
        r#"router id 192.0.2.20;
protocol device {{ }}
protocol static s4 {{
  ipv4;
{s4}}}
protocol static s6 {{
  ipv6;
{s6}}}
protocol bgp frr {{
  local 127.0.0.2 port {port} as {BIRD_AS};
  neighbor 127.0.0.1 as {FRR_AS};
  multihop;
  passive on;
  hold time 9;
  keepalive time 3;
  ipv4 {{ import none; export all; next hop address 192.0.2.20; }};
  ipv6 {{ import none; export all; next hop address 2001:db8::20; }};
}}
"#
    )
}

/// FRR peering with bird at 127.0.0.2 port `bird_port` and exporting BMP
/// to 127.0.0.1 port `station_port`. Soft reconfiguration inbound keeps
/// the Adj-RIB-In that FRR's pre-policy monitoring reads (without it FRR
/// 8.4 sends every pre-policy route as a withdrawal).
fn frr_config(bird_port: u16, station_port: u16) -> String {
    let n = BIRD_ADDR;
    format!(
        r#"router bgp {FRR_AS}
 bgp router-id 192.0.2.30
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor {n} remote-as {BIRD_AS}
 neighbor {n} port {bird_port}
 neighbor {n} update-source 127.0.0.1
 neighbor {n} ebgp-multihop 255
 neighbor {n} timers 3 9
 neighbor {n} timers connect 1
 address-family ipv4 unicast
  neighbor {n} activate
  neighbor {n} soft-reconfiguration inbound
 exit-address-family
 address-family ipv6 unicast
  neighbor {n} activate
  neighbor {n} soft-reconfiguration inbound
 exit-address-family
 bmp targets bugyo
  bmp connect 127.0.0.1 port {station_port} min-retry 100 max-retry 1000
  bmp monitor ipv4 unicast pre-policy
  bmp monitor ipv4 unicast post-policy
  bmp monitor ipv6 unicast pre-policy
  bmp monitor ipv6 unicast post-policy
 exit
!
"#
    )
}

/// Failure context: both daemons' logs.
fn logs(f: &Frr, b: &Bird) -> String {
    format!("FRR log:\n{}\nbird log:\n{}", f.log(), b.log())
}

/// Applies UPDATE events to `table` until it equals `want`, at most
/// [`WAIT`]. Every event must be about bird as FRR reports it.
async fn table_until(
    rx: &mut mpsc::Receiver<FeedEvent>,
    table: &mut Table,
    want: &Table,
    what: &str,
    ctx: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + WAIT;
    while table != want {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match timeout(left, rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("feed closed waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}: have {table:?}, want {want:?}\n{}",
                ctx()
            ),
        };
        let FeedEvent::Update(u) = ev else {
            panic!("waiting for {what}: unexpected {ev:?}")
        };
        assert_eq!((u.peer.asn.0, u.peer.addr), (BIRD_AS, BIRD_ADDR));
        assert_eq!(u.peer.via, Some(ROUTER), "{u:?}");
        for w in &u.withdrawn {
            table.remove(&w.prefix.to_string());
        }
        if let Some(a) = &u.attrs {
            for n in &u.announced {
                table.insert(n.prefix.to_string(), a.as_path.to_string());
            }
        }
    }
}

/// The next event, which must satisfy `want`, within [`WAIT`].
async fn expect_event(
    rx: &mut mpsc::Receiver<FeedEvent>,
    what: &str,
    ctx: &dyn Fn() -> String,
    want: impl Fn(&FeedEvent) -> bool,
) -> FeedEvent {
    match timeout(WAIT, rx.recv()).await {
        Ok(Some(ev)) if want(&ev) => ev,
        Ok(Some(ev)) => panic!("waiting for {what}: unexpected {ev:?}"),
        Ok(None) => panic!("feed closed waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}\n{}", ctx()),
    }
}

fn is_bird_up(e: &FeedEvent) -> bool {
    matches!(e, FeedEvent::SessionUp { peer, .. } if peer.asn.0 == BIRD_AS && peer.addr == BIRD_ADDR)
}

fn is_bird_down(e: &FeedEvent) -> bool {
    matches!(e, FeedEvent::SessionDown { peer, .. } if peer.asn.0 == BIRD_AS && peer.addr == BIRD_ADDR)
}

/// Waits until FRR has the session with bird up (at most [`WAIT`]).
fn wait_frr_peer_up(f: &Frr) {
    f.wait_for(
        &format!("show bgp neighbors {BIRD_ADDR} json"),
        "session with bird",
        |out| out.contains("\"bgpState\":\"Established\""),
    );
}

/// Starts bird in its own directory under `dir`.
fn start_bird(dir: &Path, name: &str, port: u16) -> Bird {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("bird directory");
    bird::bird(&d, &bird_config(port))
}

/// Starts FRR in its own directory under `dir`.
fn start_frr(dir: &Path, name: &str, bird_port: u16, station: &BmpHandle) -> Frr {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("frr directory");
    frr::bgpd(
        &d,
        &frr_config(bird_port, station.local_addr().port()),
        None,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_exports_bmp_to_the_station() {
    let dir = bugyo_testdata::scratch("bmp-frr");
    let (tx, mut rx) = mpsc::channel(1024);
    let station = bmp::start("127.0.0.1:0".parse().unwrap(), tx)
        .await
        .expect("start station");
    let bird_port = free_port();
    let mut b = start_bird(&dir, "bird-1", bird_port);
    let mut f = start_frr(&dir, "frr-1", bird_port, &station);

    // Peer Up, then the pre-policy Adj-RIB-In: every route bird sent.
    let ctx = || logs(&f, &b);
    expect_event(&mut rx, "SessionUp", &ctx, is_bird_up).await;
    let mut table = Table::new();
    table_until(&mut rx, &mut table, &expected(), "pre-policy routes", &ctx).await;
    wait_frr_peer_up(&f);

    let stats = station.stats().snapshot();
    let r = stats.get(&ROUTER).expect("router counters");
    assert_eq!(r.sys_name.as_deref(), Some("bugyo-frr"), "{r:?}");
    assert!(r.connected && r.connections == 1, "{r:?}");
    assert_eq!((r.errors, r.broken), (0, 0), "{r:?}");
    assert!(r.fed >= 3, "{r:?}");
    assert!(r.local_as_removed >= 3, "{r:?}");
    // Post-policy Route Monitoring is counted, never fed (the table above
    // had no duplicate or stray routes). FRR may send it a little after
    // the pre-policy one.
    let deadline = std::time::Instant::now() + WAIT;
    while station.stats().snapshot()[&ROUTER].other_views < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no post-policy messages: {:?}\n{}",
            station.stats().snapshot(),
            ctx()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // bird killed: FRR's session with it drops, Peer Down ends ours.
    b.kill();
    let ctx = || logs(&f, &b);
    let ev = expect_event(&mut rx, "SessionDown after bird killed", &ctx, is_bird_down).await;
    let FeedEvent::SessionDown { reason, .. } = ev else {
        unreachable!()
    };
    assert!(reason.contains("Peer Down"), "{reason}");

    // bird back: Peer Up again and the routes again.
    let b2 = start_bird(&dir, "bird-2", bird_port);
    let ctx = || logs(&f, &b2);
    expect_event(&mut rx, "SessionUp after bird back", &ctx, is_bird_up).await;
    let mut table = Table::new();
    table_until(&mut rx, &mut table, &expected(), "routes again", &ctx).await;

    // FRR killed: the BMP connection is lost, which ends bird's session
    // as the station saw it.
    f.kill();
    let ctx = || logs(&f, &b2);
    let ev = expect_event(&mut rx, "SessionDown after FRR killed", &ctx, is_bird_down).await;
    let FeedEvent::SessionDown { reason, .. } = ev else {
        unreachable!()
    };
    assert!(reason.contains("disconnected"), "{reason}");
    let r = station.stats().snapshot()[&ROUTER].clone();
    assert!(!r.connected, "{r:?}");

    // FRR back: a new connection, with its Initiation and routes.
    let f2 = start_frr(&dir, "frr-2", bird_port, &station);
    let ctx = || logs(&f2, &b2);
    expect_event(&mut rx, "SessionUp after FRR back", &ctx, is_bird_up).await;
    let mut table = Table::new();
    table_until(
        &mut rx,
        &mut table,
        &expected(),
        "routes from FRR again",
        &ctx,
    )
    .await;
    let r = station.stats().snapshot()[&ROUTER].clone();
    assert!(r.connected && r.connections == 2, "{r:?}");
    assert_eq!((r.errors, r.broken), (0, 0), "{r:?}");
    station.shutdown();
}
