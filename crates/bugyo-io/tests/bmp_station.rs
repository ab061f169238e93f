//! The BMP station over live TCP connections on loopback: malformed input,
//! routers that reconnect, and routers that share a neighbour address.
//!
//! Malformed input: RFC 7854 frames every message by the length in its common
//! header, so: RFC 7854 frames every message by the length in its common
//! header, so:
//!
//! - a bad message inside sound framing (unknown type, a Route Monitoring
//!   whose BGP UPDATE is cut short) is skipped and counted in `errors`; the
//!   connection stays open and the messages around it are fed;
//! - a common header whose length cannot be right (below the header's own
//!   6 bytes, or absurdly long) loses the framing: the station counts it in
//!   `errors` and `broken`, closes that connection and ends its peers'
//!   sessions, and keeps accepting new connections;
//! - a connection that ends inside a message is counted as broken too.
//!
//! Also checked: a Peer Down ends the session even when its per-peer
//! header has the L (post-policy) flag set.

use bugyo_formats::bgp::{cap_asn4, cap_multiprotocol, encode_open, Open};
use bugyo_io::bmp::{self, BmpHandle, RouterStats};
use bugyo_io::feed::FeedEvent;
use bugyo_testdata::gobgp::WAIT;
use std::net::{IpAddr, Ipv4Addr};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::timeout;

/// The monitored peer the messages describe (data only: nothing connects
/// to it).
const PEER_AS: u32 = 64500;
const PEER_ADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The router's own AS in its Peer Up.
const ROUTER_AS: u32 = 65020;
const ROUTER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A BMP message: common header (version 3, length, type) and body.
fn bmp(ty: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(6 + body.len()).expect("short message");
    let mut m = vec![3];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

/// An information TLV.
fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
    let mut t = kind.to_be_bytes().to_vec();
    t.extend_from_slice(&u16::try_from(value.len()).expect("short").to_be_bytes());
    t.extend_from_slice(value);
    t
}

/// Initiation with a sysDescr and a sysName.
fn initiation(name: &str) -> Vec<u8> {
    let mut body = tlv(1, b"bugyo test router");
    body.extend(tlv(2, name.as_bytes()));
    bmp(4, &body)
}

/// The per-peer header of the peer (global instance, IPv4, 4-byte ASNs)
/// with `flags` (0x40: post-policy).
fn peer_header(flags: u8) -> Vec<u8> {
    let mut h = vec![0, flags];
    h.extend_from_slice(&[0; 8]); // distinguisher
    h.extend_from_slice(&[0; 12]);
    h.extend_from_slice(&PEER_ADDR.octets());
    h.extend_from_slice(&PEER_AS.to_be_bytes());
    h.extend_from_slice(&PEER_ADDR.octets()); // BGP identifier
    h.extend_from_slice(&[0; 8]); // timestamp
    h
}

fn open(asn: u32, id: Ipv4Addr) -> Vec<u8> {
    let mut out = Vec::new();
    let caps = vec![cap_multiprotocol(1, 1), cap_asn4(asn)];
    assert!(encode_open(&Open::new(asn, 90, id, caps), &mut out));
    out
}

/// Peer Up: local address and ports, the router's OPEN and the peer's.
fn peer_up() -> Vec<u8> {
    let mut body = peer_header(0);
    body.extend_from_slice(&[0; 12]);
    body.extend_from_slice(&[192, 0, 2, 2]);
    body.extend_from_slice(&179u16.to_be_bytes());
    body.extend_from_slice(&40000u16.to_be_bytes());
    body.extend(open(ROUTER_AS, Ipv4Addr::new(192, 0, 2, 2)));
    body.extend(open(PEER_AS, PEER_ADDR));
    bmp(3, &body)
}

/// Peer Down, reason 4 (closed by the remote side without a
/// NOTIFICATION), with `flags` in its per-peer header.
fn peer_down(flags: u8) -> Vec<u8> {
    let mut body = peer_header(flags);
    body.push(4);
    bmp(2, &body)
}

/// A BGP UPDATE message announcing the /24 `net` with AS path `path`.
fn update(net: [u8; 3], path: &[u32]) -> Vec<u8> {
    let mut attrs = vec![0x40, 1, 1, 0]; // ORIGIN IGP
    let seg_len = u8::try_from(2 + 4 * path.len()).expect("short path");
    attrs.extend_from_slice(&[
        0x40,
        2,
        seg_len,
        2,
        u8::try_from(path.len()).expect("short"),
    ]);
    for a in path {
        attrs.extend_from_slice(&a.to_be_bytes());
    }
    attrs.extend_from_slice(&[0x40, 3, 4, 192, 0, 2, 1]); // NEXT_HOP
    let mut body = vec![0, 0]; // no withdrawn routes
    body.extend_from_slice(&u16::try_from(attrs.len()).expect("short").to_be_bytes());
    body.extend(attrs);
    body.push(24);
    body.extend_from_slice(&net);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).expect("short").to_be_bytes());
    m.push(2);
    m.extend(body);
    m
}

/// Route Monitoring (pre-policy) of `update`.
fn route_monitoring(update: &[u8]) -> Vec<u8> {
    let mut body = peer_header(0);
    body.extend_from_slice(update);
    bmp(0, &body)
}

async fn connect(station: &BmpHandle) -> TcpStream {
    connect_from(station, ROUTER).await
}

/// A connection from the loopback address `router` (any of 127/8).
async fn connect_from(station: &BmpHandle, router: IpAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::new(router, 0))
        .expect("bind");
    timeout(WAIT, socket.connect(station.local_addr()))
        .await
        .expect("connect in time")
        .expect("connect")
}

async fn send(s: &mut TcpStream, bytes: &[u8]) {
    timeout(WAIT, s.write_all(bytes))
        .await
        .expect("write in time")
        .expect("write");
}

/// The next event, within [`WAIT`].
async fn next(rx: &mut mpsc::Receiver<FeedEvent>, what: &str) -> FeedEvent {
    match timeout(WAIT, rx.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("feed closed waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// The next event must be an Update announcing `prefix` from the peer,
/// with `path`.
async fn expect_route(rx: &mut mpsc::Receiver<FeedEvent>, prefix: &str, path: &str) {
    expect_route_via(rx, ROUTER, prefix, path).await;
}

/// [`expect_route`] from the peer as seen by `router`.
async fn expect_route_via(
    rx: &mut mpsc::Receiver<FeedEvent>,
    router: IpAddr,
    prefix: &str,
    path: &str,
) {
    let ev = next(rx, prefix).await;
    let FeedEvent::Update(u) = ev else {
        panic!("waiting for {prefix}: unexpected {ev:?}")
    };
    assert_eq!(
        (u.peer.asn.0, u.peer.addr, u.peer.via),
        (PEER_AS, IpAddr::V4(PEER_ADDR), Some(router))
    );
    let got: Vec<String> = u.announced.iter().map(|n| n.prefix.to_string()).collect();
    assert_eq!(got, [prefix]);
    let attrs = u.attrs.expect("attributes");
    assert_eq!(attrs.as_path.to_string(), path);
}

async fn expect_up(rx: &mut mpsc::Receiver<FeedEvent>) {
    let ev = next(rx, "SessionUp").await;
    assert!(
        matches!(ev, FeedEvent::SessionUp { peer, .. } if peer.asn.0 == PEER_AS),
        "{ev:?}"
    );
}

/// The next event must be the peer's SessionDown; returns its reason.
async fn expect_down(rx: &mut mpsc::Receiver<FeedEvent>) -> String {
    let ev = next(rx, "SessionDown").await;
    match ev {
        FeedEvent::SessionDown { peer, reason, .. } if peer.asn.0 == PEER_AS => reason,
        ev => panic!("not the peer's SessionDown: {ev:?}"),
    }
}

/// The station closes `s`: a read gives end of file within [`WAIT`].
async fn expect_closed(s: &mut TcpStream) {
    let mut b = [0u8; 16];
    match timeout(WAIT, s.read(&mut b)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("station sent {n} bytes"),
        Err(_) => panic!("station did not close the connection"),
    }
}

fn stats(station: &BmpHandle) -> RouterStats {
    station.stats().snapshot()[&ROUTER].clone()
}

/// Waits (at most [`WAIT`]) until the router's counters satisfy `done`.
async fn stats_until(station: &BmpHandle, what: &str, done: impl Fn(&RouterStats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(&stats(station)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {:?}",
            stats(station)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn bad_messages_are_skipped_bad_framing_closes_the_connection() {
    let (tx, mut rx) = mpsc::channel(64);
    let station = bmp::start("127.0.0.1:0".parse().unwrap(), tx)
        .await
        .expect("start station");

    // Connection 1: sound messages, then bad ones inside sound framing.
    let mut s = connect(&station).await;
    let mut bytes = initiation("raw-1");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 1, 0], &[64500, 64501])));
    send(&mut s, &bytes).await;
    expect_up(&mut rx).await;
    expect_route(&mut rx, "10.1.0.0/24", "64500 64501").await;
    let st = stats(&station);
    assert_eq!(st.sys_name.as_deref(), Some("raw-1"));
    assert_eq!((st.messages, st.fed, st.errors, st.broken), (3, 1, 0, 0));

    // An unknown message type (framing sound): skipped, the next one fed.
    let mut bytes = bmp(9, b"not a BMP message of RFC 7854");
    bytes.extend(route_monitoring(&update(
        [10, 2, 0],
        &[64500, 4_200_000_001],
    )));
    send(&mut s, &bytes).await;
    expect_route(&mut rx, "10.2.0.0/24", "64500 4200000001").await;
    assert_eq!((stats(&station).errors, stats(&station).broken), (1, 0));

    // A Route Monitoring whose BGP UPDATE is cut (its BGP length says more
    // than the BMP message holds): skipped, the next one fed.
    let full = update([10, 3, 0], &[64500]);
    let mut bytes = route_monitoring(&full[..full.len() - 3]);
    bytes.extend(route_monitoring(&update([10, 4, 0], &[64500, 64502])));
    send(&mut s, &bytes).await;
    expect_route(&mut rx, "10.4.0.0/24", "64500 64502").await;
    let st = stats(&station);
    assert_eq!((st.errors, st.broken, st.fed), (2, 0, 3), "{st:?}");
    assert!(st.connected);

    // A common header with a length below its own 6 bytes: the framing is
    // lost. The connection is closed and the peer's session ends.
    send(&mut s, &[3, 0, 0, 0, 3, 0]).await;
    let reason = expect_down(&mut rx).await;
    assert!(reason.contains("disconnected"), "{reason}");
    expect_closed(&mut s).await;
    stats_until(&station, "connection 1 closed", |st| !st.connected).await;
    let st = stats(&station);
    assert_eq!((st.errors, st.broken, st.connections), (3, 1, 1), "{st:?}");

    // Connection 2 works as the first did; then a Peer Down with the L
    // flag set ends the session (the flag is about Route Monitoring views).
    let mut s2 = connect(&station).await;
    let mut bytes = initiation("raw-2");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 5, 0], &[64500])));
    send(&mut s2, &bytes).await;
    expect_up(&mut rx).await;
    expect_route(&mut rx, "10.5.0.0/24", "64500").await;
    let st = stats(&station);
    assert!(st.connected && st.connections == 2, "{st:?}");
    assert_eq!(st.sys_name.as_deref(), Some("raw-2"));
    send(&mut s2, &peer_down(0x40)).await;
    let reason = expect_down(&mut rx).await;
    assert!(reason.contains("Peer Down"), "{reason}");

    // An absurdly long message: framing lost, connection closed.
    send(&mut s2, &[3, 0xff, 0xff, 0xff, 0xff, 0]).await;
    expect_closed(&mut s2).await;
    stats_until(&station, "connection 2 closed", |st| !st.connected).await;
    assert_eq!((stats(&station).errors, stats(&station).broken), (4, 2));

    // Connection 3 ends inside a message: counted as broken.
    let mut s3 = connect(&station).await;
    let mut bytes = initiation("raw-3");
    bytes.extend(peer_up());
    let rm = route_monitoring(&update([10, 6, 0], &[64500]));
    bytes.extend_from_slice(&rm[..rm.len() - 5]);
    send(&mut s3, &bytes).await;
    expect_up(&mut rx).await;
    drop(s3);
    let reason = expect_down(&mut rx).await;
    assert!(reason.contains("disconnected"), "{reason}");
    stats_until(&station, "connection 3 counted", |st| {
        !st.connected && st.broken == 3
    })
    .await;
    let st = stats(&station);
    assert_eq!((st.errors, st.connections, st.fed), (5, 3, 4), "{st:?}");
    station.shutdown();
}

/// A router that reconnects before its old connection is seen to end: the
/// new connection takes the peer over, so the old one's end does not end
/// the peer's session (its routes stay); the new one's end does.
#[tokio::test]
async fn a_reconnected_router_keeps_its_peers_when_the_old_connection_ends() {
    let (tx, mut rx) = mpsc::channel(64);
    let station = bmp::start("127.0.0.1:0".parse().unwrap(), tx)
        .await
        .expect("start station");
    let mut old = connect(&station).await;
    let mut bytes = initiation("rtr");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 1, 0], &[64500, 64501])));
    send(&mut old, &bytes).await;
    expect_up(&mut rx).await;
    expect_route(&mut rx, "10.1.0.0/24", "64500 64501").await;

    // The router comes back on a new connection; the old one lingers.
    let mut new = connect(&station).await;
    let mut bytes = initiation("rtr");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 2, 0], &[64500, 64502])));
    send(&mut new, &bytes).await;
    expect_up(&mut rx).await;
    expect_route(&mut rx, "10.2.0.0/24", "64500 64502").await;

    // The old connection ends: nothing for the peer.
    drop(old);
    stats_until(&station, "old connection gone", |s| s.open_connections == 1).await;
    send(
        &mut new,
        &route_monitoring(&update([10, 3, 0], &[64500, 64503])),
    )
    .await;
    expect_route(&mut rx, "10.3.0.0/24", "64500 64503").await;

    // The new one ends: now the session is over.
    drop(new);
    let reason = expect_down(&mut rx).await;
    assert!(reason.contains("disconnected"), "{reason}");
}

/// Two routers, each with a neighbour at the same address and AS: two
/// peers (each carries its router), whose routes stay apart in the RIB;
/// one router going away ends only its own peer's session, and the archive
/// keeps them apart too.
#[tokio::test]
async fn routers_sharing_a_neighbour_address_have_separate_peers() {
    use bugyo_detect::{Engine, EngineConfig, Reference};
    use bugyo_formats::mrt::{MrtReader, MrtWriter};
    use bugyo_model::Prefix;

    let (tx, mut rx) = mpsc::channel(64);
    let station = bmp::start("127.0.0.1:0".parse().unwrap(), tx)
        .await
        .expect("start station");
    let other: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut events = Vec::new();
    let mut a = connect(&station).await;
    let mut bytes = initiation("rtr-a");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 1, 0], &[64500, 64501])));
    send(&mut a, &bytes).await;
    events.push(next(&mut rx, "router A's SessionUp").await);
    expect_route_via(&mut rx, ROUTER, "10.1.0.0/24", "64500 64501").await;
    let mut b = connect_from(&station, other).await;
    let mut bytes = initiation("rtr-b");
    bytes.extend(peer_up());
    bytes.extend(route_monitoring(&update([10, 1, 0], &[64500, 64502])));
    send(&mut b, &bytes).await;
    events.push(next(&mut rx, "router B's SessionUp").await);
    expect_route_via(&mut rx, other, "10.1.0.0/24", "64500 64502").await;
    drop(a);
    let down = next(&mut rx, "router A's SessionDown").await;
    assert!(
        matches!(&down, FeedEvent::SessionDown { peer, .. } if peer.via == Some(ROUTER)),
        "{down:?}"
    );
    send(
        &mut b,
        &route_monitoring(&update([10, 2, 0], &[64500, 64503])),
    )
    .await;
    expect_route_via(&mut rx, other, "10.2.0.0/24", "64500 64503").await;

    // The same events again, with the routes, through the archive format
    // and the engine: B's routes outlive A's session.
    let peer = |router| {
        bugyo_model::Peer::new(bugyo_model::Asn(PEER_AS), IpAddr::V4(PEER_ADDR)).via(router)
    };
    assert!(matches!(&events[0], FeedEvent::SessionUp { peer: p, .. } if *p == peer(ROUTER)));
    assert!(matches!(&events[1], FeedEvent::SessionUp { peer: p, .. } if *p == peer(other)));
    let mut w = MrtWriter::new(Vec::new());
    let route = |router, net: &str, path: &[u32]| {
        FeedEvent::Update(bugyo_formats::mrt::UpdateEntry {
            time: bugyo_io::feed::now(),
            extended: true,
            peer: peer(router),
            announced: vec![bugyo_formats::bgp::Nlri {
                prefix: net.parse::<Prefix>().unwrap(),
                path_id: None,
            }],
            attrs: Some(std::sync::Arc::new(bugyo_model::PathAttributes {
                as_path: bugyo_model::AsPath::from_sequence(path.iter().copied()),
                ..Default::default()
            })),
            ..Default::default()
        })
    };
    for ev in [
        events[0].clone(),
        route(ROUTER, "10.1.0.0/24", &[64500, 64501]),
        events[1].clone(),
        route(other, "10.1.0.0/24", &[64500, 64502]),
        down,
    ] {
        w.write_entry(&ev.into_mrt()).expect("write");
    }
    let mut engine = Engine::new(Reference::default(), EngineConfig::default());
    for e in MrtReader::new(std::io::Cursor::new(w.into_inner().expect("flush"))) {
        bugyo_io::feed::apply(&mut engine, &e.expect("archived records read back"));
    }
    let rib = engine.rib();
    let held: Vec<(bugyo_model::Peer, u64)> =
        rib.peers().iter().map(|p| (p.peer, p.routes)).collect();
    assert_eq!(held, vec![(peer(ROUTER), 0), (peer(other), 1)]);
}
