//! `bugyo bench`: replays the same MRT files through bugyo (parse, every
//! verdict, detection) and through `bgpdump -m` (parse and print only), in
//! one run, and prints both rates, their ratio, and bugyo's memory per
//! stored route. `bugyo bench ingest` ([`ingest`]) measures full-table
//! ingestion over a live BGP session next to a reference router.

use crate::replay::run_into;
use bugyo_detect::{Engine, EngineConfig, Reference};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

pub mod ingest;

/// Other benchmarks than the replay one.
#[derive(clap::Subcommand, Debug)]
pub enum BenchMode {
    /// Full-table ingestion over one BGP session from gobgpd: bugyo serve next to a second gobgpd.
    Ingest(ingest::IngestArgs),
}

/// Arguments of `bugyo bench`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// Another benchmark instead of the replay one.
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
    /// RIB dumps loaded first (counted in both rates).
    #[arg(long = "rib", value_name = "MRT")]
    pub ribs: Vec<PathBuf>,
    /// CAIDA AS relationships, so that the relationship checks do real work.
    #[arg(long = "as-rel", value_name = "FILE")]
    pub as_rel: Option<PathBuf>,
    /// The reference parser to compare with.
    #[arg(long, default_value = "bgpdump")]
    pub bgpdump: PathBuf,
    /// Build the RIB to benchmark from a `bgpdump -m` table dump text (e.g.
    /// the RIS rrc06 answer key): its peers' routes plus a third full-table
    /// peer derived from the largest one (AS7500 prepended to its paths), so
    /// a ~320k-prefix table becomes ~1M routes across 3 full peers. The MRT
    /// file is written to `--work-dir` and added to the `--rib` files.
    #[arg(long, value_name = "TEXT")]
    pub rib_from_text: Option<PathBuf>,
    /// Runs of each side; the best time of each is compared.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Where `--rib-from-text` writes its MRT file.
    #[arg(long, value_name = "DIR", default_value = "target/bench")]
    pub work_dir: PathBuf,
    /// MRT update files.
    #[arg(value_name = "MRT")]
    pub updates: Vec<PathBuf>,
}

/// Writes the benchmark RIB described at [`BenchArgs::rib_from_text`].
fn build_rib(text: &std::path::Path, dir: &std::path::Path) -> std::io::Result<PathBuf> {
    use bugyo_formats::mrt::bgpdump_text::TextReader;
    use bugyo_formats::mrt::{MrtEntry, MrtWriter, RibEntry};
    use bugyo_model::{Asn, PathAttributes, Peer, Segment, SegmentKind};
    use std::collections::HashMap;
    use std::sync::Arc;
    std::fs::create_dir_all(dir)?;
    let out = dir.join("bench-rib-3peers.mrt");
    let mut routes: Vec<RibEntry> = TextReader::new(bugyo_formats::input::open(text)?)
        .filter_map(|e| match e {
            Ok(MrtEntry::Rib(r)) => Some(r),
            _ => None,
        })
        .collect();
    let mut per_peer: HashMap<Peer, usize> = HashMap::new();
    for r in &routes {
        *per_peer.entry(r.peer).or_default() += 1;
    }
    let mut by_size: Vec<(Peer, usize)> = per_peer.into_iter().collect();
    by_size.sort_by_key(|(p, n)| (std::cmp::Reverse(*n), *p));
    // Keep the two largest peers, derive the third from the second largest.
    let keep: Vec<Peer> = by_size.iter().take(2).map(|(p, _)| *p).collect();
    routes.retain(|r| keep.contains(&r.peer));
    let third = Peer::new(
        Asn(7500),
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(202, 249, 2, 200)),
    );
    let mut derived: HashMap<usize, Arc<PathAttributes>> = HashMap::new();
    let extra: Vec<RibEntry> = routes
        .iter()
        .filter(|r| Some(&r.peer) == keep.get(1))
        .map(|r| {
            let attrs = derived
                .entry(Arc::as_ptr(&r.attrs) as usize)
                .or_insert_with(|| {
                    let mut a = (*r.attrs).clone();
                    a.as_path.segments.insert(
                        0,
                        Segment {
                            kind: SegmentKind::Sequence,
                            asns: vec![Asn(7500)],
                        },
                    );
                    a.next_hop = Some(third.addr);
                    Arc::new(a)
                })
                .clone();
            RibEntry {
                peer: third,
                attrs,
                ..r.clone()
            }
        })
        .collect();
    routes.extend(extra);
    let mut w = MrtWriter::new(std::io::BufWriter::new(std::fs::File::create(&out)?));
    let time = routes.first().map(|r| r.time).unwrap_or_default();
    w.write_rib_dump(time, &routes)?;
    w.into_inner()?;
    eprintln!("wrote {} ({} routes, 3 peers)", out.display(), routes.len());
    Ok(out)
}

/// Peak resident memory of this process so far, in bytes (Linux).
pub fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Current resident memory of this process, in bytes (Linux).
pub fn current_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `bgpdump -m` over the files; returns (lines, seconds).
fn run_bgpdump(bin: &PathBuf, files: &[PathBuf]) -> std::io::Result<(u64, f64)> {
    let started = Instant::now();
    let mut lines = 0u64;
    for f in files {
        let mut child = Command::new(bin)
            .arg("-m")
            .arg(f)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        if let Some(out) = child.stdout.take() {
            let mut r = BufReader::with_capacity(1 << 20, out);
            let mut buf = Vec::with_capacity(512);
            loop {
                buf.clear();
                if r.read_until(b'\n', &mut buf)? == 0 {
                    break;
                }
                lines += 1;
            }
        }
        child.wait()?;
    }
    Ok((lines, started.elapsed().as_secs_f64()))
}

/// What one replay through bugyo measured.
struct OurRun {
    /// Resident memory with the reference data loaded, before any route.
    before: u64,
    routes: u64,
    secs: f64,
    incidents: usize,
    rib_routes: u64,
    rib_peers: usize,
    rib_peak: u64,
    peak: u64,
    stored: u64,
    peers: usize,
    prefixes: usize,
    attribute_sets: usize,
}

/// One replay: the RIB first (memory of the table alone), then the updates.
fn run_ours(args: &BenchArgs, links: &[bugyo_model::AsLink]) -> std::io::Result<OurRun> {
    let reference = Reference {
        graph: bugyo_state::AsGraph::new(links.iter().copied()),
        ..Reference::default()
    };
    let mut engine = Engine::new(reference, EngineConfig::default());
    let before = current_rss().unwrap_or(0);
    let started = Instant::now();
    let rib = run_into(&mut engine, &args.ribs, &[])?;
    let rib_peak = peak_rss().unwrap_or(0);
    let rib_routes = engine.rib().route_count();
    let rib_peers = engine.rib().peers().iter().filter(|p| p.routes > 0).count();
    let updates = run_into(&mut engine, &[], &args.updates)?;
    let secs = started.elapsed().as_secs_f64();
    Ok(OurRun {
        before,
        routes: rib.routes + updates.routes,
        secs,
        incidents: engine.incidents().len(),
        rib_routes,
        rib_peers,
        rib_peak,
        peak: peak_rss().unwrap_or(0),
        stored: engine.rib().route_count(),
        peers: engine.rib().peers().len(),
        prefixes: engine.rib().prefix_count(),
        attribute_sets: engine.rib().attr_count(),
    })
}

/// Runs `bugyo bench`.
pub fn run(mut args: BenchArgs) -> ExitCode {
    if let Some(BenchMode::Ingest(a)) = args.mode.take() {
        return ingest::run(a);
    }
    if let Some(text) = args.rib_from_text.take() {
        let rib = match build_rib(&text, &args.work_dir) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        // Measure in a fresh process, so that building the RIB does not
        // count in (or hide) the replay's memory.
        let mut cmd =
            Command::new(std::env::current_exe().unwrap_or_else(|_| PathBuf::from("bugyo")));
        cmd.arg("bench")
            .arg("--rib")
            .arg(&rib)
            .arg("--bgpdump")
            .arg(&args.bgpdump);
        cmd.arg("--runs").arg(args.runs.to_string());
        for r in &args.ribs {
            cmd.arg("--rib").arg(r);
        }
        if let Some(a) = &args.as_rel {
            cmd.arg("--as-rel").arg(a);
        }
        cmd.args(&args.updates);
        return match cmd.status() {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            _ => ExitCode::FAILURE,
        };
    }
    let links = match &args.as_rel {
        Some(p) => match bugyo_formats::asrel::load(p) {
            Ok((data, _)) => data.links,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let mut all: Vec<PathBuf> = args.ribs.clone();
    all.extend(args.updates.iter().cloned());
    let mut ours: Option<OurRun> = None;
    let mut best_ours = f64::MAX;
    let mut theirs = (0u64, f64::MAX);
    // Interleaved runs, best of each: the machine's noise hits both alike.
    for _ in 0..args.runs.max(1) {
        match run_ours(&args, &links) {
            Ok(r) => {
                best_ours = best_ours.min(r.secs);
                ours.get_or_insert(r);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
        match run_bgpdump(&args.bgpdump, &all) {
            Ok((lines, secs)) => theirs = (lines, theirs.1.min(secs)),
            Err(e) => {
                eprintln!("error: cannot run {}: {e}", args.bgpdump.display());
                return ExitCode::from(2);
            }
        }
    }
    let Some(o) = ours else {
        return ExitCode::FAILURE;
    };
    let our_rate = o.routes as f64 / best_ours.max(1e-9);
    let their_rate = theirs.0 as f64 / theirs.1.max(1e-9);
    say!(
        "input: {} RIB file(s), {} update file(s); best of {} runs each, one core",
        args.ribs.len(),
        args.updates.len(),
        args.runs.max(1)
    );
    say!(
        "bugyo replay (parse + verdicts + detection): {} routes in {:.2} s = {:.0} routes/s, {} incidents",
        o.routes, best_ours, our_rate, o.incidents
    );
    say!(
        "bgpdump -m (parse + print):                  {} lines in {:.2} s = {:.0} lines/s",
        theirs.0,
        theirs.1,
        their_rate
    );
    say!(
        "ratio bugyo/bgpdump: {:.2}x",
        our_rate / their_rate.max(1e-9)
    );
    if o.rib_routes > 0 {
        say!(
            "memory after the RIB: {} routes from {} peers, peak RSS {:.1} MiB, {:.0} bytes per stored route (growth over start-up)",
            o.rib_routes,
            o.rib_peers,
            o.rib_peak as f64 / 1_048_576.0,
            o.rib_peak.saturating_sub(o.before) as f64 / o.rib_routes as f64
        );
    }
    if o.stored > 0 {
        say!(
            "memory after the updates too: {} routes stored ({} peers, {} prefixes, {} distinct attribute sets); peak RSS {:.1} MiB, {:.0} bytes per stored route",
            o.stored,
            o.peers,
            o.prefixes,
            o.attribute_sets,
            o.peak as f64 / 1_048_576.0,
            o.peak.saturating_sub(o.before) as f64 / o.stored as f64
        );
    }
    ExitCode::SUCCESS
}
