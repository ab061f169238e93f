//! `bugyo replay`: the offline path. RIB dumps load the starting state; MRT
//! update files are then merged in time order and fed through the detection
//! engine; the incidents are printed as a table or as JSON lines.

use crate::load::{load_reference, ReferenceArgs};
use bugyo_detect::{Engine, EngineConfig, Incident, Severity};
use bugyo_formats::mrt::{MrtEntry, MrtReader};
use bugyo_io::feed::apply;
use bugyo_model::Timestamp;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Output format of `bugyo replay`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human view, coloured on a terminal.
    Table,
    /// One JSON object per incident per line (schema in README.md).
    Json,
}

/// Arguments of `bugyo replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// RIB dumps (MRT TABLE_DUMP / TABLE_DUMP_V2) that load the starting state.
    #[arg(long = "rib", value_name = "MRT")]
    pub ribs: Vec<PathBuf>,
    /// Reference data.
    #[command(flatten)]
    pub reference: ReferenceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print only incidents at or above this severity (info, low, medium, high, critical).
    #[arg(long, default_value = "low")]
    pub min_severity: Severity,
    /// Seconds an incident's routes must be gone before it resolves.
    #[arg(long, default_value_t = 300)]
    pub quiet_secs: i64,
    /// Seconds after a peer appears during which its routes count as its
    /// initial table (history detectors hold back).
    #[arg(long, default_value_t = 300)]
    pub learning_secs: i64,
    /// Record every incident change in the store under this directory
    /// (DIR/bugyo.db), as `bugyo serve --data-dir DIR` does.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Record incident changes in this store instead: `sqlite://PATH` or
    /// `postgres://USER@HOST/DB`.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// MRT update files (BGP4MP / BGP4MP_ET), replayed in time order.
    #[arg(value_name = "MRT")]
    pub updates: Vec<PathBuf>,
}

/// What a replay did, for the summary and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct ReplaySummary {
    /// MRT records read.
    pub records: u64,
    /// Records skipped as damaged.
    pub skipped: u64,
    /// Routes and withdrawals processed (RIB entries included).
    pub routes: u64,
}

fn progress() -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_draw_target(ProgressDrawTarget::stderr_with_hz(4));
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(250));
    pb
}

fn entry_time(e: &MrtEntry) -> Timestamp {
    match e {
        MrtEntry::Rib(r) => r.time,
        MrtEntry::Update(u) => u.time,
        MrtEntry::State(s) => s.time,
        MrtEntry::Other { time, .. } | MrtEntry::Message { time, .. } => *time,
    }
}

fn report_skips(path: &std::path::Path, reader: &MrtReader, summary: &mut ReplaySummary) {
    let st = reader.stats();
    summary.records += st.records;
    summary.skipped += st.skipped;
    if st.skipped > 0 {
        eprintln!(
            "{}: {} damaged records skipped / 破損レコード {} 件をスキップ",
            path.display(),
            st.skipped,
            st.skipped
        );
        for e in st.errors.iter().take(3) {
            eprintln!("  {e}");
        }
    }
}

/// Runs the replay into `engine`: RIB files first, then the update files
/// merged by time. Returns counters.
pub fn run_into(
    engine: &mut Engine,
    ribs: &[PathBuf],
    updates: &[PathBuf],
) -> io::Result<ReplaySummary> {
    run_with(engine, ribs, updates, &mut |_| Ok(()))
}

/// [`run_into`], calling `after_each` after every update entry (to take the
/// incident changes it caused).
pub fn run_with(
    engine: &mut Engine,
    ribs: &[PathBuf],
    updates: &[PathBuf],
    after_each: &mut dyn FnMut(&mut Engine) -> io::Result<()>,
) -> io::Result<ReplaySummary> {
    let mut summary = ReplaySummary::default();
    let pb = progress();
    for path in ribs {
        let mut reader = MrtReader::open(path)?;
        let mut n = 0u64;
        for item in reader.by_ref() {
            if let Ok(MrtEntry::Rib(r)) = item {
                // Dumps carry multicast RIBs only in their own subtypes, which
                // the reader does not turn into routes.
                engine.load_rib_route(r.time, r.peer, r.prefix, r.path_id.unwrap_or(0), &r.attrs);
                n += 1;
                if n.is_multiple_of(100_000) {
                    pb.set_message(format!("RIB {}: {n} routes", path.display()));
                }
            }
        }
        summary.routes += n;
        report_skips(path, &reader, &mut summary);
        eprintln!("RIB {}: {n} routes / 経路 {n} 件", path.display());
    }
    let mut readers: Vec<MrtReader> = Vec::with_capacity(updates.len());
    for path in updates {
        readers.push(MrtReader::open(path)?);
    }
    let mut entries = 0u64;
    let mut heads: Vec<Option<MrtEntry>> = readers.iter_mut().map(next_good).collect();
    loop {
        let mut best: Option<(usize, Timestamp)> = None;
        for (i, h) in heads.iter().enumerate() {
            if let Some(e) = h {
                let t = entry_time(e);
                if best.is_none_or(|(_, bt)| t < bt) {
                    best = Some((i, t));
                }
            }
        }
        let Some((i, _)) = best else { break };
        if let Some(e) = heads[i].take() {
            summary.routes += apply(engine, &e);
            after_each(engine)?;
        }
        heads[i] = next_good(&mut readers[i]);
        entries += 1;
        if entries.is_multiple_of(20_000) {
            pb.set_message(format!(
                "{} routes, {} incidents, data time {}",
                summary.routes,
                engine.incidents().len(),
                engine.now()
            ));
        }
    }
    for (path, reader) in updates.iter().zip(&readers) {
        report_skips(path, reader, &mut summary);
    }
    pb.finish_and_clear();
    Ok(summary)
}

fn next_good(reader: &mut MrtReader) -> Option<MrtEntry> {
    // Damaged records are counted by the reader and reported at the end.
    reader.by_ref().flatten().next()
}

/// The engine configuration from the command line.
pub fn engine_config(args: &ReplayArgs) -> EngineConfig {
    EngineConfig {
        quiet_secs: args.quiet_secs,
        learning_secs: args.learning_secs,
        ..EngineConfig::default()
    }
}

/// Runs `bugyo replay`.
pub fn run(args: ReplayArgs) -> ExitCode {
    let reference = match load_reference(&args.reference) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            return ExitCode::from(2);
        }
    };
    let mut engine = Engine::new(reference, engine_config(&args));
    let started = Instant::now();
    let url = args
        .database
        .clone()
        .or_else(|| args.data_dir.as_deref().map(bugyo_store::sqlite_url));
    let result = match &url {
        None => run_into(&mut engine, &args.ribs, &args.updates),
        Some(url) => run_recording(&mut engine, &args, url),
    };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            return ExitCode::from(2);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    let shown: Vec<&Incident> = engine.incidents_at_least(args.min_severity).collect();
    let out = print_incidents(&engine, &shown, args.format);
    eprintln!(
        "replayed {} routes in {:.1} s ({:.0} routes/s), {} records skipped; {} incidents, {} shown (severity >= {})",
        summary.routes,
        secs,
        summary.routes as f64 / secs.max(1e-9),
        summary.skipped,
        engine.incidents().len(),
        shown.len(),
        args.min_severity
    );
    eprintln!(
        "{} 経路を {:.1} 秒で再生、スキップ {} 件。インシデント {} 件(重大度 {} 以上 {} 件を表示)",
        summary.routes,
        secs,
        summary.skipped,
        engine.incidents().len(),
        args.min_severity.name_ja(),
        shown.len()
    );
    match out {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The replay, recording every incident change in the store at `url` as
/// it happens (each a new version, as `bugyo serve` records them).
fn run_recording(engine: &mut Engine, args: &ReplayArgs, url: &str) -> io::Result<ReplaySummary> {
    if let Some(dir) = &args.data_dir {
        std::fs::create_dir_all(dir)?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let store = rt
        .block_on(bugyo_store::Store::open(url))
        .map_err(io::Error::other)?;
    let (mut versions, mut changes) = (0u64, 0u64);
    let summary = run_with(engine, &args.ribs, &args.updates, &mut |engine| {
        for ch in bugyo_io::incidents::take_changes(engine) {
            changes += 1;
            if rt
                .block_on(ch.record(&store))
                .map_err(io::Error::other)?
                .new_version
            {
                versions += 1;
            }
        }
        Ok(())
    })?;
    rt.block_on(store.close());
    eprintln!("{changes} incident changes, {versions} new versions recorded / インシデントの変更 {changes} 件、新しい版 {versions} 件を記録");
    Ok(summary)
}

/// Prints incidents in the chosen format.
pub fn print_incidents(
    engine: &Engine,
    incidents: &[&Incident],
    format: OutputFormat,
) -> io::Result<()> {
    let names = |a| engine.as_name(a);
    let mut out = anstream::AutoStream::auto(io::stdout().lock());
    match format {
        OutputFormat::Json => {
            for inc in incidents {
                writeln!(out, "{}", inc.to_json(&names))?;
            }
        }
        OutputFormat::Table => {
            if incidents.is_empty() {
                writeln!(out, "No incidents. / インシデントはありません。")?;
            }
            for inc in incidents {
                write_table_entry(&mut out, inc, &names)?;
            }
        }
    }
    out.flush()
}

fn colour(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "\x1b[1;37;41m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[1;33m",
        Severity::Low => "\x1b[36m",
        Severity::Info => "\x1b[2m",
    }
}

fn write_table_entry(
    out: &mut impl Write,
    inc: &Incident,
    names: &dyn Fn(bugyo_model::Asn) -> Option<String>,
) -> io::Result<()> {
    let (sev, evidence) = inc.assess();
    let status = match inc.status {
        bugyo_detect::IncidentStatus::Open => "open / 継続中".to_string(),
        bugyo_detect::IncidentStatus::Resolved => format!(
            "resolved / 解消 {}",
            inc.resolved_at.map(|t| t.to_string()).unwrap_or_default()
        ),
    };
    writeln!(
        out,
        "{}#{} {} {}\x1b[0m  {} / {}  [{}]",
        colour(sev),
        inc.id,
        sev.name().to_uppercase(),
        sev.name_ja(),
        inc.kind.name(),
        inc.kind.name_ja(),
        status
    )?;
    writeln!(out, "  {}", inc.summary(names))?;
    writeln!(out, "  {}", inc.summary_ja(names))?;
    writeln!(
        out,
        "  first seen / 初検知 {}   last seen / 最終 {}",
        inc.first_seen, inc.last_seen
    )?;
    let victims: Vec<String> = inc
        .victims()
        .iter()
        .take(5)
        .map(|(a, n)| format!("{a} ({n})"))
        .collect();
    if !victims.is_empty() {
        let more = inc.victims().len().saturating_sub(5);
        let more = if more > 0 {
            format!(" +{more}")
        } else {
            String::new()
        };
        writeln!(out, "  victims / 被害AS: {}{more}", victims.join(", "))?;
    }
    let peers: Vec<String> = inc
        .peers
        .iter()
        .map(|p| p.asn.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    writeln!(out, "  peers / 観測ピア: {}", peers.join(", "))?;
    for e in evidence {
        writeln!(out, "  - {e}")?;
    }
    for s in inc.samples.iter().take(3) {
        writeln!(
            out,
            "  e.g. {} via {} path {}",
            s.prefix, s.peer_asn, s.as_path
        )?;
    }
    writeln!(out)
}
