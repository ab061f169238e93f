//! One configured peer across its connections: waiting for (or making)
//! connections with bounded backoff, the graceful restart helper that keeps
//! a restarting peer's routes, and the SessionUp/SessionDown events.

use super::{lock, PeerConfig, PeerStats, SessionState, BGP_PORT};
use crate::feed::{self, FeedEvent};
use bugyo_formats::bgp::Nlri;
use bugyo_formats::mrt::UpdateEntry;
use bugyo_model::{Afi, Peer};
use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info, warn};

/// First and largest wait between connection attempts of an active peer.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything a peer task starts with.
pub(super) struct PeerSetup {
    pub peer: Peer,
    pub cfg: PeerConfig,
    pub local_asn: u32,
    pub router_id: Ipv4Addr,
    pub hold_time: u16,
    pub tx: mpsc::Sender<FeedEvent>,
    pub stats: Arc<Mutex<PeerStats>>,
    pub incoming: mpsc::Receiver<TcpStream>,
    pub shutdown: watch::Receiver<bool>,
}

/// A peer's task state.
pub(super) struct PeerTask {
    pub(super) s: PeerSetup,
    /// SessionUp was emitted and no SessionDown since.
    pub(super) up: bool,
    /// Routes the peer currently has announced (kept while graceful restart
    /// is negotiated, to know what to withdraw after a restart).
    pub(super) rib: HashSet<Nlri>,
    /// Routes from before a restart not yet announced again.
    pub(super) stale: HashSet<Nlri>,
    /// Graceful restart in progress: give up (SessionDown) at this time.
    pub(super) restart_deadline: Option<Instant>,
    /// The listener can still hand us connections.
    incoming_open: bool,
}

/// What the peer's graceful restart capability (RFC 4724) lets the helper
/// do, for the IPv4 and IPv6 unicast families it lists.
#[derive(Clone, Debug)]
pub(super) struct Restart {
    /// How long to keep the routes after the connection drops.
    pub time: Duration,
    /// The families listed: only their routes are kept while the peer
    /// restarts (RFC 4724 §4.2); the others are withdrawn at once.
    pub families: Vec<Afi>,
}

/// How a session ended.
pub(super) struct End {
    /// The session had reached Established.
    pub established: bool,
    /// Why it ended, in words.
    pub reason: String,
    /// The TCP connection dropped after graceful restart was negotiated:
    /// keep the routes of its families for its restart time.
    pub restart: Option<Restart>,
    /// Shutdown was asked for.
    pub shutdown: bool,
    /// Our end of the connection (for withdrawals emitted afterwards).
    pub local: Option<Peer>,
}

impl PeerTask {
    /// A peer task with no session yet.
    pub(super) fn new(s: PeerSetup) -> PeerTask {
        PeerTask {
            s,
            up: false,
            rib: HashSet::new(),
            stale: HashSet::new(),
            restart_deadline: None,
            incoming_open: true,
        }
    }

    /// Shutdown was asked for (or the handle dropped).
    pub(super) fn stopping(&self) -> bool {
        *self.s.shutdown.borrow() || self.s.shutdown.has_changed().is_err()
    }

    pub(super) fn stats(&self) -> std::sync::MutexGuard<'_, PeerStats> {
        lock(&self.s.stats)
    }

    pub(super) fn set_state(&self, st: SessionState) {
        self.stats().state = st;
    }

    /// Sends an event; a closed channel is only logged.
    pub(super) async fn emit(&self, ev: FeedEvent) {
        if self.s.tx.send(ev).await.is_err() {
            debug!(peer = %self.s.peer, "feed receiver gone");
        }
    }

    /// The peer's routes are gone: SessionDown (once) and forget them.
    async fn down(&mut self, reason: &str) {
        self.rib.clear();
        self.stale.clear();
        self.restart_deadline = None;
        {
            let mut st = self.stats();
            st.state = SessionState::Idle;
            st.last_down = Some(reason.to_string());
        }
        if self.up {
            self.up = false;
            info!(peer = %self.s.peer, reason, "BGP session down");
            self.emit(FeedEvent::SessionDown {
                time: feed::now(),
                peer: self.s.peer,
                reason: reason.to_string(),
            })
            .await;
        }
    }

    /// Emits withdrawals for the stale routes of `afi` (all if `None`).
    pub(super) async fn drop_stale(&mut self, afi: Option<Afi>, local: Option<Peer>) {
        let gone: Vec<Nlri> = self
            .stale
            .iter()
            .filter(|n| afi.is_none_or(|a| n.prefix.afi() == a))
            .copied()
            .collect();
        if gone.is_empty() {
            return;
        }
        for n in &gone {
            self.stale.remove(n);
        }
        info!(peer = %self.s.peer, n = gone.len(), "graceful restart: stale routes withdrawn");
        self.stats().withdrawn += gone.len() as u64;
        self.emit(FeedEvent::Update(UpdateEntry {
            time: feed::now(),
            extended: true,
            peer: self.s.peer,
            local,
            withdrawn: gone,
            announced: Vec::new(),
            attrs: None,
            outgoing: false,
            legacy: false,
            treat_as_withdraw: false,
            multicast: false,
        }))
        .await;
    }

    /// The task: connections one after another until shutdown.
    pub(super) async fn run(mut self) {
        let mut backoff = BACKOFF_MIN;
        let mut next_connect = Instant::now();
        let port = self.s.cfg.port.unwrap_or(BGP_PORT);
        let target = SocketAddr::new(self.s.cfg.addr, port);
        loop {
            if self.stopping() {
                self.down("shutdown").await;
                return;
            }
            let far = Instant::now() + Duration::from_secs(86400);
            let restart_at = self.restart_deadline.unwrap_or(far);
            let stream = tokio::select! {
                _ = self.s.shutdown.changed() => continue,
                s = self.s.incoming.recv(), if self.incoming_open => match s {
                    Some(s) => s,
                    None => {
                        // No listener: only active connections remain.
                        self.incoming_open = false;
                        if !self.s.cfg.active {
                            self.down("no listener").await;
                            return;
                        }
                        continue;
                    }
                },
                _ = sleep_until(next_connect), if self.s.cfg.active => {
                    self.set_state(SessionState::Connect);
                    match timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            debug!(%target, error = %e, "connect failed");
                            self.stats().error("connection");
                            next_connect = Instant::now() + backoff;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                            self.set_state(if self.restart_deadline.is_some() { SessionState::Restarting } else { SessionState::Idle });
                            continue;
                        }
                        Err(_) => {
                            debug!(%target, "connect timed out");
                            self.stats().error("connection");
                            next_connect = Instant::now() + backoff;
                            backoff = (backoff * 2).min(BACKOFF_MAX);
                            continue;
                        }
                    }
                },
                _ = sleep_until(restart_at), if self.restart_deadline.is_some() => {
                    self.down("graceful restart time expired").await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let end = self.session(stream).await;
            if end.shutdown {
                self.down("shutdown").await;
                return;
            }
            if end.established {
                backoff = BACKOFF_MIN;
            } else {
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            next_connect = Instant::now() + backoff;
            match end.restart {
                Some(r) if self.up => {
                    warn!(peer = %self.s.peer, reason = %end.reason, restart_time = ?r.time,
                        families = ?r.families, "connection lost, graceful restart: routes kept");
                    let rib = std::mem::take(&mut self.rib);
                    self.stale.extend(rib);
                    // Routes of families the capability does not list are
                    // not kept (RFC 4724 §4.2).
                    for afi in [Afi::Ipv4, Afi::Ipv6] {
                        if !r.families.contains(&afi) {
                            self.drop_stale(Some(afi), end.local).await;
                        }
                    }
                    self.restart_deadline = Some(Instant::now() + r.time);
                    let mut st = self.stats();
                    st.state = SessionState::Restarting;
                    st.last_down = Some(end.reason);
                }
                _ if end.established => self.down(&end.reason).await,
                _ => {
                    debug!(peer = %self.s.peer, reason = %end.reason, "session failed before Established");
                    let mut st = self.stats();
                    st.state = if self.restart_deadline.is_some() {
                        SessionState::Restarting
                    } else {
                        SessionState::Idle
                    };
                    st.last_down = Some(end.reason);
                }
            }
        }
    }
}
