//! The BMP station (RFC 7854): accepts connections from any number of
//! monitored routers and turns their messages into feed events.
//!
//! Which views feed detection: a monitored peer's pre-policy Adj-RIB-In (what
//! the peer sent, as a route collector would see it) and the router's
//! Loc-RIB (RFC 9069; its routes are attributed to the router itself). Post-
//! policy and Adj-RIB-Out views (RFC 8671) are counted but not fed, so the
//! views never mix in one table. A Peer Down, a Termination or a lost
//! connection ends the sessions of the peers it concerns (their routes are
//! withdrawn: a visibility event, not a leak) — unless a newer connection
//! (the router reconnected before the old one was seen to end) has taken
//! the peer over. TCP keepalives find routers that vanished without closing
//! their connection (BMP itself only flows one way).
//!
//! FRR (at least 8.4 to 10.x) encodes Route Monitoring UPDATEs as if it
//! were advertising them to the peer: for an eBGP peer the AS path starts
//! with the router's own AS, followed by the peer's. When the router's
//! Initiation says it is FRRouting and a path starts with the local AS of
//! the session (from the Peer Up) followed by the peer's AS, that first AS
//! is removed before the routes are fed, and counted in
//! [`RouterStats::local_as_removed`].

use crate::feed::{now, FeedEvent};
use bugyo_formats::bmp::{BmpBody, BmpDecoder, BmpMessage, PeerHeader, PeerType, RibView};
use bugyo_formats::mrt::UpdateEntry;
use bugyo_model::{Asn, PathAttributes, Peer, SegmentKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Connections closed because the stream was broken (framing lost, or
    /// closed by the router inside a message).
    pub broken: u64,
    /// Fed routes whose AS path started with the router's own AS, removed
    /// (the FRR encoding described in the module documentation).
    pub local_as_removed: u64,
    /// True while connected (at least one connection open).
    pub connected: bool,
    /// Connections open now (a router that reconnects before its old
    /// connection is noticed closed has two for a while).
    pub open_connections: u64,
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

/// Which connection currently speaks for each monitored peer: only that
/// connection's end (or Peer Down) ends the peer's session.
#[derive(Clone, Default)]
struct Owners(Arc<Mutex<HashMap<Peer, u64>>>);

impl Owners {
    /// Connection `conn` now speaks for `peer`.
    fn take(&self, peer: Peer, conn: u64) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(peer, conn);
        }
    }

    /// Connection `conn` lets go of `peer`; true if it was the owner (then
    /// the peer's session really ended).
    fn release(&self, peer: &Peer, conn: u64) -> bool {
        let Ok(mut m) = self.0.lock() else {
            return true;
        };
        if m.get(peer) == Some(&conn) {
            m.remove(peer);
            true
        } else {
            false
        }
    }
}

/// TCP keepalive on a router connection: idle time before the first probe,
/// time between probes, probes before the connection is declared dead.
const KEEPALIVE_IDLE: std::time::Duration = std::time::Duration::from_secs(60);
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);
const KEEPALIVE_PROBES: u32 = 3;

fn keepalive(stream: &TcpStream) -> io::Result<()> {
    let ka = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL)
        .with_retries(KEEPALIVE_PROBES);
    socket2::SockRef::from(stream).set_tcp_keepalive(&ka)
}

/// Starts a BMP station on `listen`, sending feed events to `tx`.
pub async fn start(listen: SocketAddr, tx: mpsc::Sender<FeedEvent>) -> io::Result<BmpHandle> {
    let listener = TcpListener::bind(listen).await?;
    let local_addr = listener.local_addr()?;
    let stats = BmpStats::default();
    let st = stats.clone();
    let owners = Owners::default();
    let task = tokio::spawn(async move {
        let mut routers = Vec::new();
        let mut next_conn = 0u64;
        loop {
            match listener.accept().await {
                Ok((stream, addr)) => {
                    tracing::info!(router = %addr, "BMP router connected");
                    if let Err(e) = keepalive(&stream) {
                        tracing::warn!(router = %addr, error = %e, "cannot set TCP keepalive");
                    }
                    next_conn += 1;
                    routers.push(tokio::spawn(serve_router(
                        stream,
                        addr,
                        tx.clone(),
                        st.clone(),
                        (owners.clone(), next_conn),
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

/// The peer a message's routes are attributed to, if its view feeds
/// detection. Every peer fed from BMP carries the router that reported it
/// ([`Peer::via`]): two routers may each have a neighbour at one address.
fn fed_peer(h: &PeerHeader, router: IpAddr) -> Option<Peer> {
    match h.view() {
        RibView::AdjRibInPre => Some(h.peer().via(router)),
        // Loc-RIB routes are the router's own best routes.
        RibView::LocRib if h.peer_type == PeerType::LocRib => Some(loc_rib_peer(h, router)),
        _ => None,
    }
}

/// The peer Loc-RIB routes are attributed to: the router itself.
fn loc_rib_peer(h: &PeerHeader, router: IpAddr) -> Peer {
    Peer::new(h.asn, router).via(router)
}

/// The peer whose session a Peer Up or Peer Down is about. The L and O
/// flags describe views of Route Monitoring, not sessions, so they are
/// ignored: a Peer Down ends the peer's session whatever flags it has.
fn session_peer(h: &PeerHeader, router: IpAddr) -> Peer {
    if h.peer_type == PeerType::LocRib {
        loc_rib_peer(h, router)
    } else {
        h.peer().via(router)
    }
}

/// Identifies a monitored peer within one connection (type, distinguisher,
/// address).
type PeerKey = (u8, u64, IpAddr);

fn peer_key(h: &PeerHeader) -> PeerKey {
    (h.peer_type.code(), h.distinguisher, h.addr)
}

/// The state of one router connection.
struct Conn {
    /// The router's address.
    router: IpAddr,
    /// Who speaks for which peer, and this connection's number.
    owners: Owners,
    id: u64,
    /// Peers whose SessionUp was sent and no SessionDown since.
    up: BTreeSet<Peer>,
    /// The router said it is FRRouting (in its Initiation's sysDescr).
    frr: bool,
    /// The router's own AS on each peer's session (from the Peer Up).
    local_as: HashMap<PeerKey, u32>,
}

async fn serve_router(
    mut stream: TcpStream,
    addr: SocketAddr,
    tx: mpsc::Sender<FeedEvent>,
    stats: BmpStats,
    (owners, id): (Owners, u64),
) {
    let router = addr.ip();
    stats.update(router, |s| {
        s.connections += 1;
        s.open_connections += 1;
        s.connected = true;
    });
    let mut decoder = BmpDecoder::new();
    let mut conn = Conn {
        router,
        owners,
        id,
        up: BTreeSet::new(),
        frr: false,
        local_as: HashMap::new(),
    };
    let mut buf = vec![0u8; 1 << 16];
    'read: loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => {
                // Closed inside a message: that message is lost.
                if let Some(e) = decoder.finish() {
                    tracing::warn!(router = %addr, error = %e, "BMP connection closed mid-message");
                    stats.update(router, |s| {
                        s.errors += 1;
                        s.broken += 1;
                    });
                }
                break;
            }
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
                    if handle(msg, &mut conn, &tx, &stats).await.is_err() {
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
    stats.update(router, |s| {
        s.open_connections = s.open_connections.saturating_sub(1);
        s.connected = s.open_connections > 0;
    });
    for peer in std::mem::take(&mut conn.up) {
        if !conn.owners.release(&peer, conn.id) {
            continue; // a newer connection speaks for it now
        }
        let _ = tx
            .send(FeedEvent::SessionDown {
                time: now(),
                peer,
                reason: format!("BMP router {addr} disconnected"),
            })
            .await;
    }
}

/// For FRR: the attributes without the router's own AS in front of the
/// peer's (`None` if the path does not start with `local`, then `peer`).
fn without_local_as(attrs: &PathAttributes, local: u32, peer: u32) -> Option<PathAttributes> {
    let segs = &attrs.as_path.segments;
    let first = segs.first()?;
    if first.kind != SegmentKind::Sequence || first.asns.first()?.0 != local {
        return None;
    }
    let second = match first.asns.get(1) {
        Some(a) => Some(*a),
        None => segs.get(1).and_then(|s| s.asns.first().copied()),
    };
    if second != Some(Asn(peer)) {
        return None;
    }
    let mut a = attrs.clone();
    a.as_path.segments[0].asns.remove(0);
    if a.as_path.segments[0].asns.is_empty() {
        a.as_path.segments.remove(0);
    }
    Some(a)
}

async fn handle(
    msg: BmpMessage,
    conn: &mut Conn,
    tx: &mpsc::Sender<FeedEvent>,
    stats: &BmpStats,
) -> Result<(), mpsc::error::SendError<FeedEvent>> {
    let time = now();
    let router = conn.router;
    match (msg.body, msg.peer) {
        (BmpBody::Initiation(info), _) => {
            conn.frr = info.sys_descr().is_some_and(|d| d.starts_with("FRRouting"));
            stats.update(router, |s| s.sys_name = info.sys_name());
        }
        (BmpBody::PeerUp(pu), Some(h)) => {
            conn.local_as.insert(peer_key(&h), pu.sent_open.peer_asn());
            if let Some(peer) = fed_peer(&h, router) {
                if conn.up.insert(peer) {
                    conn.owners.take(peer, conn.id);
                    tx.send(FeedEvent::SessionUp { time, peer }).await?;
                }
            }
        }
        (BmpBody::PeerDown(reason), Some(h)) => {
            conn.local_as.remove(&peer_key(&h));
            let peer = session_peer(&h, router);
            if conn.up.remove(&peer) && conn.owners.release(&peer, conn.id) {
                tx.send(FeedEvent::SessionDown {
                    time,
                    peer,
                    reason: format!("BMP Peer Down: {reason:?}"),
                })
                .await?;
            }
        }
        (BmpBody::RouteMonitoring(rm), Some(h)) => match fed_peer(&h, router) {
            Some(peer) => {
                // Routes before (or without) a Peer Up still count: the peer is up.
                if conn.up.insert(peer) {
                    conn.owners.take(peer, conn.id);
                    tx.send(FeedEvent::SessionUp { time, peer }).await?;
                }
                stats.update(router, |s| s.fed += 1);
                if rm.withdrawn.is_empty() && rm.announced.is_empty() {
                    return Ok(());
                }
                let mut attrs = rm.attrs;
                let local = conn.local_as.get(&peer_key(&h)).copied();
                if let (true, Some(local), Some(a)) = (conn.frr, local, &attrs) {
                    if local != h.asn.0 {
                        if let Some(fixed) = without_local_as(a, local, h.asn.0) {
                            attrs = Some(Arc::new(fixed));
                            let n = rm.announced.len() as u64;
                            stats.update(router, |s| s.local_as_removed += n);
                        }
                    }
                }
                tx.send(FeedEvent::Update(UpdateEntry {
                    time,
                    extended: true,
                    peer,
                    withdrawn: rm.withdrawn,
                    announced: rm.announced,
                    attrs,
                    treat_as_withdraw: rm.treat_as_withdraw,
                    ..UpdateEntry::default()
                }))
                .await?;
            }
            None => stats.update(router, |s| s.other_views += 1),
        },
        (BmpBody::Termination(_), _) => {
            for peer in std::mem::take(&mut conn.up) {
                if !conn.owners.release(&peer, conn.id) {
                    continue;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::AsPath;

    fn attrs(path: &[u32]) -> PathAttributes {
        PathAttributes {
            as_path: AsPath::from_sequence(path.iter().copied()),
            ..PathAttributes::default()
        }
    }

    #[test]
    fn frr_local_as_is_removed_only_before_the_peer() {
        let fixed = without_local_as(&attrs(&[65020, 64500, 701]), 65020, 64500);
        assert_eq!(
            fixed.map(|a| a.as_path.to_string()),
            Some("64500 701".into())
        );
        // The peer's AS not second, or the local AS not first: kept.
        assert!(without_local_as(&attrs(&[65020, 701, 64500]), 65020, 64500).is_none());
        assert!(without_local_as(&attrs(&[64500, 701]), 65020, 64500).is_none());
        assert!(without_local_as(&attrs(&[]), 65020, 64500).is_none());
    }
}
