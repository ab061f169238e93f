//! `bugyo serve`: the live path. BGP sessions feed the same detection engine
//! as `bugyo replay`; every received message is archived as MRT under
//! `--data-dir`; incident changes are appended to `--events` as JSON lines.
//! SIGTERM or Ctrl-C stops it cleanly: queued messages are archived and
//! judged, files are closed.

use crate::load::{load_reference, ReferenceArgs};
use bugyo_detect::{Engine, EngineConfig};
use bugyo_io::archive::ArchiveConfig;
use bugyo_io::bgp::{BgpConfig, PeerConfig};
use bugyo_io::live::{self, LiveOptions};
use bugyo_io::rtr::{RtrClient, RtrConfig};
use bugyo_model::Asn;
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
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

/// Arguments of `bugyo serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where the archive and the default events file go.
    #[arg(long, value_name = "DIR", default_value = "bugyo-data")]
    pub data_dir: PathBuf,
    /// bugyo's own AS number on BGP sessions.
    #[arg(long, value_name = "N", default_value = "65535")]
    pub local_asn: Asn,
    /// bugyo's BGP identifier.
    #[arg(long, value_name = "IP", default_value_t = Ipv4Addr::new(127, 0, 0, 1))]
    pub router_id: Ipv4Addr,
    /// Where to accept BGP sessions (an unprivileged port by default).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1179")]
    pub bgp_listen: SocketAddr,
    /// Where to serve `/metrics` (OpenMetrics feed health).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Where to accept BMP connections from monitored routers, if anywhere.
    #[arg(long, value_name = "ADDR")]
    pub bmp_listen: Option<SocketAddr>,
    /// A BGP peer allowed to connect, `ASN@IP` (repeatable).
    #[arg(long = "peer", value_name = "ASN@IP")]
    pub peers: Vec<PeerArg>,
    /// An RTR cache to take VRPs (and ASPA) from, `HOST:PORT`.
    #[arg(long, value_name = "HOST:PORT")]
    pub rtr: Option<String>,
    /// Reference data files.
    #[command(flatten)]
    pub reference: ReferenceArgs,
    /// Append incident changes here (default: DATA_DIR/events.jsonl).
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Remove archive files older than this many days (default: keep all).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: Option<u32>,
    /// Seconds an incident's routes must be gone before it resolves.
    #[arg(long, default_value_t = 300)]
    pub quiet_secs: i64,
    /// Seconds after a session comes up during which its routes count as its
    /// initial table (history detectors hold back; leaks in it are standing).
    #[arg(long, default_value_t = 300)]
    pub learning_secs: i64,
}

/// Runs `bugyo serve`.
pub fn run(args: ServeArgs) -> ExitCode {
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
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            ExitCode::from(2)
        }
    }
}

async fn serve(args: ServeArgs) -> std::io::Result<()> {
    let reference = load_reference(&args.reference)?;
    std::fs::create_dir_all(&args.data_dir)?;
    let events = args
        .events
        .clone()
        .unwrap_or_else(|| args.data_dir.join("events.jsonl"));
    let options = LiveOptions {
        archive: Some(ArchiveConfig {
            retention_days: args.retention_days,
            ..ArchiveConfig::new(args.data_dir.join("archive"))
        }),
        events: Some(events.clone()),
        rib_snapshot_secs: Some(3600),
        stats: Default::default(),
    };
    let live_stats = options.stats.clone();
    let (feed_tx, feed_rx) = mpsc::channel(65_536);
    let (stop_tx, stop_rx) = watch::channel(false);
    let rtr = args
        .rtr
        .as_ref()
        .map(|server| RtrClient::spawn(RtrConfig::new(server.clone())));
    let snapshots = rtr.as_ref().map(|c| c.snapshot());
    let config = EngineConfig {
        quiet_secs: args.quiet_secs,
        learning_secs: args.learning_secs,
        ..EngineConfig::default()
    };
    let engine = Engine::new(reference, config);
    let live_task = tokio::spawn(live::run(engine, feed_rx, snapshots, options, stop_rx));

    let bgp = BgpConfig {
        local_asn: args.local_asn.0,
        router_id: args.router_id,
        listen: Some(args.bgp_listen),
        peers: args
            .peers
            .iter()
            .map(|p| PeerConfig {
                asn: p.asn.0,
                addr: p.addr,
                port: None,
                active: false,
            })
            .collect(),
        hold_time: 90,
    };
    let bmp = match args.bmp_listen {
        Some(addr) => Some(bugyo_io::bmp::start(addr, feed_tx.clone()).await?),
        None => None,
    };
    let bgp = bugyo_io::bgp::start(bgp, feed_tx).await?;
    if let Some(b) = &bmp {
        eprintln!("bugyo serve: BMP on {} / BMP 待ち受け", b.local_addr());
    }
    let sources = bugyo_io::metrics::MetricSources {
        bgp: Some(bgp.stats()),
        bmp: bmp.as_ref().map(|b| b.stats()),
        rtr: rtr.as_ref().map(|c| c.status()),
        live: Some(live_stats),
    };
    let (http_addr, http_task) = bugyo_io::metrics::serve(args.http, sources).await?;
    eprintln!("bugyo serve: metrics at http://{http_addr}/metrics");
    eprintln!(
        "bugyo serve: BGP on {}, archive in {}, incident events to {} (SIGTERM or Ctrl-C to stop)",
        bgp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        args.data_dir.join("archive").display(),
        events.display()
    );
    eprintln!(
        "bugyo serve: BGP {} で待ち受け中。停止は SIGTERM または Ctrl-C",
        args.bgp_listen
    );
    wait_for_signal().await;
    eprintln!("stopping / 停止しています…");
    // Close the sessions first (their queued updates still reach the engine),
    // then stop the loop, which drains the queue and closes the files.
    http_task.abort();
    if let Some(b) = bmp {
        b.shutdown();
    }
    bgp.shutdown().await;
    let _ = stop_tx.send(true);
    let (_, summary) = live_task.await.map_err(std::io::Error::other)??;
    if let Some(c) = rtr {
        c.shutdown().await;
    }
    eprintln!(
        "stopped: {} feed events, {} routes, {} archived, {} incident events / 停止しました",
        summary.feed_events, summary.routes, summary.archived, summary.incident_events
    );
    Ok(())
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
