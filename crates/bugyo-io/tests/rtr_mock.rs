//! The RTR client against a scripted cache on loopback: version fallback to
//! RFC 6810, serial and reset handling, ASPA records of version 2, and a
//! corrupt stream. Every read and wait is bounded.

use bugyo_formats::rtr::{error_code, Pdu, Timing};
use bugyo_io::rtr::{RpkiSnapshot, RtrClient, RtrConfig, RtrEvent};
use bugyo_model::{Asn, Aspa, Prefix, Vrp};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
    let (a, l) = prefix.split_once('/').expect("prefix with a length");
    Vrp {
        prefix: Prefix::new(a.parse().expect("address"), l.parse().expect("length"))
            .expect("prefix"),
        max_len,
        asn: Asn(asn),
    }
}

fn config(port: u16, version: u8) -> RtrConfig {
    let mut cfg = RtrConfig::new(format!("127.0.0.1:{port}"));
    cfg.version = version;
    cfg.connect_timeout = Duration::from_secs(1);
    cfg.response_timeout = Duration::from_secs(2);
    cfg.backoff_min = Duration::from_millis(50);
    cfg.backoff_max = Duration::from_millis(200);
    cfg
}

async fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("address").port();
    (l, port)
}

async fn accept(l: &TcpListener) -> TcpStream {
    timeout(WAIT, l.accept())
        .await
        .expect("client connects in time")
        .expect("accept")
        .0
}

async fn read_pdu(s: &mut TcpStream) -> Pdu {
    let mut head = [0u8; 8];
    timeout(WAIT, s.read_exact(&mut head))
        .await
        .expect("PDU in time")
        .expect("read header");
    let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
    assert!((8..=65536).contains(&len), "bad length {len}");
    let mut b = head.to_vec();
    b.resize(len, 0);
    timeout(WAIT, s.read_exact(&mut b[8..]))
        .await
        .expect("PDU body in time")
        .expect("read body");
    Pdu::decode(&b).expect("client sends valid PDUs")
}

async fn send(s: &mut TcpStream, pdus: &[Pdu]) {
    let mut out = Vec::new();
    for p in pdus {
        p.encode(&mut out);
    }
    s.write_all(&out).await.expect("write");
}

async fn wait_snap(
    rx: &mut watch::Receiver<Arc<RpkiSnapshot>>,
    pred: impl FnMut(&Arc<RpkiSnapshot>) -> bool,
) -> Arc<RpkiSnapshot> {
    let got = match timeout(WAIT, rx.wait_for(pred)).await {
        Ok(Ok(v)) => Some(v.clone()),
        _ => None,
    };
    got.unwrap_or_else(|| panic!("snapshot not reached; have {:?}", rx.borrow()))
}

async fn wait_event(rx: &mut broadcast::Receiver<RtrEvent>, pred: impl Fn(&RtrEvent) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    for _ in 0..1000 {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(e)) if pred(&e) => return,
            Ok(Ok(e)) => seen.push(e),
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            _ => break,
        }
    }
    panic!("event not seen; saw {seen:?}");
}

#[tokio::test]
async fn falls_back_to_version_0_then_serial_and_reset() {
    let (l, port) = listen().await;
    let client = RtrClient::spawn(config(port, 1));
    let mut events = client.events();
    let mut snaps = client.snapshot();

    // A version-0 cache refuses version 1.
    let mut s = accept(&l).await;
    let q = read_pdu(&mut s).await;
    assert_eq!(q, Pdu::ResetQuery { version: 1 });
    send(
        &mut s,
        &[Pdu::ErrorReport {
            version: 0,
            code: error_code::UNSUPPORTED_VERSION,
            pdu: q.to_bytes(),
            text: "version 0 only".into(),
        }],
    )
    .await;
    drop(s);
    wait_event(&mut events, |e| *e == RtrEvent::Downgraded { version: 0 }).await;

    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, Pdu::ResetQuery { version: 0 });
    let a = vrp("192.0.2.0/24", 24, 65001);
    let b = vrp("2001:db8::/32", 48, 65002);
    let c = vrp("198.51.100.0/24", 24, 65003);
    let eod = |serial| Pdu::EndOfData {
        version: 0,
        session_id: 7,
        serial,
        timing: None,
    };
    let pfx = |announce, vrp| Pdu::Prefix {
        version: 0,
        announce,
        vrp,
    };
    let resp = Pdu::CacheResponse {
        version: 0,
        session_id: 7,
    };
    send(&mut s, &[resp.clone(), pfx(true, a), pfx(true, b), eod(3)]).await;
    let snap = wait_snap(&mut snaps, |s| s.serial == 3).await;
    assert_eq!(snap.vrps, vec![a, b]);
    assert_eq!(client.status().borrow().version, Some(0));

    // Serial Notify: the client asks for the changes since serial 3.
    send(
        &mut s,
        &[Pdu::SerialNotify {
            version: 0,
            session_id: 7,
            serial: 4,
        }],
    )
    .await;
    assert_eq!(
        read_pdu(&mut s).await,
        Pdu::SerialQuery {
            version: 0,
            session_id: 7,
            serial: 3
        }
    );
    send(&mut s, &[resp.clone(), pfx(false, a), pfx(true, c), eod(4)]).await;
    let snap = wait_snap(&mut snaps, |s| s.serial == 4).await;
    assert_eq!(snap.vrps, vec![c, b]);

    // Cache Reset: the client fetches everything again.
    send(&mut s, &[Pdu::CacheReset { version: 0 }]).await;
    assert_eq!(read_pdu(&mut s).await, Pdu::ResetQuery { version: 0 });
    send(&mut s, &[resp, pfx(true, a), eod(9)]).await;
    let snap = wait_snap(&mut snaps, |s| s.serial == 9).await;
    assert_eq!(snap.vrps, vec![a]);
    client.shutdown().await;
}

#[tokio::test]
async fn version_2_carries_aspa_records() {
    let (l, port) = listen().await;
    let client = RtrClient::spawn(config(port, 2));
    let mut snaps = client.snapshot();
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, Pdu::ResetQuery { version: 2 });
    let aspa = |announce, customer, providers: &[u32]| Pdu::Aspa {
        version: 2,
        announce,
        afi_flags: 3,
        customer: Asn(customer),
        providers: providers.iter().copied().map(Asn).collect(),
    };
    let eod = |serial| Pdu::EndOfData {
        version: 2,
        session_id: 1,
        serial,
        timing: Some(Timing {
            refresh: 60,
            retry: 10,
            expire: 600,
        }),
    };
    let resp = Pdu::CacheResponse {
        version: 2,
        session_id: 1,
    };
    send(
        &mut s,
        &[
            resp.clone(),
            Pdu::Prefix {
                version: 2,
                announce: true,
                vrp: vrp("192.0.2.0/24", 24, 65001),
            },
            aspa(true, 65001, &[65020, 65010]),
            aspa(true, 65002, &[65010]),
            eod(1),
        ],
    )
    .await;
    let snap = wait_snap(&mut snaps, |s| s.serial == 1).await;
    assert_eq!(
        snap.aspas,
        vec![
            Aspa {
                customer: Asn(65001),
                providers: vec![Asn(65010), Asn(65020)]
            },
            Aspa {
                customer: Asn(65002),
                providers: vec![Asn(65010)]
            },
        ]
    );
    send(
        &mut s,
        &[Pdu::SerialNotify {
            version: 2,
            session_id: 1,
            serial: 2,
        }],
    )
    .await;
    assert!(matches!(
        read_pdu(&mut s).await,
        Pdu::SerialQuery { serial: 1, .. }
    ));
    send(&mut s, &[resp, aspa(false, 65001, &[]), eod(2)]).await;
    let snap = wait_snap(&mut snaps, |s| s.serial == 2).await;
    assert_eq!(snap.aspas.len(), 1);
    assert_eq!(snap.vrps.len(), 1);
    client.shutdown().await;
}

#[tokio::test]
async fn corrupt_stream_is_reported_and_reconnected() {
    let (l, port) = listen().await;
    let client = RtrClient::spawn(config(port, 1));
    let mut events = client.events();
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, Pdu::ResetQuery { version: 1 });
    // A header with an impossible length.
    s.write_all(&[1, 3, 0, 1, 0xff, 0xff, 0xff, 0xff])
        .await
        .expect("write");
    match read_pdu(&mut s).await {
        Pdu::ErrorReport { code, text, .. } => {
            assert_eq!(code, error_code::CORRUPT_DATA);
            assert!(text.contains("length"), "{text}");
        }
        other => panic!("expected an Error Report, got {other:?}"),
    }
    wait_event(
        &mut events,
        |e| matches!(e, RtrEvent::Disconnected { reason } if reason.contains("length")),
    )
    .await;
    // The client comes back, asking for everything again.
    let mut s = accept(&l).await;
    assert_eq!(read_pdu(&mut s).await, Pdu::ResetQuery { version: 1 });
    assert!(!client.stale());
    client.shutdown().await;
}
