//! The client task: one loop of sessions with backoff between them, and in
//! each session one `select!` over the socket, the timers and shutdown.

use super::set::{Change, RpkiSet};
use super::{RpkiSnapshot, RtrConfig, RtrEvent, RtrStatus};
use bugyo_formats::rtr::{error_code, Decoder, Pdu};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info, warn};

/// How a session ended.
enum Outcome {
    /// Shutdown was asked for.
    Shutdown,
    /// The cache speaks an older version: reconnect at once with it.
    Downgrade(u8),
    /// An error; `synced` if a transfer completed on this connection.
    Failed { reason: String, synced: bool },
}

/// A transfer between Cache Response and End of Data.
struct Transfer {
    full: bool,
    changes: Vec<Change>,
}

/// The client's state across sessions.
pub(super) struct Runner {
    cfg: RtrConfig,
    snap_tx: watch::Sender<Arc<RpkiSnapshot>>,
    status_tx: watch::Sender<RtrStatus>,
    events: broadcast::Sender<RtrEvent>,
    shutdown: watch::Receiver<bool>,
    set: RpkiSet,
    /// Session id and serial of the data held, once a transfer completed.
    session: Option<(u16, u32)>,
    version: u8,
    refresh: Duration,
    retry: Duration,
    expire: Duration,
    /// When the data was last current (start time before the first sync).
    fresh_at: Instant,
    stale: bool,
}

fn secs(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

impl Runner {
    /// A runner that has not connected yet.
    pub(super) fn new(
        cfg: RtrConfig,
        snap_tx: watch::Sender<Arc<RpkiSnapshot>>,
        status_tx: watch::Sender<RtrStatus>,
        events: broadcast::Sender<RtrEvent>,
        shutdown: watch::Receiver<bool>,
    ) -> Runner {
        Runner {
            version: cfg.version.min(bugyo_formats::rtr::MAX_VERSION),
            refresh: cfg.refresh,
            retry: cfg.retry,
            expire: cfg.expire,
            cfg,
            snap_tx,
            status_tx,
            events,
            shutdown,
            set: RpkiSet::default(),
            session: None,
            fresh_at: Instant::now(),
            stale: false,
        }
    }

    fn emit(&self, e: RtrEvent) {
        let _ = self.events.send(e);
    }

    fn stale_deadline(&self) -> Instant {
        self.fresh_at + self.expire
    }

    /// Marks the data stale (once) when the expire interval has passed.
    fn check_stale(&mut self) {
        if !self.stale && Instant::now() >= self.stale_deadline() {
            self.stale = true;
            let last_sync = self.status_tx.borrow().last_sync;
            warn!(server = %self.cfg.server, "RPKI data is stale: no update within the expire interval");
            self.status_tx.send_modify(|s| s.stale = true);
            self.emit(RtrEvent::Stale { last_sync });
        }
    }

    /// Runs sessions until shutdown.
    pub(super) async fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            match self.session().await {
                Outcome::Shutdown => return,
                Outcome::Downgrade(v) => {
                    info!(server = %self.cfg.server, version = v, "RTR: falling back to an older protocol version");
                    self.version = v;
                    self.session = None;
                    self.emit(RtrEvent::Downgraded { version: v });
                }
                Outcome::Failed { reason, synced } => {
                    warn!(server = %self.cfg.server, %reason, "RTR session ended");
                    self.status_tx.send_modify(|s| {
                        s.connected = false;
                        s.last_error = Some(reason.clone());
                    });
                    self.emit(RtrEvent::Disconnected { reason });
                    if synced {
                        backoff = self.cfg.backoff_min;
                    }
                    if self.wait(backoff).await {
                        return;
                    }
                    backoff = (backoff * 2).min(self.cfg.backoff_max);
                }
            }
        }
    }

    /// Waits `d`, watching for staleness; true if shutdown was asked for.
    async fn wait(&mut self, d: Duration) -> bool {
        let until = Instant::now() + d;
        // Each turn either ends the wait or marks the data stale, which
        // happens once: at most three turns.
        for _ in 0..3 {
            tokio::select! {
                _ = sleep_until(until) => return false,
                _ = sleep_until(self.stale_deadline()), if !self.stale => self.check_stale(),
                r = self.shutdown.changed() => if r.is_err() || *self.shutdown.borrow() { return true },
            }
        }
        sleep_until(until).await;
        false
    }

    async fn send(&self, wr: &mut OwnedWriteHalf, pdu: &Pdu) -> Result<(), String> {
        debug!(?pdu, "RTR send");
        match timeout(self.cfg.response_timeout, wr.write_all(&pdu.to_bytes())).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write: {e}")),
            Err(_) => Err("write timed out".into()),
        }
    }

    /// The query for the data held: Serial Query if there is a session,
    /// else Reset Query.
    fn query(&self) -> Pdu {
        match self.session {
            Some((session_id, serial)) => Pdu::SerialQuery {
                version: self.version,
                session_id,
                serial,
            },
            None => Pdu::ResetQuery {
                version: self.version,
            },
        }
    }

    /// One TCP session with the cache.
    async fn session(&mut self) -> Outcome {
        let fail = |reason: String, synced: bool| Outcome::Failed { reason, synced };
        self.status_tx.send_modify(|s| s.connects += 1);
        let stream = match timeout(
            self.cfg.connect_timeout,
            TcpStream::connect(&self.cfg.server),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return fail(format!("connect to {}: {e}", self.cfg.server), false),
            Err(_) => return fail(format!("connect to {} timed out", self.cfg.server), false),
        };
        let (mut rd, mut wr) = stream.into_split();
        info!(server = %self.cfg.server, version = self.version, "RTR connected");
        let version = self.version;
        self.status_tx.send_modify(|s| {
            s.connected = true;
            s.version = Some(version);
        });
        self.emit(RtrEvent::Connected { version });

        let mut dec = Decoder::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut transfer: Option<Transfer> = None;
        let mut heard = false;
        let mut synced = false;
        let mut next_refresh = Instant::now() + self.refresh;
        let q = self.query();
        if let Err(e) = self.send(&mut wr, &q).await {
            return fail(e, false);
        }
        let mut awaiting = Some(Instant::now() + self.cfg.response_timeout);

        loop {
            tokio::select! {
                r = rd.read(&mut buf) => match r {
                    Ok(0) => return fail("connection closed by the cache".into(), synced),
                    Ok(n) => {
                        dec.push(&buf[..n]);
                        if awaiting.is_some() {
                            awaiting = Some(Instant::now() + self.cfg.response_timeout);
                        }
                    }
                    Err(e) => return fail(format!("read: {e}"), synced),
                },
                _ = sleep_until(awaiting.unwrap_or(next_refresh)), if awaiting.is_some() => {
                    return fail("no answer from the cache in time".into(), synced);
                }
                _ = sleep_until(next_refresh), if awaiting.is_none() => {
                    let q = self.query();
                    if let Err(e) = self.send(&mut wr, &q).await {
                        return fail(e, synced);
                    }
                    awaiting = Some(Instant::now() + self.cfg.response_timeout);
                }
                _ = sleep_until(self.stale_deadline()), if !self.stale => self.check_stale(),
                r = self.shutdown.changed() => if r.is_err() || *self.shutdown.borrow() {
                    return Outcome::Shutdown;
                },
            }

            // Every PDU now complete; the buffer holds a bounded number.
            for item in dec.by_ref() {
                let pdu = match item {
                    Ok(p) => p,
                    Err(e) => {
                        let report = Pdu::ErrorReport {
                            version: self.version,
                            code: e.code,
                            pdu: Vec::new(),
                            text: e.to_string(),
                        };
                        let _ = self.send(&mut wr, &report).await;
                        return fail(format!("bad PDU from the cache: {e}"), synced);
                    }
                };
                debug!(?pdu, "RTR received");
                if let Pdu::ErrorReport { code, text, .. } = &pdu {
                    if *code == error_code::UNSUPPORTED_VERSION && !heard && self.version > 0 {
                        return Outcome::Downgrade(pdu.version().min(self.version - 1));
                    }
                    if *code == error_code::NO_DATA_AVAILABLE {
                        info!("RTR cache has no data yet; retrying later");
                        awaiting = None;
                        transfer = None;
                        next_refresh = Instant::now() + self.retry;
                        heard = true;
                        continue;
                    }
                    if transfer.is_none() && self.session.is_some() {
                        // The cache refused our serial (StayRTR does so for
                        // another session id): start over with a Reset
                        // Query, keeping the data until it completes.
                        self.session = None;
                    }
                    return fail(format!("cache reported error {code}: {text}"), synced);
                }
                if pdu.version() != self.version {
                    if !heard && pdu.version() < self.version {
                        return Outcome::Downgrade(pdu.version());
                    }
                    let report = Pdu::ErrorReport {
                        version: self.version,
                        code: error_code::UNEXPECTED_VERSION,
                        pdu: pdu.to_bytes(),
                        text: format!("expected version {}", self.version),
                    };
                    let _ = self.send(&mut wr, &report).await;
                    return fail(
                        format!("cache switched to version {}", pdu.version()),
                        synced,
                    );
                }
                heard = true;
                match pdu {
                    Pdu::SerialNotify { serial, .. } => {
                        debug!(serial, "RTR serial notify");
                        if transfer.is_none() && awaiting.is_none() {
                            let q = self.query();
                            if let Err(e) = self.send(&mut wr, &q).await {
                                return fail(e, synced);
                            }
                            awaiting = Some(Instant::now() + self.cfg.response_timeout);
                        }
                    }
                    Pdu::CacheResponse { session_id, .. } => {
                        if transfer.is_some() {
                            return fail("Cache Response inside a transfer".into(), synced);
                        }
                        let full = match self.session {
                            Some((known, _)) if known != session_id => {
                                self.session = None;
                                return fail("the cache's session id changed".into(), synced);
                            }
                            Some(_) => false,
                            None => true,
                        };
                        transfer = Some(Transfer {
                            full,
                            changes: Vec::new(),
                        });
                    }
                    Pdu::Prefix { announce, vrp, .. } => match transfer.as_mut() {
                        Some(t) => t.changes.push(Change::Vrp(announce, vrp)),
                        None => return fail("Prefix PDU outside a transfer".into(), synced),
                    },
                    Pdu::Aspa {
                        announce,
                        customer,
                        providers,
                        ..
                    } => match transfer.as_mut() {
                        Some(t) => t
                            .changes
                            .push(Change::Aspa(customer, announce.then_some(providers))),
                        None => return fail("ASPA PDU outside a transfer".into(), synced),
                    },
                    Pdu::RouterKey { .. } => {}
                    Pdu::EndOfData {
                        session_id,
                        serial,
                        timing,
                        ..
                    } => {
                        let Some(t) = transfer.take() else {
                            return fail("End of Data outside a transfer".into(), synced);
                        };
                        if let Some(t) = timing {
                            self.refresh = secs(t.refresh.max(1));
                            self.retry = secs(t.retry.max(1));
                            self.expire = secs(t.expire.max(1));
                        }
                        self.commit(t, session_id, serial);
                        synced = true;
                        awaiting = None;
                        next_refresh = Instant::now() + self.refresh;
                    }
                    Pdu::CacheReset { .. } => {
                        info!("RTR cache reset: fetching everything again");
                        self.session = None;
                        transfer = None;
                        let q = self.query();
                        if let Err(e) = self.send(&mut wr, &q).await {
                            return fail(e, synced);
                        }
                        awaiting = Some(Instant::now() + self.cfg.response_timeout);
                    }
                    Pdu::SerialQuery { .. } | Pdu::ResetQuery { .. } | Pdu::ErrorReport { .. } => {
                        let report = Pdu::ErrorReport {
                            version: self.version,
                            code: error_code::INVALID_REQUEST,
                            pdu: pdu.to_bytes(),
                            text: "a query sent to a router".into(),
                        };
                        let _ = self.send(&mut wr, &report).await;
                        return fail("the cache sent a query".into(), synced);
                    }
                }
            }
            if dec.is_broken() {
                return fail("corrupt stream from the cache".into(), synced);
            }
        }
    }

    /// Applies a completed transfer and publishes the snapshot.
    fn commit(&mut self, t: Transfer, session_id: u16, serial: u32) {
        let stats = if t.full {
            let mut fresh = RpkiSet::default();
            let st = fresh.apply(t.changes);
            self.set = fresh;
            st
        } else {
            self.set.apply(t.changes)
        };
        if stats.unknown_withdrawals + stats.duplicates > 0 {
            warn!(
                unknown_withdrawals = stats.unknown_withdrawals,
                duplicates = stats.duplicates,
                "RTR transfer had inconsistent records (ignored)"
            );
        }
        self.session = Some((session_id, serial));
        let now = SystemTime::now();
        let snap = RpkiSnapshot {
            serial,
            session_id,
            vrps: self.set.vrp_list(),
            aspas: self.set.aspa_list(),
            updated_at: now,
        };
        let (vrps, aspas) = (snap.vrps.len(), snap.aspas.len());
        info!(
            serial,
            full = t.full,
            vrps,
            aspas,
            added = stats.added,
            removed = stats.removed,
            "RTR data updated"
        );
        self.snap_tx.send_replace(Arc::new(snap));
        self.fresh_at = Instant::now();
        let was_stale = self.stale;
        self.stale = false;
        self.status_tx.send_modify(|s| {
            s.stale = false;
            s.last_sync = Some(now);
            s.last_error = None;
        });
        if was_stale {
            self.emit(RtrEvent::Fresh);
        }
        self.emit(RtrEvent::Synced {
            serial,
            full: t.full,
            vrps,
            aspas,
        });
    }
}
