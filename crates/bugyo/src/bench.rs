//! `bugyo bench`: replays the same MRT files through bugyo (parse, every
//! verdict, detection) and through `bgpdump -m` (parse and print only), in
//! one run, and prints both rates, their ratio, and bugyo's memory per
//! stored route.

use crate::replay::run_into;
use bugyo_detect::{Engine, EngineConfig, Reference};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

/// Arguments of `bugyo bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// RIB dumps loaded first (counted in both rates).
    #[arg(long = "rib", value_name = "MRT")]
    pub ribs: Vec<PathBuf>,
    /// CAIDA AS relationships, so that the relationship checks do real work.
    #[arg(long = "as-rel", value_name = "FILE")]
    pub as_rel: Option<PathBuf>,
    /// The reference parser to compare with.
    #[arg(long, default_value = "bgpdump")]
    pub bgpdump: PathBuf,
    /// MRT update files.
    #[arg(value_name = "MRT")]
    pub updates: Vec<PathBuf>,
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

/// Runs `bugyo bench`.
pub fn run(args: BenchArgs) -> ExitCode {
    let mut reference = Reference::default();
    if let Some(p) = &args.as_rel {
        match bugyo_formats::asrel::load(p) {
            Ok((data, _)) => reference.graph = bugyo_state::AsGraph::new(data.links),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let before = current_rss().unwrap_or(0);
    let mut engine = Engine::new(reference, EngineConfig::default());
    let started = Instant::now();
    let summary = match run_into(&mut engine, &args.ribs, &args.updates) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let ours = started.elapsed().as_secs_f64();
    let peak = peak_rss().unwrap_or(0);
    let stored = engine.rib().route_count();
    let mut all: Vec<PathBuf> = args.ribs.clone();
    all.extend(args.updates.iter().cloned());
    let (lines, theirs) = match run_bgpdump(&args.bgpdump, &all) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot run {}: {e}", args.bgpdump.display());
            return ExitCode::from(2);
        }
    };
    let our_rate = summary.routes as f64 / ours.max(1e-9);
    let their_rate = lines as f64 / theirs.max(1e-9);
    println!(
        "input: {} RIB file(s), {} update file(s)",
        args.ribs.len(),
        args.updates.len()
    );
    println!(
        "bugyo replay (parse + verdicts + detection): {} routes in {:.2} s = {:.0} routes/s, {} incidents",
        summary.routes,
        ours,
        our_rate,
        engine.incidents().len()
    );
    println!("bgpdump -m (parse + print):                  {lines} lines in {theirs:.2} s = {their_rate:.0} lines/s");
    println!(
        "ratio bugyo/bgpdump: {:.2}x",
        our_rate / their_rate.max(1e-9)
    );
    if stored > 0 {
        let grown = peak.saturating_sub(before);
        println!(
            "memory: {} routes stored in the RIB ({} peers, {} prefixes, {} distinct attribute sets); peak RSS {:.1} MiB, {:.0} bytes per stored route (growth over start-up)",
            stored,
            engine.rib().peers().len(),
            engine.rib().prefix_count(),
            engine.rib().attr_count(),
            peak as f64 / 1_048_576.0,
            grown as f64 / stored as f64
        );
    }
    ExitCode::SUCCESS
}
