//! The live detection loop: feed events in, each archived as it arrives and
//! judged by the same engine as `bugyo replay`; incident changes out as JSON
//! lines (the schema of `bugyo replay --format json` plus `event` and
//! `event_time`) and into the store as new versions. Data time is arrival
//! time.

use crate::archive::{ArchiveConfig, UpdateArchive};
use crate::feed::{apply, now, FeedEvent};
use crate::incidents::{resume_open_incidents, take_changes, StoreCounters, StoreSink};
use crate::metrics::Histogram;
use crate::rtr::RpkiSnapshot;
use bugyo_detect::{Engine, Reference};
use bugyo_state::{AspaIndex, VrpIndex};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Where the live loop writes.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// The MRT archive of every received message, if any.
    pub archive: Option<ArchiveConfig>,
    /// The file incident changes are appended to, if any.
    pub events: Option<PathBuf>,
    /// The store incident changes are recorded in, if any.
    pub store: Option<bugyo_store::Store>,
    /// Write a RIB snapshot (TABLE_DUMP_V2) into the archive this often, in
    /// seconds, at multiples of the period (RIS: every 8 hours, RouteViews:
    /// every 2; 3600 is a good default). `None`: no snapshots.
    pub rib_snapshot_secs: Option<i64>,
    /// Counters the loop keeps current for `/metrics`.
    pub stats: LiveStats,
}

/// What the detection loop has done so far, for `/metrics`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveCounters {
    /// Routes in the RIB, all peers.
    pub rib_routes: u64,
    /// Peers the RIB has seen.
    pub rib_peers: u64,
    /// Announcements and withdrawals judged.
    pub routes_judged: u64,
    /// Messages written to the archive.
    pub archived: u64,
    /// Incident changes written.
    pub incident_events: u64,
    /// Incident versions recorded in the store.
    pub store_versions: u64,
    /// Incident changes waiting for the store.
    pub store_pending: u64,
    /// Failed attempts to write to the store (each retried).
    pub store_errors: u64,
    /// Incidents open now.
    pub incidents_open: u64,
    /// Feed events waiting in the queue.
    pub feed_queue: u64,
    /// The RIB's own estimate of its parts, in bytes (updated twice a second).
    pub rib_memory: Option<bugyo_state::rib::RibMemory>,
    /// Per route, from its UPDATE's arrival to judged and any incident
    /// change written and flushed.
    pub detection_delay: Histogram,
}

/// The loop's counters, shared with the metrics endpoint.
#[derive(Clone, Debug, Default)]
pub struct LiveStats(Arc<Mutex<LiveCounters>>);

impl LiveStats {
    /// A copy of the counters now.
    pub fn snapshot(&self) -> LiveCounters {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut LiveCounters)) {
        if let Ok(mut c) = self.0.lock() {
            f(&mut c);
        }
    }
}

/// What the loop did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LiveSummary {
    /// Feed events received.
    pub feed_events: u64,
    /// Announcements and withdrawals applied.
    pub routes: u64,
    /// Entries written to the archive.
    pub archived: u64,
    /// Incident changes written.
    pub incident_events: u64,
    /// RPKI data sets applied.
    pub rpki_updates: u64,
    /// RIB snapshots written.
    pub rib_snapshots: u64,
    /// Reference data sets replaced (reloaded files).
    pub reference_reloads: u64,
    /// Incident changes the store could not take by shutdown.
    pub unstored: u64,
}

/// Puts the RTR cache's current data into force.
fn apply_rpki(engine: &mut Engine, rx: &watch::Receiver<Arc<RpkiSnapshot>>) {
    let snap = Arc::clone(&rx.borrow());
    engine.set_rpki(
        VrpIndex::new(snap.vrps.iter().copied()),
        AspaIndex::new(snap.aspas.iter().cloned()),
    );
}

/// The RIB as it is now, as TABLE_DUMP_V2 entries stamped `time` (cheap:
/// the attributes are shared, not copied).
fn rib_entries(engine: &Engine, time: bugyo_model::Timestamp) -> Vec<bugyo_formats::mrt::RibEntry> {
    use bugyo_formats::mrt::{RibEntry, RibKind};
    let rib = engine.rib();
    let mut routes = Vec::with_capacity(rib.route_count() as usize);
    for (i, info) in rib.peers().iter().enumerate() {
        for (prefix, path_id, attrs) in rib.routes_of(bugyo_state::PeerId(i as u16)) {
            routes.push(RibEntry {
                time,
                kind: if path_id == 0 {
                    RibKind::TableDumpV2
                } else {
                    RibKind::TableDumpV2AddPath
                },
                peer: info.peer,
                prefix,
                path_id: (path_id != 0).then_some(path_id),
                attrs: Arc::clone(attrs),
                originated: time,
            });
        }
    }
    routes
}

/// A RIB snapshot being written on a blocking thread, so that the loop
/// keeps judging routes meanwhile (a full table takes seconds to compress).
type SnapshotTask = tokio::task::JoinHandle<io::Result<PathBuf>>;

/// Waits for a snapshot being written and reports it; its error stops the
/// loop like any archive error.
async fn finish_snapshot(task: SnapshotTask, summary: &mut LiveSummary) -> io::Result<()> {
    let path = task.await.map_err(io::Error::other)??;
    tracing::info!(path = %path.display(), "RIB snapshot written");
    summary.rib_snapshots += 1;
    Ok(())
}

/// How often the archive and the events file are flushed, and quiet
/// incidents are resolved, when no event arrives.
const TICK: Duration = Duration::from_millis(500);

/// The most prefixes an events-file line lists; the rest are counted in
/// `prefixes_omitted` (a 150,000-prefix leak would otherwise write megabytes
/// at every change). `bugyo replay` over the archive lists them all.
pub const MAX_EVENT_PREFIXES: usize = 1_000;

/// Where incident changes go: the store and the events file.
struct ChangeSinks {
    events: Option<BufWriter<File>>,
    store: Option<StoreSink>,
}

/// Writes the engine's pending incident changes: into the store (one
/// transaction), then to the events file, flushed at once (they are rare,
/// and someone may be waiting for them).
async fn write_incident_events(engine: &mut Engine, sinks: &mut ChangeSinks) -> io::Result<u64> {
    let changes = take_changes(engine);
    if changes.is_empty() {
        return Ok(0);
    }
    if let Some(store) = &mut sinks.store {
        store.write(&changes).await;
    }
    let Some(out) = &mut sinks.events else {
        return Ok(changes.len() as u64);
    };
    for ch in &changes {
        let mut json = ch.body.clone();
        if let Some(obj) = json.as_object_mut() {
            obj.insert("event".into(), ch.event_name().into());
            obj.insert("event_time".into(), ch.time.rfc3339().into());
            let mut omitted = 0;
            if let Some(serde_json::Value::Array(list)) = obj.get_mut("prefixes") {
                omitted = list.len().saturating_sub(MAX_EVENT_PREFIXES);
                list.truncate(MAX_EVENT_PREFIXES);
            }
            obj.insert("prefixes_omitted".into(), omitted.into());
        }
        writeln!(out, "{json}")?;
    }
    out.flush()?;
    Ok(changes.len() as u64)
}

/// Archives one feed event, then judges it and writes the incident changes
/// it caused: archived first, so that what detection saw is always in the
/// archive. Returns the routes it carried.
async fn ingest(
    ev: FeedEvent,
    engine: &mut Engine,
    archive: &mut Option<UpdateArchive>,
    sinks: &mut ChangeSinks,
    summary: &mut LiveSummary,
) -> io::Result<u64> {
    summary.feed_events += 1;
    let entry = ev.into_mrt();
    if let Some(a) = archive {
        a.write(&entry)?;
        summary.archived += 1;
    }
    let routes = apply(engine, &entry);
    summary.routes += routes;
    summary.incident_events += write_incident_events(engine, sinks).await?;
    Ok(routes)
}

/// Brings the shared counters up to date after one feed event that arrived
/// at `arrived` and carried `routes` routes.
fn count(
    stats: &LiveStats,
    engine: &Engine,
    summary: &LiveSummary,
    arrived: bugyo_model::Timestamp,
    routes: u64,
    queue: usize,
) {
    let t = now();
    let delay =
        (t.secs - arrived.secs) as f64 + (f64::from(t.micros) - f64::from(arrived.micros)) / 1e6;
    stats.update(|c| {
        c.rib_routes = engine.rib().route_count();
        c.rib_peers = engine.rib().peers().len() as u64;
        c.routes_judged = summary.routes;
        c.archived = summary.archived;
        c.incident_events = summary.incident_events;
        c.feed_queue = queue as u64;
        c.incidents_open = engine.open_incidents() as u64;
        if routes > 0 {
            c.detection_delay.observe(delay.max(0.0), routes);
        }
    });
}

/// What the loop listens to.
pub struct LiveInputs {
    /// Route events from the BGP speaker and the BMP station.
    pub feed: mpsc::Receiver<FeedEvent>,
    /// RPKI data from an RTR cache, if one is configured: each new set
    /// replaces the VRPs and ASPA records.
    pub rpki: Option<watch::Receiver<Arc<RpkiSnapshot>>>,
    /// Reloaded reference data (changed files), if anyone reloads it. RPKI
    /// data from an RTR cache stays in force over a reloaded file's.
    pub reference: Option<mpsc::Receiver<Reference>>,
    /// Questions about the live RIB (the portal's dashboard), if anyone
    /// asks them.
    pub queries: Option<mpsc::Receiver<crate::rib_query::RibQuery>>,
    /// Turns true to stop the loop.
    pub shutdown: watch::Receiver<bool>,
}

/// Runs until the feed closes or `shutdown` turns true; returns the engine
/// (for inspection) and counters. An archive or events-file write error
/// stops the loop with that error: nothing is dropped silently.
pub async fn run(
    mut engine: Engine,
    inputs: LiveInputs,
    options: LiveOptions,
) -> io::Result<(Engine, LiveSummary)> {
    let LiveInputs {
        mut feed,
        mut rpki,
        mut reference,
        mut queries,
        mut shutdown,
    } = inputs;
    // Whether RTR data has arrived (it then wins over a reloaded file's).
    let mut rtr_applied = false;
    let archive_dir = options.archive.as_ref().map(|a| a.dir.clone());
    let retention = options
        .archive
        .clone()
        .filter(|a| a.retention_days.is_some());
    let mut next_prune = now().secs;
    let mut archive = options.archive.map(UpdateArchive::new);
    let period = options.rib_snapshot_secs.filter(|p| *p > 0);
    let mut next_snapshot = period.map(|p| {
        let t = now().secs;
        t - t.rem_euclid(p) + p
    });
    let events = match &options.events {
        Some(p) => Some(BufWriter::new(
            OpenOptions::new().create(true).append(true).open(p)?,
        )),
        None => None,
    };
    if let Some(store) = &options.store {
        // A restart: the incidents still open go on where they were.
        let taken = resume_open_incidents(&mut engine, store, now())
            .await
            .map_err(|e| {
                io::Error::other(format!(
                    "reading the open incidents from the store: {e} / ストアから未解決のインシデントを読めません: {e}"
                ))
            })?;
        if taken > 0 {
            tracing::info!(
                incidents = taken,
                "open incidents taken over from the store / ストアの未解決インシデントを引き継ぎました"
            );
        }
    }
    let store_counters = StoreCounters::default();
    let mut sinks = ChangeSinks {
        events,
        store: options
            .store
            .map(|s| StoreSink::new(s, store_counters.clone())),
    };
    let stats = options.stats.clone();
    let mut writing: Option<SnapshotTask> = None;
    let mut summary = LiveSummary::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            ev = feed.recv() => {
                let Some(ev) = ev else { break };
                let arrived = ev.time();
                let routes = ingest(ev, &mut engine, &mut archive, &mut sinks, &mut summary).await?;
                count(&stats, &engine, &summary, arrived, routes, feed.len());
            }
            _ = tick.tick() => {
                let t = now();
                engine.advance(t);
                if writing.as_ref().is_some_and(|t| t.is_finished()) {
                    if let Some(task) = writing.take() {
                        finish_snapshot(task, &mut summary).await?;
                    }
                }
                if let (Some(due), Some(p), Some(dir)) = (next_snapshot, period, &archive_dir) {
                    // One snapshot at a time: a slow disk delays the next.
                    if t.secs >= due && writing.is_none() {
                        let at = bugyo_model::Timestamp::from_secs(due);
                        let routes = rib_entries(&engine, at);
                        let dir = dir.clone();
                        writing = Some(tokio::task::spawn_blocking(move || {
                            crate::archive::write_rib_snapshot(&dir, at, &routes)
                        }));
                        next_snapshot = Some(due + p);
                    }
                }
                // Retention: old archive files are removed once an hour.
                if let Some(cfg) = &retention {
                    if t.secs >= next_prune {
                        let removed = crate::archive::prune(cfg, t)?;
                        if removed > 0 {
                            tracing::info!(removed, "archive files past retention removed");
                        }
                        next_prune = t.secs + 3600;
                    }
                }
                summary.incident_events += write_incident_events(&mut engine, &mut sinks).await?;
                if let Some(a) = &mut archive {
                    a.flush()?;
                }
                let open = engine.open_incidents() as u64;
                let memory = engine.rib().memory();
                stats.update(|c| {
                    c.rib_memory = Some(memory);
                    c.incidents_open = open;
                    c.incident_events = summary.incident_events;
                    c.rib_routes = engine.rib().route_count();
                    store_counters.read_into(c);
                });
            }
            changed = async {
                match &mut rpki {
                    Some(rx) => rx.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                match changed {
                    Ok(()) => {
                        if let Some(rx) = &rpki {
                            apply_rpki(&mut engine, rx);
                            rtr_applied = true;
                            summary.rpki_updates += 1;
                        }
                    }
                    // The RTR client is gone: keep the last data.
                    Err(_) => rpki = None,
                }
            }
            new = async {
                match &mut reference {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match new {
                    Some(r) => {
                        engine.set_reference(r);
                        if let (Some(rx), true) = (&rpki, rtr_applied) {
                            apply_rpki(&mut engine, rx);
                        }
                        summary.reference_reloads += 1;
                        tracing::info!("reference data replaced");
                    }
                    None => reference = None,
                }
            }
            q = async {
                match &mut queries {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match q {
                    Some(q) => q.answer(&engine),
                    None => queries = None,
                }
            }
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
        }
    }
    // Drain what is already queued, so nothing acknowledged is lost.
    while let Ok(ev) = feed.try_recv() {
        let arrived = ev.time();
        let routes = ingest(ev, &mut engine, &mut archive, &mut sinks, &mut summary).await?;
        count(&stats, &engine, &summary, arrived, routes, feed.len());
    }
    summary.incident_events += write_incident_events(&mut engine, &mut sinks).await?;
    if let Some(task) = writing.take() {
        finish_snapshot(task, &mut summary).await?;
    }
    if let Some(mut a) = archive {
        a.close()?;
    }
    if let Some(mut e) = sinks.events {
        e.flush()?;
        e.get_ref().sync_all()?;
    }
    if let Some(store) = sinks.store {
        summary.unstored = store.finish().await;
    }
    stats.update(|c| store_counters.read_into(c));
    Ok((engine, summary))
}
