//! The live loop archives every feed event, reports incident changes as JSON
//! lines, and a replay of its archive reproduces its incidents exactly.

use bugyo_detect::{Engine, EngineConfig, Reference};
use bugyo_formats::mrt::{MrtReader, Nlri, UpdateEntry};
use bugyo_io::archive::ArchiveConfig;
use bugyo_io::feed::{apply, now, FeedEvent};
use bugyo_io::live::{run, LiveInputs, LiveOptions};
use bugyo_model::{AsLink, AsPath, Asn, PathAttributes, Peer, Prefix, Relationship};
use bugyo_state::AsGraph;
use bugyo_testdata::scratch;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Relationships of the tests' ASes: AS15169 is a customer of AS701, AS4713
/// (OCN) of AS2914; the collector peer AS2497 peers with both providers.
fn reference() -> Reference {
    let l = AsLink::new;
    let graph = AsGraph::new([
        l(701, 15169, Relationship::ProviderToCustomer),
        l(2914, 4713, Relationship::ProviderToCustomer),
        l(701, 2914, Relationship::PeerToPeer),
        l(2497, 2914, Relationship::PeerToPeer),
        l(2497, 701, Relationship::PeerToPeer),
    ]);
    Reference {
        graph,
        ..Reference::default()
    }
}

/// An engine judging with [`reference`], no learning window.
fn engine() -> Engine {
    let config = EngineConfig {
        learning_secs: 0,
        ..EngineConfig::default()
    };
    Engine::new(reference(), config)
}

type LoopTask = tokio::task::JoinHandle<std::io::Result<(Engine, bugyo_io::live::LiveSummary)>>;

/// Starts the live loop; returns the feed, the stop switch and the task.
fn start(options: LiveOptions) -> (mpsc::Sender<FeedEvent>, watch::Sender<bool>, LoopTask) {
    start_with(engine(), None, options)
}

/// [`start`] with a given engine and, optionally, a reference-reload channel.
fn start_with(
    engine: Engine,
    reference: Option<mpsc::Receiver<Reference>>,
    options: LiveOptions,
) -> (mpsc::Sender<FeedEvent>, watch::Sender<bool>, LoopTask) {
    let (tx, feed) = mpsc::channel(1024);
    let (stop_tx, shutdown) = watch::channel(false);
    let inputs = LiveInputs {
        feed,
        rpki: None,
        reference,
        queries: None,
        shutdown,
    };
    (tx, stop_tx, tokio::spawn(run(engine, inputs, options)))
}

/// Brings the collector peer's session up and sends its normal route to
/// `n` OCN /16s (through AS2914).
async fn learn_ocn(tx: &mpsc::Sender<FeedEvent>, n: u32) {
    let peer = peer();
    tx.send(FeedEvent::SessionUp { time: now(), peer })
        .await
        .unwrap();
    tx.send(update(peer, &[2497, 2914, 4713], ocn(n), vec![]))
        .await
        .unwrap();
}

/// The events file's lines.
fn read_events(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The collector peer of these tests.
fn peer() -> Peer {
    Peer::new(Asn(2497), "127.0.0.2".parse().unwrap())
}

/// `n` OCN /16s.
fn ocn(n: u32) -> Vec<Prefix> {
    (0..n)
        .map(|i| Prefix::v4((60 << 24) | (i << 16), 16).unwrap())
        .collect()
}

fn update(peer: Peer, path: &[u32], announced: Vec<Prefix>, withdrawn: Vec<Prefix>) -> FeedEvent {
    let nlri = |v: Vec<Prefix>| {
        v.into_iter()
            .map(|prefix| Nlri {
                prefix,
                path_id: None,
            })
            .collect()
    };
    FeedEvent::Update(UpdateEntry {
        time: now(),
        extended: true,
        peer,
        withdrawn: nlri(withdrawn),
        attrs: (!announced.is_empty()).then(|| {
            Arc::new(PathAttributes {
                as_path: AsPath::from_sequence(path.iter().copied()),
                next_hop: Some(peer.addr),
                ..PathAttributes::default()
            })
        }),
        announced: nlri(announced),
        ..UpdateEntry::default()
    })
}

#[tokio::test]
async fn archives_reports_and_replays_identically() {
    let dir = scratch("live");
    let events_path = dir.join("events.jsonl");
    let options = LiveOptions {
        archive: Some(ArchiveConfig::new(dir.join("archive"))),
        events: Some(events_path.clone()),
        ..LiveOptions::default()
    };
    let stats = options.stats.clone();
    let (tx, stop_tx, task) = start(options);

    let peer = peer();
    tx.send(FeedEvent::SessionUp { time: now(), peer })
        .await
        .unwrap();
    let ocn = ocn(64);
    tx.send(update(peer, &[2497, 2914, 4713], ocn.clone(), vec![]))
        .await
        .unwrap();
    // The leak: more-specifics of OCN via AS15169 and its provider AS701.
    let leaked: Vec<Prefix> = (0..64u32)
        .map(|i| Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap())
        .collect();
    tx.send(update(
        peer,
        &[2497, 701, 15169, 4713],
        leaked.clone(),
        vec![],
    ))
    .await
    .unwrap();
    tx.send(update(peer, &[], vec![], leaked[..32].to_vec()))
        .await
        .unwrap();
    stop_tx.send(true).unwrap();
    drop(tx);
    let (live, summary) = task.await.unwrap().unwrap();
    assert_eq!(summary.feed_events, 4);
    assert_eq!(summary.archived, 4);
    assert_eq!(summary.routes, 64 + 64 + 32);
    // The counters /metrics shows: every route judged, each with its delay.
    let c = stats.snapshot();
    assert_eq!(c.routes_judged, 64 + 64 + 32);
    assert_eq!(c.rib_routes, 64 + 32);
    assert_eq!(c.rib_peers, 1);
    assert_eq!(c.archived, 4);
    assert_eq!(c.detection_delay.count(), 64 + 64 + 32);
    assert!(c.detection_delay.quantile(0.99).unwrap() < 10.0);

    // One leak incident, reported as opened in the events file.
    assert_eq!(live.incidents().len(), 1);
    assert_eq!(live.incidents()[0].culprit, Some(Asn(15169)));
    let lines = read_events(&events_path);
    assert_eq!(lines[0]["event"], "opened");
    assert_eq!(lines[0]["kind"], "route-leak");
    assert_eq!(lines[0]["leaked_to_asn"], 701);

    // Replay of the archive gives the same incidents.
    let mut replayed = engine();
    let mut files: Vec<_> = walk(&dir.join("archive"));
    files.sort();
    assert!(!files.is_empty());
    let mut n = 0;
    for f in files {
        for e in MrtReader::open(&f).unwrap().flatten() {
            apply(&mut replayed, &e);
            n += 1;
        }
    }
    assert_eq!(n, 4, "every feed event is in the archive");
    let names = |_| None;
    let a: Vec<_> = live.incidents().iter().map(|i| i.to_json(&names)).collect();
    let b: Vec<_> = replayed
        .incidents()
        .iter()
        .map(|i| i.to_json(&names))
        .collect();
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(dir);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn writes_rib_snapshots_into_the_archive() {
    let dir = scratch("live-rib");
    let options = LiveOptions {
        archive: Some(ArchiveConfig::new(dir.join("archive"))),
        rib_snapshot_secs: Some(1),
        ..LiveOptions::default()
    };
    let (tx, stop_tx, task) = start(options);
    learn_ocn(&tx, 10).await;
    // Bounded: a snapshot is due within a second; allow three.
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    stop_tx.send(true).unwrap();
    let (_, summary) = task.await.unwrap().unwrap();
    assert!(summary.rib_snapshots >= 1, "{summary:?}");
    let bviews: Vec<_> = walk(&dir.join("archive"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("bview.")
        })
        .collect();
    assert!(!bviews.is_empty());
    let routes: Vec<_> = MrtReader::open(&bviews[bviews.len() - 1])
        .unwrap()
        .flatten()
        .filter(|e| matches!(e, bugyo_formats::mrt::MrtEntry::Rib(_)))
        .collect();
    assert_eq!(routes.len(), 10, "the snapshot holds the peer's 10 routes");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn prunes_archive_files_past_retention() {
    let dir = scratch("live-prune");
    let archive = dir.join("archive");
    // A file from 100 days ago, and one from today's loop.
    let old = bugyo_io::archive::file_path(&archive, "updates", now().secs - 100 * 86_400);
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::write(&old, b"").unwrap();
    let options = LiveOptions {
        archive: Some(ArchiveConfig {
            retention_days: Some(30),
            ..ArchiveConfig::new(&archive)
        }),
        ..LiveOptions::default()
    };
    let (tx, stop_tx, task) = start(options);
    let peer = peer();
    tx.send(FeedEvent::SessionUp { time: now(), peer })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    stop_tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert!(!old.exists(), "a file past retention is removed");
    let current: Vec<_> = walk(&archive)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("updates."))
        .collect();
    assert_eq!(current.len(), 1, "today's file stays: {current:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Reloaded reference data takes effect for the routes that follow: a leak
/// path judged without relationships is quiet; after relationships arrive,
/// the same kind of path is a route leak.
#[tokio::test]
async fn reloaded_reference_data_judges_later_routes() {
    let bare = Engine::new(
        Reference::default(),
        EngineConfig {
            learning_secs: 0,
            ..EngineConfig::default()
        },
    );
    let (ref_tx, ref_rx) = mpsc::channel(1);
    let (tx, stop_tx, task) = start_with(bare, Some(ref_rx), LiveOptions::default());
    let peer = peer();
    learn_ocn(&tx, 4).await;
    let leak = |i: u32| Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap();
    tx.send(update(
        peer,
        &[2497, 701, 15169, 4713],
        vec![leak(0)],
        vec![],
    ))
    .await
    .unwrap();
    // Give the loop time to judge those before the reload arrives.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    ref_tx.send(reference()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    tx.send(update(
        peer,
        &[2497, 701, 15169, 4713],
        vec![leak(1)],
        vec![],
    ))
    .await
    .unwrap();
    stop_tx.send(true).unwrap();
    drop(tx);
    let (live, summary) = task.await.unwrap().unwrap();
    assert_eq!(summary.reference_reloads, 1);
    let leaks: Vec<_> = live
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "route-leak")
        .collect();
    assert_eq!(leaks.len(), 1, "only the route after the reload");
    assert_eq!(leaks[0].prefixes.len(), 1);
    assert!(leaks[0].prefixes.contains_key(&leak(1)));
}

/// An events-file line lists at most `MAX_EVENT_PREFIXES` prefixes and
/// counts the rest; `prefix_count` stays exact.
#[tokio::test]
async fn event_lines_cap_their_prefix_lists() {
    let dir = scratch("live-cap");
    let events_path = dir.join("events.jsonl");
    let options = LiveOptions {
        events: Some(events_path.clone()),
        ..LiveOptions::default()
    };
    let (tx, stop_tx, task) = start(options);
    let peer = peer();
    learn_ocn(&tx, 64).await;
    let leaked: Vec<Prefix> = (0..64u32)
        .flat_map(|i| {
            (0..24u32).map(move |j| Prefix::v4((60 << 24) | (i << 16) | (j << 8), 24).unwrap())
        })
        .collect();
    assert_eq!(leaked.len(), 1_536);
    tx.send(update(peer, &[2497, 701, 15169, 4713], leaked, vec![]))
        .await
        .unwrap();
    // The settled report of the final size comes a second later.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    stop_tx.send(true).unwrap();
    drop(tx);
    task.await.unwrap().unwrap();
    let lines = read_events(&events_path);
    let last = lines.last().unwrap();
    assert_eq!(last["prefix_count"], 1_536);
    assert_eq!(
        last["prefixes"].as_array().unwrap().len(),
        bugyo_io::live::MAX_EVENT_PREFIXES
    );
    assert_eq!(last["prefixes_omitted"], 536);
    let _ = std::fs::remove_dir_all(dir);
}

/// The loop answers questions about its RIB between feed events: the
/// routes carried for a prefix, its origins and their RPKI validity; a
/// prefix it has not seen has none.
#[tokio::test]
async fn answers_questions_about_the_live_rib() {
    let (queries, rx) = bugyo_io::rib_query::RibQueries::new();
    let (tx, feed) = mpsc::channel(1024);
    let (stop_tx, shutdown) = watch::channel(false);
    let inputs = LiveInputs {
        feed,
        rpki: None,
        reference: None,
        queries: Some(rx),
        shutdown,
    };
    let task = tokio::spawn(run(engine(), inputs, LiveOptions::default()));
    learn_ocn(&tx, 4).await;
    let unseen = Prefix::v4(192 << 24, 8).unwrap();
    let limit = std::time::Duration::from_secs(5);
    let mut asked = ocn(2);
    asked.push(unseen);
    // The question may overtake the routes in the loop: ask until they are in.
    let mut states = Vec::new();
    for _ in 0..50 {
        states = queries.ask(&asked, limit).await.expect("an answer");
        if states[0].routes > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(states.len(), 3);
    assert_eq!(states[0].prefix, asked[0]);
    assert_eq!((states[0].routes, states[0].peers), (1, 1));
    assert_eq!(states[0].origins, vec![(4713, "not-found")]);
    assert_eq!((states[2].routes, states[2].origins.len()), (0, 0));
    stop_tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    // A stopped loop answers nothing, and the asker does not hang.
    assert_eq!(queries.ask(&asked, limit).await, None);
}
