//! Incident changes as they leave the engine, and where they go: the events
//! file (one JSON line each) and the store (a new version each). `bugyo
//! serve` and `bugyo replay` take changes the same way, so both store the
//! same incidents.
//!
//! [`StoreSink`] writes the changes of one batch in one transaction before
//! the loop goes on, so a change is in the store once detection has moved
//! past it, even if the process is killed the next moment. When the
//! database fails, the changes (and every later one, to keep their order)
//! go to a task that retries with backoff; errors are counted and logged,
//! and detection never waits for a dead database. At shutdown, changes
//! still unstored after a bounded wait are reported (they remain in the
//! events file and the archive, and a replay of the archive stores them).

use bugyo_detect::incident::IncidentEventKind;
use bugyo_detect::{Engine, Incident};
use bugyo_model::Timestamp;
use bugyo_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// One incident change with the incident's state at that moment.
#[derive(Clone, Debug)]
pub struct IncidentChange {
    /// What happened.
    pub event: IncidentEventKind,
    /// Data time of the change.
    pub time: Timestamp,
    /// The incident as it is now.
    pub incident: Incident,
    /// Its full JSON form (every prefix), as `bugyo replay --format json`.
    pub body: serde_json::Value,
}

impl IncidentChange {
    /// The event's name: `opened`, `updated` or `resolved`.
    pub fn event_name(&self) -> &'static str {
        match self.event {
            IncidentEventKind::Opened => "opened",
            IncidentEventKind::Updated => "updated",
            IncidentEventKind::Resolved => "resolved",
        }
    }

    /// Stores the change as a new version of its incident.
    pub async fn record(&self, store: &Store) -> bugyo_store::Result<bugyo_store::Recorded> {
        record_all(store, std::slice::from_ref(self))
            .await
            .map(|mut v| v.remove(0))
    }
}

/// Stores changes in one transaction, in order: all or none.
pub async fn record_all(
    store: &Store,
    changes: &[IncidentChange],
) -> bugyo_store::Result<Vec<bugyo_store::Recorded>> {
    let batch: Vec<_> = changes
        .iter()
        .map(|c| (&c.incident, c.event_name(), c.time, &c.body))
        .collect();
    store.record_incidents(&batch).await
}

/// The engine's pending changes, one per incident and batch (see
/// [`bugyo_detect::incident::coalesce_events`]).
pub fn take_changes(engine: &mut Engine) -> Vec<IncidentChange> {
    let events = bugyo_detect::incident::coalesce_events(engine.drain_events());
    let names = |a| engine.as_name(a);
    events
        .into_iter()
        .filter_map(|ev| {
            let inc = engine.incident(ev.id)?;
            Some(IncidentChange {
                event: ev.event,
                time: ev.time,
                incident: inc.clone(),
                body: inc.to_json(&names),
            })
        })
        .collect()
}

/// How recent an open incident's last route must be for `bugyo serve` to
/// take it over at a restart (30 days). Older ones were left open by a run
/// long gone, or by a replay of old data; they stay as they are.
pub const RESUME_HORIZON_SECS: i64 = 30 * 86_400;

/// Takes over into `engine` the incidents the store has open (see
/// [`Engine::resume`]), at the restart time `now`; returns how many.
pub async fn resume_open_incidents(
    engine: &mut Engine,
    store: &Store,
    now: Timestamp,
) -> bugyo_store::Result<usize> {
    let open = store
        .open_incident_states(now.plus_secs(-RESUME_HORIZON_SECS))
        .await?;
    Ok(engine.resume(open, now))
}

/// Counters of the store writer, shared with `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct StoreCounters {
    /// Versions written.
    pub stored: Arc<AtomicU64>,
    /// Changes waiting to be written.
    pub pending: Arc<AtomicU64>,
    /// Failed attempts (each retried).
    pub errors: Arc<AtomicU64>,
}

impl StoreCounters {
    /// Copies the counters into the loop's.
    pub(crate) fn read_into(&self, c: &mut crate::live::LiveCounters) {
        c.store_versions = self.stored.load(Ordering::Relaxed);
        c.store_pending = self.pending.load(Ordering::Relaxed);
        c.store_errors = self.errors.load(Ordering::Relaxed);
    }
}

/// Writes incident changes into the store: at once, in one transaction per
/// batch; through the retrying task while the database fails.
pub struct StoreSink {
    store: Store,
    retry: StoreWriter,
    counters: StoreCounters,
}

impl StoreSink {
    /// A sink into `store`.
    pub fn new(store: Store, counters: StoreCounters) -> StoreSink {
        StoreSink {
            retry: StoreWriter::start(store.clone(), counters.clone()),
            store,
            counters,
        }
    }

    /// Stores one batch of changes (nothing to do if empty).
    pub async fn write(&mut self, changes: &[IncidentChange]) {
        if changes.is_empty() {
            return;
        }
        // Earlier changes still waiting: these wait behind them.
        if self.counters.pending.load(Ordering::Relaxed) > 0 {
            self.retry.send(changes);
            return;
        }
        // A healthy database commits in milliseconds; a dead one must not
        // hold detection up (a connection attempt can hang for seconds).
        let attempt = tokio::time::timeout(INLINE_WAIT, record_all(&self.store, changes)).await;
        let result = match attempt {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {INLINE_WAIT:?}")),
        };
        match result {
            Ok(_) => {
                self.counters
                    .stored
                    .fetch_add(changes.len() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters.errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, changes = changes.len(), "incident changes not stored; queued for retry / インシデントの変更を保存できません。再試行に回します");
                self.retry.send(changes);
            }
        }
    }

    /// Waits for the retrying task (bounded when the database is down);
    /// returns how many changes could not be stored.
    pub async fn finish(self) -> u64 {
        self.retry.finish().await
    }
}

/// Retries incident changes into the store on its own task, in order.
pub struct StoreWriter {
    tx: mpsc::UnboundedSender<IncidentChange>,
    task: tokio::task::JoinHandle<u64>,
    counters: StoreCounters,
}

/// How long detection waits for the store before handing a batch to the
/// retrying task.
const INLINE_WAIT: Duration = Duration::from_secs(1);

/// The longest wait between attempts to store one change.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long shutdown waits for changes still unstored.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

impl StoreWriter {
    /// Starts the writer.
    pub fn start(store: Store, counters: StoreCounters) -> StoreWriter {
        let (tx, mut rx) = mpsc::unbounded_channel::<IncidentChange>();
        let c = counters.clone();
        let task = tokio::spawn(async move {
            let mut unstored = 0u64;
            let mut closing_since: Option<tokio::time::Instant> = None;
            while let Some(change) = rx.recv().await {
                let mut backoff = Duration::from_millis(200);
                loop {
                    match change.record(&store).await {
                        Ok(_) => {
                            c.stored.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(incident = change.incident.id, error = %e, "incident change not stored, retrying / インシデントの変更を保存できません。再試行します");
                            if rx.is_closed() {
                                let since =
                                    *closing_since.get_or_insert_with(tokio::time::Instant::now);
                                if since.elapsed() > SHUTDOWN_WAIT {
                                    unstored += 1;
                                    break;
                                }
                            }
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                        }
                    }
                }
                c.pending.fetch_sub(1, Ordering::Relaxed);
            }
            unstored
        });
        StoreWriter { tx, task, counters }
    }

    /// Queues changes (never blocks; the queue's length is counted).
    pub fn send(&self, changes: &[IncidentChange]) {
        for ch in changes {
            self.counters.pending.fetch_add(1, Ordering::Relaxed);
            if self.tx.send(ch.clone()).is_err() {
                self.counters.pending.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every queued change is stored (or, with the database
    /// down, for a bounded time); returns how many could not be stored.
    pub async fn finish(self) -> u64 {
        drop(self.tx);
        let unstored = self.task.await.unwrap_or(0);
        if unstored > 0 {
            tracing::error!(unstored, "incident changes not stored at shutdown; they are in the events file and the archive (replay the archive to store them) / 停止時に保存できなかったインシデントの変更があります。イベントファイルとアーカイブに残っています");
        }
        unstored
    }
}
