//! A monitor-only BGP speaker (RFC 4271): sessions with configured peers,
//! passive (our listener) or active (we connect), that receive routes and
//! never advertise any. Capabilities offered: multiprotocol IPv4/IPv6
//! unicast (RFC 4760), 4-octet AS (RFC 6793), route refresh (RFC 2918),
//! ADD-PATH receive (RFC 7911) and graceful restart as a helper (RFC 4724).
//! Malformed UPDATEs are handled per RFC 7606.
//!
//! Every received UPDATE becomes a [`FeedEvent::Update`], session changes
//! [`FeedEvent::SessionUp`] / [`FeedEvent::SessionDown`], sent on an mpsc
//! channel. Per-peer counters are kept in [`BgpStats`].
//!
//! Layout: `wire` frames messages off the socket, `session` runs one
//! connection's FSM, `peer` keeps a peer's state across connections
//! (reconnects, graceful restart), this module owns the listener.

mod peer;
mod session;
mod wire;

use crate::feed::FeedEvent;
use bugyo_formats::bgp::encode_notification;
use bugyo_model::{Asn, Peer, Timestamp};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// The well-known BGP port.
pub const BGP_PORT: u16 = 179;

/// Speaker configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BgpConfig {
    /// Our AS number.
    pub local_asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Where to accept connections from peers, if anywhere.
    pub listen: Option<SocketAddr>,
    /// The peers; connections from other addresses are refused.
    pub peers: Vec<PeerConfig>,
    /// The hold time we propose (0 disables keepalives, else at least 3).
    pub hold_time: u16,
}

/// One configured peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerConfig {
    /// The AS the peer must announce in its OPEN.
    pub asn: u32,
    /// The peer's address.
    pub addr: IpAddr,
    /// The port to connect to when active (default 179).
    pub port: Option<u16>,
    /// Connect to the peer (with backoff) rather than only wait for it.
    pub active: bool,
}

/// Where a peer's session is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SessionState {
    /// No connection.
    #[default]
    Idle,
    /// Connecting (active peers).
    Connect,
    /// Connected, our OPEN sent.
    OpenSent,
    /// OPENs exchanged, waiting for the first KEEPALIVE.
    OpenConfirm,
    /// Routes flow.
    Established,
    /// The connection dropped after graceful restart was negotiated: the
    /// routes are kept while the peer restarts.
    Restarting,
}

impl SessionState {
    /// Lower-case name, for metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Idle => "idle",
            SessionState::Connect => "connect",
            SessionState::OpenSent => "opensent",
            SessionState::OpenConfirm => "openconfirm",
            SessionState::Established => "established",
            SessionState::Restarting => "restarting",
        }
    }
}

/// Counters for one peer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// Current state.
    pub state: SessionState,
    /// Messages received.
    pub messages: u64,
    /// UPDATE messages received.
    pub updates: u64,
    /// Prefixes announced in those UPDATEs.
    pub announced: u64,
    /// Prefixes withdrawn (including treat-as-withdraw and stale routes
    /// dropped after a graceful restart).
    pub withdrawn: u64,
    /// Errors by kind (`header`, `open`, `fsm`, `hold timer`, `update
    /// reset`, `treat-as-withdraw`, `attribute discarded`, `connection`).
    pub errors: BTreeMap<&'static str, u64>,
    /// NOTIFICATIONs sent.
    pub notifications_sent: u64,
    /// NOTIFICATIONs received.
    pub notifications_received: u64,
    /// Sessions that reached Established.
    pub sessions: u64,
    /// Arrival time of the last message.
    pub last_message: Option<Timestamp>,
    /// Why the last session ended.
    pub last_down: Option<String>,
}

impl PeerStats {
    /// Counts one error of `kind`.
    pub fn error(&mut self, kind: &'static str) {
        *self.errors.entry(kind).or_insert(0) += 1;
    }
}

/// Shared, cheaply cloned per-peer counters.
#[derive(Clone, Debug, Default)]
pub struct BgpStats(Arc<Vec<(Peer, Arc<Mutex<PeerStats>>)>>);

impl BgpStats {
    /// A copy of every peer's counters, in configuration order.
    pub fn snapshot(&self) -> Vec<(Peer, PeerStats)> {
        self.0.iter().map(|(p, s)| (*p, lock(s).clone())).collect()
    }
}

/// Locks, ignoring poisoning (counters stay usable).
pub(crate) fn lock(s: &Mutex<PeerStats>) -> std::sync::MutexGuard<'_, PeerStats> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running speaker.
#[derive(Debug)]
pub struct BgpHandle {
    local_addr: Option<SocketAddr>,
    stats: BgpStats,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl BgpHandle {
    /// The address the listener is bound to, if there is one.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The per-peer counters.
    pub fn stats(&self) -> BgpStats {
        self.stats.clone()
    }

    /// Closes every session (NOTIFICATION 6/2 Administrative Shutdown) and
    /// waits, at most 5 s, for the tasks to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let all = async {
            for t in self.tasks {
                let _ = t.await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), all).await;
    }

    /// Waits until every task has ended (never, unless shut down).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// An IPv4-mapped IPv6 address as IPv4; others unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Binds the listener (if configured) and starts one task per peer.
pub async fn start(config: BgpConfig, tx: mpsc::Sender<FeedEvent>) -> io::Result<BgpHandle> {
    if config.hold_time != 0 && config.hold_time < 3 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "hold time must be 0 or at least 3 seconds",
        ));
    }
    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut routes: HashMap<IpAddr, mpsc::Sender<TcpStream>> = HashMap::new();
    let mut stats = Vec::new();
    for pc in &config.peers {
        let peer = Peer::new(Asn(pc.asn), canonical(pc.addr));
        let st = Arc::new(Mutex::new(PeerStats::default()));
        stats.push((peer, st.clone()));
        let (in_tx, in_rx) = mpsc::channel(4);
        if routes.insert(peer.addr, in_tx).is_some() {
            warn!(%peer, "two peers with one address: only the last gets connections");
        }
        let task = peer::PeerTask::new(peer::PeerSetup {
            peer,
            cfg: pc.clone(),
            local_asn: config.local_asn,
            router_id: config.router_id,
            hold_time: config.hold_time,
            tx: tx.clone(),
            stats: st,
            incoming: in_rx,
            shutdown: shutdown_rx.clone(),
        });
        tasks.push(tokio::spawn(task.run()));
    }
    let mut local_addr = None;
    if let Some(addr) = config.listen {
        let listener = TcpListener::bind(addr).await?;
        local_addr = Some(listener.local_addr()?);
        info!(addr = ?local_addr, "BGP listener up");
        tasks.push(tokio::spawn(accept_loop(listener, routes, shutdown_rx)));
    }
    Ok(BgpHandle {
        local_addr,
        stats: BgpStats(Arc::new(stats)),
        shutdown,
        tasks,
    })
}

/// Runs the speaker until every task ends (that is, forever).
pub async fn run(config: BgpConfig, tx: mpsc::Sender<FeedEvent>) -> io::Result<()> {
    start(config, tx).await?.wait().await;
    Ok(())
}

/// Accepts connections and hands each to its peer's task; connections from
/// unconfigured addresses get NOTIFICATION 6/5 (Connection Rejected).
async fn accept_loop(
    listener: TcpListener,
    routes: HashMap<IpAddr, mpsc::Sender<TcpStream>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            r = listener.accept() => match r {
                Ok((stream, from)) => match routes.get(&canonical(from.ip())) {
                    Some(peer_tx) => {
                        if peer_tx.try_send(stream).is_err() {
                            warn!(%from, "peer task busy: connection dropped");
                        }
                    }
                    None => {
                        warn!(%from, "connection from an unconfigured address refused");
                        tokio::spawn(reject(stream, 6, 5));
                    }
                },
                Err(e) => {
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// Sends a NOTIFICATION (at most 2 s) and closes.
async fn reject(mut stream: TcpStream, code: u8, subcode: u8) {
    let mut out = Vec::new();
    encode_notification(code, subcode, &[], &mut out);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = stream.write_all(&out).await;
        let _ = stream.shutdown().await;
    })
    .await;
}
