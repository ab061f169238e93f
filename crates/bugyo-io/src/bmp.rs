//! The BMP station (RFC 7854): accepts connections from any number of
//! monitored routers and turns their messages into feed events.
//!
//! Which views feed detection: a monitored peer's pre-policy Adj-RIB-In (what
//! the peer sent, as a route collector would see it) and the router's
//! Loc-RIB (RFC 9069; its routes are attributed to the router itself). Post-
//! policy and Adj-RIB-Out views (RFC 8671) are counted but not fed, so the
//! views never mix in one table. A Peer Down, a Termination or a lost
//! connection ends the sessions of the peers it concerns (their routes are
//! withdrawn: a visibility event, not a leak).

use crate::feed::{now, FeedEvent};
use bugyo_formats::bmp::{BmpBody, BmpDecoder, BmpMessage, PeerHeader, PeerType, RibView};
use bugyo_formats::mrt::UpdateEntry;
use bugyo_model::{Asn, Peer};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Counters of one monitored router.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouterStats {
    /// Its sysName from the Initiation message, if sent.
    pub sys_name: Option<String>,
    /// Connections accepted from it.
    pub connections: u64,
    /// Messages decoded.
    pub messages: u64,
    /// Route Monitoring messages fed to detection.
    pub fed: u64,
    /// Route Monitoring messages of views not fed (post-policy, Adj-RIB-Out).
    pub other_views: u64,
    /// Malformed messages skipped.
    pub errors: u64,
    /// Connections closed because the stream was broken.
    pub broken: u64,
    /// True while connected.
    pub connected: bool,
}

/// Per-router counters, shared with the metrics endpoint.
#[derive(Clone, Debug, Default)]
pub struct BmpStats(Arc<Mutex<BTreeMap<IpAddr, RouterStats>>>);

impl BmpStats {
    /// A copy of every router's counters.
    pub fn snapshot(&self) -> BTreeMap<IpAddr, RouterStats> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn update(&self, router: IpAddr, f: impl FnOnce(&mut RouterStats)) {
        if let Ok(mut m) = self.0.lock() {
            f(m.entry(router).or_default());
        }
    }
}

/// A running BMP station.
pub struct BmpHandle {
    local_addr: SocketAddr,
    stats: BmpStats,
    task: JoinHandle<()>,
}

impl BmpHandle {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The routers' counters.
    pub fn stats(&self) -> BmpStats {
        self.stats.clone()
    }

    /// Stops accepting and closes all router connections.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

/// Starts a BMP station on `listen`, sending feed events to `tx`.
pub async fn start(listen: SocketAddr, tx: mpsc::Sender<FeedEvent>) -> io::Result<BmpHandle> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let stats = BmpStats::default();
    let st = stats.clone();
    let task = tokio::spawn(async move {
        let mut routers = Vec::new();
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    tracing::info!(router = %addr, "BMP router connected");
                    routers.push(tokio::spawn(serve_router(
                        stream,
                        addr,
                        tx.clone(),
                        st.clone(),
                    )));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "BMP accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            routers.retain(|t: &JoinHandle<()>| !t.is_finished());
        }
    });
    Ok(BmpHandle {
        local_addr,
        stats,
        task,
    })
}

/// The peer a message's routes are attributed to, if its view feeds detection.
fn fed_peer(h: &PeerHeader, router: IpAddr) -> Option<Peer> {
    match h.view() {
        RibView::AdjRibInPre => Some(h.peer()),
        // Loc-RIB routes are the router's own best routes.
        RibView::LocRib if h.peer_type == PeerType::LocRib => Some(Peer {
            asn: h.asn,
            addr: router,
        }),
        _ => None,
    }
}

async fn serve_router(
    mut stream: TcpStream,
    addr: SocketAddr,
    tx: mpsc::Sender<FeedEvent>,
    stats: BmpStats,
) {
    let router = addr.ip();
    stats.update(router, |s| {
        s.connections += 1;
        s.connected = true;
    });
    let mut decoder = BmpDecoder::new();
    let mut up: BTreeSet<Peer> = BTreeSet::new();
    let mut buf = vec![0u8; 1 << 16];
    'read: loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(router = %addr, error = %e, "BMP read failed");
                break;
            }
        };
        decoder.push(&buf[..n]);
        for item in decoder.by_ref() {
            match item {
                Ok(msg) => {
                    stats.update(router, |s| s.messages += 1);
                    if handle(msg, router, &tx, &stats, &mut up).await.is_err() {
                        break 'read; // the engine is gone
                    }
                }
                Err(e) => {
                    tracing::warn!(router = %addr, error = %e, "malformed BMP message");
                    stats.update(router, |s| s.errors += 1);
                    if e.fatal {
                        stats.update(router, |s| s.broken += 1);
                        break 'read;
                    }
                }
            }
        }
    }
    stats.update(router, |s| s.connected = false);
    for peer in up {
        let _ = tx
            .send(FeedEvent::SessionDown {
                time: now(),
                peer,
                reason: format!("BMP router {addr} disconnected"),
            })
            .await;
    }
}

async fn handle(
    msg: BmpMessage,
    router: IpAddr,
    tx: &mpsc::Sender<FeedEvent>,
    stats: &BmpStats,
    up: &mut BTreeSet<Peer>,
) -> Result<(), mpsc::error::SendError<FeedEvent>> {
    let time = now();
    match (msg.body, msg.peer) {
        (BmpBody::Initiation(info), _) => {
            stats.update(router, |s| s.sys_name = info.sys_name());
        }
        (BmpBody::PeerUp(_), Some(h)) => {
            if let Some(peer) = fed_peer(&h, router) {
                if up.insert(peer) {
                    tx.send(FeedEvent::SessionUp { time, peer }).await?;
                }
            }
        }
        (BmpBody::PeerDown(reason), Some(h)) => {
            if let Some(peer) = fed_peer(&h, router) {
                if up.remove(&peer) {
                    tx.send(FeedEvent::SessionDown {
                        time,
                        peer,
                        reason: format!("BMP Peer Down: {reason:?}"),
                    })
                    .await?;
                }
            }
        }
        (BmpBody::RouteMonitoring(rm), Some(h)) => match fed_peer(&h, router) {
            Some(peer) => {
                // Routes before (or without) a Peer Up still count: the peer is up.
                if up.insert(peer) {
                    tx.send(FeedEvent::SessionUp { time, peer }).await?;
                }
                stats.update(router, |s| s.fed += 1);
                if rm.withdrawn.is_empty() && rm.announced.is_empty() {
                    return Ok(());
                }
                tx.send(FeedEvent::Update(UpdateEntry {
                    time,
                    extended: true,
                    peer,
                    local: Some(Peer {
                        asn: Asn(0),
                        addr: router,
                    }),
                    withdrawn: rm.withdrawn,
                    announced: rm.announced,
                    attrs: rm.attrs,
                    treat_as_withdraw: rm.treat_as_withdraw,
                    ..UpdateEntry::default()
                }))
                .await?;
            }
            None => stats.update(router, |s| s.other_views += 1),
        },
        (BmpBody::Termination(_), _) => {
            for peer in std::mem::take(up) {
                tx.send(FeedEvent::SessionDown {
                    time,
                    peer,
                    reason: "BMP Termination".to_string(),
                })
                .await?;
            }
        }
        _ => {}
    }
    Ok(())
}
