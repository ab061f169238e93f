//! RTR client (RFC 8210, falling back to RFC 6810): keeps the VRPs and ASPA
//! records of an RPKI cache current and publishes them.
//!
//! [`RtrClient::spawn`] starts a tokio task that connects to the cache,
//! negotiates the protocol version, fetches the whole data set (Reset
//! Query), then keeps it current with Serial Queries on Serial Notify and on
//! the refresh timer. Each completed transfer is published through a
//! `watch` channel as an [`RpkiSnapshot`], so the detection engine can
//! rebuild its `VrpIndex` from it. After an error the client reconnects with
//! exponential backoff; when no transfer has completed for the expire
//! interval the data is stale ([`RtrClient::stale`]) and an
//! [`RtrEvent::Stale`] alarm is sent.

mod client;
pub mod set;

use bugyo_model::{Aspa, Vrp};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

/// How to reach the cache and how patient to be.
#[derive(Debug, Clone)]
pub struct RtrConfig {
    /// The cache as `HOST:PORT`.
    pub server: String,
    /// The highest protocol version to try first (1; 2 for ASPA).
    pub version: u8,
    /// Longest wait for the TCP connection.
    pub connect_timeout: Duration,
    /// Longest wait for an answer to a query, or between the PDUs of a
    /// transfer.
    pub response_timeout: Duration,
    /// First wait before reconnecting after an error.
    pub backoff_min: Duration,
    /// Longest wait before reconnecting.
    pub backoff_max: Duration,
    /// Refresh interval until the cache sends its own (always in version 0).
    pub refresh: Duration,
    /// Retry interval until the cache sends its own.
    pub retry: Duration,
    /// Expire interval until the cache sends its own.
    pub expire: Duration,
}

impl RtrConfig {
    /// The defaults of RFC 8210 §6 for a cache at `server`.
    pub fn new(server: impl Into<String>) -> RtrConfig {
        RtrConfig {
            server: server.into(),
            version: 1,
            connect_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            refresh: Duration::from_secs(3600),
            retry: Duration::from_secs(600),
            expire: Duration::from_secs(7200),
        }
    }
}

/// The cache's data after a completed transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpkiSnapshot {
    /// The cache's serial (0 before the first transfer).
    pub serial: u32,
    /// The cache's session id (0 before the first transfer).
    pub session_id: u16,
    /// The VRPs, sorted.
    pub vrps: Vec<Vrp>,
    /// The ASPA records, sorted by customer.
    pub aspas: Vec<Aspa>,
    /// When the transfer completed (the Unix epoch before the first one).
    pub updated_at: SystemTime,
}

impl Default for RpkiSnapshot {
    fn default() -> Self {
        RpkiSnapshot {
            serial: 0,
            session_id: 0,
            vrps: Vec::new(),
            aspas: Vec::new(),
            updated_at: SystemTime::UNIX_EPOCH,
        }
    }
}

/// Something that happened to the client, for logs and alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtrEvent {
    /// Connected to the cache, speaking `version`.
    Connected {
        /// The protocol version in use.
        version: u8,
    },
    /// The cache speaks an older version: reconnecting with it.
    Downgraded {
        /// The version now used.
        version: u8,
    },
    /// A transfer completed and a new snapshot was published.
    Synced {
        /// The new serial.
        serial: u32,
        /// True for a full (Reset Query) transfer.
        full: bool,
        /// VRPs now held.
        vrps: usize,
        /// ASPA records now held.
        aspas: usize,
    },
    /// The connection failed or was lost.
    Disconnected {
        /// Why.
        reason: String,
    },
    /// Alarm: no transfer completed within the expire interval.
    Stale {
        /// When the last transfer completed, if ever.
        last_sync: Option<SystemTime>,
    },
    /// The data is current again after being stale.
    Fresh,
}

/// The client's state, for health checks and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtrStatus {
    /// True while a TCP session to the cache is up.
    pub connected: bool,
    /// The protocol version of the current or last session.
    pub version: Option<u8>,
    /// True when no transfer completed within the expire interval.
    pub stale: bool,
    /// When the last transfer completed.
    pub last_sync: Option<SystemTime>,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Connections attempted since the start.
    pub connects: u64,
}

/// A running RTR client; dropping it stops the task.
pub struct RtrClient {
    snapshot: watch::Receiver<Arc<RpkiSnapshot>>,
    status: watch::Receiver<RtrStatus>,
    events: broadcast::Sender<RtrEvent>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RtrClient {
    /// Starts the client on the current tokio runtime.
    pub fn spawn(config: RtrConfig) -> RtrClient {
        let (snap_tx, snapshot) = watch::channel(Arc::new(RpkiSnapshot::default()));
        let (status_tx, status) = watch::channel(RtrStatus::default());
        let (events, _) = broadcast::channel(256);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let runner = client::Runner::new(config, snap_tx, status_tx, events.clone(), shutdown_rx);
        let task = tokio::spawn(runner.run());
        RtrClient {
            snapshot,
            status,
            events,
            shutdown,
            task: Some(task),
        }
    }

    /// A receiver of the current snapshot, updated after each transfer.
    pub fn snapshot(&self) -> watch::Receiver<Arc<RpkiSnapshot>> {
        self.snapshot.clone()
    }

    /// A receiver of the client's status.
    pub fn status(&self) -> watch::Receiver<RtrStatus> {
        self.status.clone()
    }

    /// A receiver of events from now on.
    pub fn events(&self) -> broadcast::Receiver<RtrEvent> {
        self.events.subscribe()
    }

    /// True when the data is older than the expire interval.
    pub fn stale(&self) -> bool {
        self.status.borrow().stale
    }

    /// Stops the client and waits (at most 5 s) for its task to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for RtrClient {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
