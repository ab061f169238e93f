//! The BGP speaker against hand-written messages over a plain TCP stream:
//! header errors, an RFC 7606 treat-as-withdraw UPDATE, a bad peer AS, an
//! unconfigured address, and the graceful restart helper.

use bugyo_formats::bgp::{
    cap_asn4, cap_graceful_restart, encode_end_of_rib, encode_keepalive, encode_open,
    GracefulRestart, Open,
};
use bugyo_io::bgp::{self, BgpConfig, BgpHandle, PeerConfig, SessionState};
use bugyo_io::feed::FeedEvent;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

const WAIT: Duration = Duration::from_secs(20);
const PEER_AS: u32 = 65001;

async fn speaker(peer: IpAddr) -> (BgpHandle, mpsc::Receiver<FeedEvent>, SocketAddr) {
    let (tx, rx) = mpsc::channel(256);
    let cfg = BgpConfig {
        local_asn: 65000,
        router_id: Ipv4Addr::new(192, 0, 2, 1),
        listen: Some("127.0.0.1:0".parse().expect("address")),
        peers: vec![PeerConfig {
            asn: PEER_AS,
            addr: peer,
            port: None,
            active: false,
        }],
        hold_time: 30,
    };
    let h = bgp::start(cfg, tx).await.expect("start speaker");
    let addr = h.local_addr().expect("listener");
    (h, rx, addr)
}

/// Reads one message: (type, body); `None` at end of stream.
async fn read_msg(s: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut h = [0u8; 19];
    timeout(WAIT, s.read_exact(&mut h))
        .await
        .expect("timed out reading")
        .ok()?;
    let len = usize::from(u16::from_be_bytes([h[16], h[17]]));
    let mut body = vec![0u8; len.saturating_sub(19)];
    timeout(WAIT, s.read_exact(&mut body))
        .await
        .expect("timed out reading")
        .ok()?;
    Some((h[18], body))
}

/// Reads until a NOTIFICATION, returns (code, subcode), then expects EOF.
async fn expect_notification(s: &mut TcpStream) -> (u8, u8) {
    loop {
        match read_msg(s).await {
            Some((3, b)) => {
                assert!(read_msg(s).await.is_none(), "connection not closed");
                return (b[0], b[1]);
            }
            Some(_) => continue,
            None => panic!("closed without NOTIFICATION"),
        }
    }
}

fn open(asn: u32, gr: Option<u16>) -> Vec<u8> {
    let mut caps = vec![cap_asn4(asn)];
    if let Some(t) = gr {
        caps.push(cap_graceful_restart(&GracefulRestart {
            restart_state: false,
            restart_time: t,
            families: vec![(1, 1, true)],
        }));
    }
    let mut out = Vec::new();
    assert!(encode_open(
        &Open::new(asn, 30, Ipv4Addr::new(192, 0, 2, 99), caps),
        &mut out
    ));
    out
}

fn keepalive() -> Vec<u8> {
    let mut out = Vec::new();
    encode_keepalive(&mut out);
    out
}

/// An UPDATE body → whole message.
fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).expect("short").to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

/// ORIGIN IGP, AS_PATH [65001 64500] (4-byte), NEXT_HOP 127.0.0.1, then NLRI.
fn announce(origin: u8, prefixes: &[[u8; 4]]) -> Vec<u8> {
    let attrs: Vec<u8> = [
        &[0x40, 1, 1, origin][..],
        &[0x40, 2, 10, 2, 2, 0, 0, 0xfd, 0xe9, 0, 0, 0xfb, 0xf4],
        &[0x40, 3, 4, 127, 0, 0, 1],
    ]
    .concat();
    let mut body = vec![0, 0];
    body.extend_from_slice(&u16::try_from(attrs.len()).expect("short").to_be_bytes());
    body.extend_from_slice(&attrs);
    for p in prefixes {
        body.push(24);
        body.extend_from_slice(&p[..3]);
    }
    message(2, &body)
}

async fn next_event(rx: &mut mpsc::Receiver<FeedEvent>) -> FeedEvent {
    timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for an event")
        .expect("feed closed")
}

/// Connects and completes the handshake; expects SessionUp unless `restart`.
async fn establish(addr: SocketAddr, gr: Option<u16>) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let (ty, _) = read_msg(&mut s).await.expect("OPEN from the speaker");
    assert_eq!(ty, 1);
    s.write_all(&open(PEER_AS, gr)).await.expect("send OPEN");
    let (ty, _) = read_msg(&mut s).await.expect("KEEPALIVE");
    assert_eq!(ty, 4);
    s.write_all(&keepalive()).await.expect("send KEEPALIVE");
    s
}

fn prefixes(v: &[bugyo_formats::bgp::Nlri]) -> Vec<String> {
    let mut p: Vec<String> = v.iter().map(|n| n.prefix.to_string()).collect();
    p.sort();
    p
}

#[tokio::test]
async fn header_errors_get_notifications() {
    let (h, _rx, addr) = speaker(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    // Bad marker.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut bad = keepalive();
    bad[0] = 0;
    s.write_all(&bad).await.expect("send");
    assert_eq!(expect_notification(&mut s).await, (1, 1));
    // Bad length (a KEEPALIVE of 20 bytes), after the peer's task noticed.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&message(4, &[0])).await.expect("send");
    assert_eq!(expect_notification(&mut s).await, (1, 2));
    // Bad type.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&message(9, &[])).await.expect("send");
    assert_eq!(expect_notification(&mut s).await, (1, 3));
    // Wrong peer AS in the OPEN.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(&open(65099, None)).await.expect("send");
    assert_eq!(expect_notification(&mut s).await, (2, 2));
    let st = &h.stats().snapshot()[0].1;
    assert_eq!(st.errors.get("header"), Some(&3), "{st:?}");
    assert_eq!(st.errors.get("open"), Some(&1));
    h.shutdown().await;
}

#[tokio::test]
async fn unconfigured_address_is_refused() {
    // The only peer is ::1; the connection comes from 127.0.0.1.
    let (h, _rx, addr) = speaker(IpAddr::V6(Ipv6Addr::LOCALHOST)).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    assert_eq!(expect_notification(&mut s).await, (6, 5));
    h.shutdown().await;
}

#[tokio::test]
async fn treat_as_withdraw_keeps_the_session() {
    let (h, mut rx, addr) = speaker(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let mut s = establish(addr, None).await;
    assert!(matches!(
        next_event(&mut rx).await,
        FeedEvent::SessionUp { .. }
    ));
    s.write_all(&announce(0, &[[192, 0, 2, 0]]))
        .await
        .expect("send");
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update")
    };
    assert_eq!(prefixes(&u.announced), ["192.0.2.0/24"]);
    assert_eq!(
        u.attrs.as_ref().map(|a| a.as_path.to_string()).as_deref(),
        Some("65001 64500")
    );
    assert_eq!(u.local.map(|l| l.asn.0), Some(65000));
    // ORIGIN 9 is malformed: RFC 7606 says treat-as-withdraw.
    s.write_all(&announce(9, &[[192, 0, 2, 0]]))
        .await
        .expect("send");
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update")
    };
    assert!(u.treat_as_withdraw && u.attrs.is_none() && u.announced.is_empty());
    assert_eq!(prefixes(&u.withdrawn), ["192.0.2.0/24"]);
    // Still up: a further UPDATE is taken.
    s.write_all(&announce(0, &[[198, 51, 100, 0]]))
        .await
        .expect("send");
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update")
    };
    assert_eq!(prefixes(&u.announced), ["198.51.100.0/24"]);
    let st = &h.stats().snapshot()[0].1;
    assert_eq!(st.state, SessionState::Established);
    assert_eq!(st.errors.get("treat-as-withdraw"), Some(&1));
    h.shutdown().await;
    assert!(matches!(
        next_event(&mut rx).await,
        FeedEvent::SessionDown { .. }
    ));
    assert_eq!(expect_notification(&mut s).await, (6, 2));
}

#[tokio::test]
async fn graceful_restart_keeps_routes() {
    let (h, mut rx, addr) = speaker(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let mut s = establish(addr, Some(2)).await;
    assert!(matches!(
        next_event(&mut rx).await,
        FeedEvent::SessionUp { .. }
    ));
    s.write_all(&announce(0, &[[192, 0, 2, 0], [198, 51, 100, 0]]))
        .await
        .expect("send");
    assert!(matches!(next_event(&mut rx).await, FeedEvent::Update(_)));
    // The TCP connection drops without a NOTIFICATION: a restart.
    drop(s);
    assert!(
        timeout(Duration::from_millis(700), rx.recv())
            .await
            .is_err(),
        "no event while the peer restarts"
    );
    assert_eq!(h.stats().snapshot()[0].1.state, SessionState::Restarting);
    // Back: one route announced again, then End-of-RIB drops the other.
    let mut s = establish(addr, Some(2)).await;
    s.write_all(&announce(0, &[[192, 0, 2, 0]]))
        .await
        .expect("send");
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update (no second SessionUp expected)")
    };
    assert_eq!(prefixes(&u.announced), ["192.0.2.0/24"]);
    let mut eor = Vec::new();
    encode_end_of_rib(1, 1, &mut eor);
    s.write_all(&eor).await.expect("send");
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update")
    };
    assert!(
        u.announced.is_empty() && u.withdrawn.is_empty(),
        "the End-of-RIB itself"
    );
    let FeedEvent::Update(u) = next_event(&mut rx).await else {
        panic!("not an update")
    };
    assert_eq!(prefixes(&u.withdrawn), ["198.51.100.0/24"]);
    // Dropped again and not back within the 2 s restart time: down.
    drop(s);
    let start = Instant::now();
    let FeedEvent::SessionDown { reason, .. } = next_event(&mut rx).await else {
        panic!("not SessionDown")
    };
    assert!(reason.contains("restart"), "{reason}");
    assert!(start.elapsed() >= Duration::from_millis(1500));
    h.shutdown().await;
}
