//! `bugyo serve`: the live path. BGP sessions and BMP routers feed the same
//! detection engine as `bugyo replay`; every received message is archived as
//! MRT under `--data-dir`; incident changes are appended to `--events` as JSON
//! lines; reference files are reloaded when they change. Configured by
//! flags over an optional TOML file (see [`crate::serve_config`]).
//! SIGTERM or Ctrl-C stops it cleanly: queued messages are archived and
//! judged, files are closed.

use crate::load::{load_reference, ReferenceArgs};
use crate::serve_config::{Flags, ServeConfig, Settings};
use bugyo_detect::{Engine, EngineConfig, Reference};
use bugyo_io::archive::ArchiveConfig;
use bugyo_io::bgp::{BgpConfig, PeerConfig};
use bugyo_io::live::{self, LiveInputs, LiveOptions};
use bugyo_io::metrics::IntakeStats;
use bugyo_io::rtr::{RtrClient, RtrConfig};
use bugyo_model::Asn;
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// A configured peer, written `ASN@IP` on the command line.
#[derive(Clone, Debug)]
pub struct PeerArg {
    /// The peer's AS.
    pub asn: Asn,
    /// Its address.
    pub addr: IpAddr,
}

impl std::str::FromStr for PeerArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, ip) = s
            .split_once('@')
            .ok_or_else(|| format!("{s:?}: expected ASN@IP, e.g. 65001@127.0.0.2"))?;
        let asn: Asn = a.parse().map_err(|_| format!("{s:?}: bad ASN {a:?}"))?;
        let addr: IpAddr = ip
            .parse()
            .map_err(|_| format!("{s:?}: bad address {ip:?}"))?;
        Ok(PeerArg { asn, addr })
    }
}

/// Feed events (UPDATEs, session changes) waiting for detection, at most.
const FEED_QUEUE: usize = 2_048;

/// Arguments of `bugyo serve`. Each flag left out takes its value from
/// `--config FILE`, else the built-in default (see docs/serve.example.toml).
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A TOML configuration file (docs/serve.example.toml); flags win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the archive and the default events file go (default: bugyo-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// bugyo's own AS number on BGP sessions (default: 65535).
    #[arg(long, value_name = "N")]
    pub local_asn: Option<Asn>,
    /// bugyo's BGP identifier (default: 127.0.0.1).
    #[arg(long, value_name = "IP")]
    pub router_id: Option<Ipv4Addr>,
    /// Where to accept BGP sessions (default: 127.0.0.1:1179).
    #[arg(long, value_name = "ADDR")]
    pub bgp_listen: Option<SocketAddr>,
    /// Where to serve the API, its OpenAPI document and `/metrics` (default: 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Where to accept BMP connections from monitored routers, if anywhere.
    #[arg(long, value_name = "ADDR")]
    pub bmp_listen: Option<SocketAddr>,
    /// A BGP peer allowed to connect, `ASN@IP` (repeatable; adds to the file's).
    #[arg(long = "peer", value_name = "ASN@IP")]
    pub peers: Vec<PeerArg>,
    /// An RTR cache to take VRPs (and ASPA) from, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub rtr: Option<String>,
    /// Reference data files (reloaded when they change).
    #[command(flatten)]
    pub reference: ReferenceArgs,
    /// Append incident changes here (default: DATA_DIR/events.jsonl).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// The store for incidents, members and tokens: `sqlite://PATH` or
    /// `postgres://USER@HOST/DB` (default: DATA_DIR/bugyo.db).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// Where notices go out (e-mail through --smtp; webhooks, Slack and
    /// syslog directly).
    #[command(flatten)]
    pub mail: crate::notify::MailArgs,
    /// API requests per second allowed per token, bursts of twice that (default: 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate: Option<u32>,
    /// Remove archive files older than this many days (default: keep all).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,
    /// Seconds an incident's routes must be gone before it resolves (default: 300).
    #[arg(long)]
    pub quiet_secs: Option<i64>,
    /// Seconds after a session comes up during which its routes count as its
    /// initial table (history detectors hold back; leaks in it are standing) (default: 300).
    #[arg(long)]
    pub learning_secs: Option<i64>,
    /// A peer silent this many seconds opens a feed-down incident (default: never).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub feed_quiet_secs: Option<i64>,
    /// Take in outage reports arriving by e-mail in this maildir, as
    /// `bugyo report intake --maildir` does, every --intake-secs; the
    /// senders are answered through --smtp.
    #[arg(long, value_name = "DIR")]
    pub report_maildir: Option<PathBuf>,
    /// Seconds between runs over --report-maildir (default: 10).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub intake_secs: Option<u64>,
}

impl ServeArgs {
    /// The flags, each `None` when not given.
    fn flags(&self) -> Flags {
        Flags {
            data_dir: self.data_dir.clone(),
            local_asn: self.local_asn,
            router_id: self.router_id,
            bgp_listen: self.bgp_listen,
            http: self.http,
            bmp_listen: self.bmp_listen,
            peers: self.peers.iter().map(|p| (p.asn, p.addr)).collect(),
            rtr: self.rtr.clone(),
            reference: self.reference.clone(),
            events: self.events.clone(),
            database: self.database.clone(),
            api_rate: self.api_rate,
            smtp: self.mail.smtp.clone(),
            mail_from: self.mail.mail_from.clone(),
            ca_file: self.mail.ca_file.clone(),
            retry_secs: self.mail.retry_secs,
            retention_days: self.retention_days,
            quiet_secs: self.quiet_secs,
            learning_secs: self.learning_secs,
            feed_quiet_secs: self.feed_quiet_secs,
            report_maildir: self.report_maildir.clone(),
            intake_secs: self.intake_secs,
        }
    }
}

/// Runs `bugyo serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    let file = match &args.config {
        Some(path) => match ServeConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: configuration: {e}\nエラー: 設定ファイル: {e}");
                return ExitCode::from(2);
            }
        },
        None => ServeConfig::default(),
    };
    let settings = match Settings::resolve(args.flags(), file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(serve(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(settings: Settings) -> std::io::Result<()> {
    let reference = load_reference(&settings.reference)?;
    std::fs::create_dir_all(&settings.data_dir)?;
    let archive_dir = settings.data_dir.join("archive");
    let store = bugyo_store::Store::open(&settings.database)
        .await
        .map_err(|e| std::io::Error::other(format!("{}: {e}", redact(&settings.database))))?;
    let options = LiveOptions {
        archive: Some(ArchiveConfig {
            rotate_secs: settings.rotate_secs,
            retention_days: settings.retention_days,
            ..ArchiveConfig::new(&archive_dir)
        }),
        events: Some(settings.events.clone()),
        store: Some(store.clone()),
        rib_snapshot_secs: settings.rib_snapshot_secs,
        stats: Default::default(),
    };
    let live_stats = options.stats.clone();
    // A short queue: when detection falls behind, sessions stop reading and
    // TCP flow control slows the peers, instead of queued UPDATEs piling up
    // in memory (and in detection delay).
    let (feed_tx, feed) = mpsc::channel(FEED_QUEUE);
    let (stop_tx, shutdown) = watch::channel(false);
    let rtr = settings
        .rtr
        .as_ref()
        .map(|server| RtrClient::spawn(RtrConfig::new(server.clone())));
    let (reload_tx, reload_rx) = mpsc::channel(1);
    let reloader = (settings.reload_secs > 0).then(|| {
        tokio::spawn(watch_reference(
            settings.reference.clone(),
            Duration::from_secs(settings.reload_secs),
            reload_tx,
        ))
    });
    let (rib_queries, queries) = bugyo_io::rib_query::RibQueries::new();
    let inputs = LiveInputs {
        feed,
        rpki: rtr.as_ref().map(|c| c.snapshot()),
        reference: Some(reload_rx),
        queries: Some(queries),
        shutdown,
    };
    let config = EngineConfig {
        quiet_secs: settings.quiet_secs,
        learning_secs: settings.learning_secs,
        feed_quiet_secs: settings.feed_quiet_secs,
        ..EngineConfig::default()
    };
    let engine = Engine::new(reference, config);
    let live_task = tokio::spawn(live::run(engine, inputs, options));

    let bgp = BgpConfig {
        local_asn: settings.local_asn.0,
        router_id: settings.router_id,
        listen: Some(settings.bgp_listen),
        peers: settings
            .peers
            .iter()
            .map(|p| PeerConfig {
                asn: p.asn,
                addr: p.address,
                port: p.port,
                active: p.active,
            })
            .collect(),
        hold_time: settings.hold_time,
    };
    let bmp = match settings.bmp_listen {
        Some(addr) => Some(bugyo_io::bmp::start(addr, feed_tx.clone()).await?),
        None => None,
    };
    // serve keeps one sender of the feed until it stops: with no peer and no
    // BMP listener (a hub that adds routers later, a portal-only server) the
    // detection loop must keep answering questions about the (empty) RIB and
    // taking RPKI and reference updates, not end because nobody can write.
    let feed_open = feed_tx.clone();
    let bgp = bugyo_io::bgp::start(bgp, feed_tx).await?;
    if let Some(b) = &bmp {
        eprintln!("bugyo serve: BMP on {} / BMP 待ち受け", b.local_addr());
    }
    let sources = bugyo_io::metrics::MetricSources {
        bgp: Some(bgp.stats()),
        bmp: bmp.as_ref().map(|b| b.stats()),
        rtr: rtr.as_ref().map(|c| c.status()),
        live: Some(live_stats),
        intake: settings
            .report_maildir
            .as_ref()
            .map(|_| IntakeStats::default()),
    };
    let intake = match (&settings.report_maildir, &sources.intake) {
        (Some(dir), Some(stats)) => {
            eprintln!(
                "bugyo serve: outage reports by e-mail taken in from {} every {} s / 報告メールを取り込みます",
                dir.display(),
                settings.intake_secs
            );
            Some(tokio::spawn(intake_loop(
                store.clone(),
                dir.clone(),
                Duration::from_secs(settings.intake_secs),
                stats.clone(),
                stop_tx.subscribe(),
            )))
        }
        _ => None,
    };
    let notifier = tokio::spawn(
        bugyo_notify::Notifier::new(store.clone(), settings.mail.config()).run(stop_tx.subscribe()),
    );
    let api = bugyo_api::ApiState::new(store, sources, settings.api_rate).with_rib(rib_queries);
    let (http_addr, http_task) =
        bugyo_api::serve_with(settings.http, api, bugyo_web::pages()).await?;
    eprintln!("bugyo serve: portal at http://{http_addr}/, API at http://{http_addr}/api/v1/ (OpenAPI: /api/openapi.json), metrics at /metrics / ポータル・API・メトリクスを提供中");
    eprintln!(
        "bugyo serve: BGP on {}, {} peers configured, archive in {}, incident events to {} (SIGTERM or Ctrl-C to stop)",
        bgp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        settings.peers.len(),
        archive_dir.display(),
        settings.events.display()
    );
    eprintln!(
        "bugyo serve: BGP {} で待ち受け中 (設定済みピア {})。停止は SIGTERM または Ctrl-C",
        settings.bgp_listen,
        settings.peers.len()
    );
    for p in &settings.peers {
        eprintln!(
            "  peer AS{}@{} {}{}",
            p.asn,
            p.address,
            if p.active {
                "active / 能動"
            } else {
                "passive / 受動"
            },
            p.description
                .as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default()
        );
    }
    wait_for_signal().await;
    eprintln!("stopping / 停止しています…");
    // Close the sessions first (their queued updates still reach the engine),
    // then stop the loop, which drains the queue and closes the files.
    http_task.abort();
    if let Some(r) = reloader {
        r.abort();
    }
    if let Some(b) = bmp {
        b.shutdown();
    }
    bgp.shutdown().await;
    drop(feed_open);
    let _ = stop_tx.send(true);
    let (_, summary) = live_task.await.map_err(std::io::Error::other)??;
    let _ = notifier.await;
    if let Some(i) = intake {
        let _ = i.await;
    }
    if let Some(c) = rtr {
        c.shutdown().await;
    }
    eprintln!(
        "stopped: {} feed events, {} routes, {} archived, {} incident events / 停止しました",
        summary.feed_events, summary.routes, summary.archived, summary.incident_events
    );
    if summary.unstored > 0 {
        return Err(std::io::Error::other(format!(
            "{} incident changes could not be stored (the store failed); they are in the events file and the archive: replay the archive with --data-dir to store them / {} 件のインシデントの変更を保存できませんでした",
            summary.unstored, summary.unstored
        )));
    }
    Ok(())
}

/// Takes in the outage reports arriving in `dir` every `every` (the same
/// run as `bugyo report intake`), one run at a time, until `shutdown`
/// turns true (a run under way is finished first). What each run did is
/// logged and counted in `stats` (`/metrics`); a run that fails is logged,
/// counted as an error and tried again at the next tick. The replies to
/// the senders are sent by the notifier.
async fn intake_loop(
    store: bugyo_store::Store,
    dir: PathBuf,
    every: Duration,
    stats: IntakeStats,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    let mut warned = false;
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    return;
                }
            }
        }
        // The mail server makes the maildir with the first mail, as its
        // own user: until then there is nothing to take in (and bugyo
        // does not make it, which would give it the wrong owner).
        if !dir.join("new").is_dir() {
            if !warned {
                tracing::warn!(maildir = %dir.display(), "no report maildir yet (no new/); waiting for the first mail / 報告メールの maildir がまだありません");
                warned = true;
            }
            continue;
        }
        let c = stats.counters();
        IntakeStats::add(&c.runs, 1);
        match crate::report::intake::intake_once(&store, &dir).await {
            Ok(s) => {
                for l in &s.lines {
                    tracing::info!(maildir = %dir.display(), "{l}");
                }
                for e in &s.errors {
                    tracing::error!(maildir = %dir.display(), "{e}");
                }
                for (counter, n) in [
                    (&c.filed, s.filed),
                    (&c.amended, s.amended),
                    (&c.duplicates, s.seen),
                    (&c.rejected, s.rejected),
                    (&c.errors, s.left),
                ] {
                    IntakeStats::add(counter, n as u64);
                }
            }
            Err(e) => {
                tracing::error!(maildir = %dir.display(), error = %e, "report mail intake failed; trying again / 報告メールの取り込みに失敗しました。再試行します");
                IntakeStats::add(&c.errors, 1);
            }
        }
    }
}

/// Size and modification time of each reference file: what "changed" means.
fn fingerprint(args: &ReferenceArgs) -> Vec<Option<(u64, std::time::SystemTime)>> {
    let files = args
        .rpki
        .iter()
        .chain(&args.irr)
        .chain(&args.as_rel)
        .chain(&args.as2org)
        .chain(&args.watch);
    files
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.len(), m.modified().ok()?))
        })
        .collect()
}

/// Looks at the reference files every `every`; when one has changed (and
/// stayed the same for a second, so a file being written is not read
/// half-way), loads them all again and sends the result to the live loop.
/// A load that fails is logged and the previous data stays in force.
async fn watch_reference(args: ReferenceArgs, every: Duration, tx: mpsc::Sender<Reference>) {
    let mut known = fingerprint(&args);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = fingerprint(&args);
        if now == known {
            continue;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if fingerprint(&args) != now {
            continue; // still being written: look again next time
        }
        known = now;
        let a = args.clone();
        match tokio::task::spawn_blocking(move || load_reference(&a)).await {
            Ok(Ok(reference)) => {
                eprintln!("reference data reloaded / 参照データを再読み込みしました");
                if tx.send(reference).await.is_err() {
                    return;
                }
            }
            Ok(Err(e)) => eprintln!(
                "error: reloading reference data: {e}; the previous data stays in force\nエラー: 参照データの再読み込みに失敗しました ({e})。以前のデータを使い続けます"
            ),
            Err(e) => eprintln!("error: reloading reference data: {e}"),
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A database URL fit for a log: any password replaced by `***`.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***{}", &url[..s], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
