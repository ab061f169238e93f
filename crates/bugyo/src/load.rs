//! Loading reference data named on the command line into a [`Reference`],
//! with one log line per file saying what was read and what was skipped.

use bugyo_detect::Reference;
use bugyo_formats::report::ParseReport;
use bugyo_formats::{as2org, asrel, rpki, rpsl};
use bugyo_state::{AsGraph, AspaIndex, IrrIndex, MemberIndex, VrpIndex};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Reference-data files, as given on the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReferenceArgs {
    /// RPKI VRPs (and ASPA): rpki-client or Routinator JSON, or CSV.
    #[arg(long, value_name = "FILE")]
    pub rpki: Option<PathBuf>,
    /// IRR dump in RPSL (repeatable: several sources at once).
    #[arg(long, value_name = "FILE")]
    pub irr: Vec<PathBuf>,
    /// CAIDA AS relationships (serial-1 or serial-2, compressed or not).
    #[arg(long = "as-rel", value_name = "FILE")]
    pub as_rel: Option<PathBuf>,
    /// CAIDA AS2Org (JSONL or pipe text) for AS names in output.
    #[arg(long, value_name = "FILE")]
    pub as2org: Option<PathBuf>,
    /// Watch list of member organisations (TOML, see docs/watch.example.toml).
    #[arg(long, value_name = "FILE")]
    pub watch: Option<PathBuf>,
}

fn log(path: &Path, report: &ParseReport, started: Instant) {
    eprintln!(
        "loaded {} — {report} ({:.1} s)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    eprintln!(
        "読み込み {} — {} 件、スキップ {} 件",
        path.display(),
        report.records,
        report.skipped
    );
    for e in report.errors.iter().take(3) {
        eprintln!("  skipped / スキップ: {e}");
    }
}

/// Loads everything named in `args`. A file that cannot be opened is an
/// error; malformed records inside a file are skipped and reported.
pub fn load_reference(args: &ReferenceArgs) -> io::Result<Reference> {
    let mut reference = Reference::default();
    if let Some(path) = &args.rpki {
        let t = Instant::now();
        let (data, report) = rpki::load(path)?;
        log(path, &report, t);
        reference.vrps = VrpIndex::new(data.vrps);
        reference.aspa = AspaIndex::new(data.aspas);
    }
    let mut routes = Vec::new();
    for path in &args.irr {
        let t = Instant::now();
        let (data, report) = rpsl::load(path, &rpsl::source_from_path(path))?;
        log(path, &report, t);
        routes.extend(data.routes);
    }
    reference.irr = IrrIndex::new(routes);
    if let Some(path) = &args.as_rel {
        let t = Instant::now();
        let (data, report) = asrel::load(path)?;
        log(path, &report, t);
        reference.graph = AsGraph::new(data.links);
    }
    if let Some(path) = &args.as2org {
        let t = Instant::now();
        let (orgs, report) = as2org::load(path)?;
        log(path, &report, t);
        reference.graph.set_names(orgs);
    }
    if let Some(path) = &args.watch {
        let t = Instant::now();
        let (members, report) = bugyo_formats::watch::load(path)?;
        log(path, &report, t);
        if !report.is_clean() {
            // A partial watch list would silently drop members from alerts.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{}: the watch list has errors; fix them first / 監視リストに誤りがあります",
                    path.display()
                ),
            ));
        }
        reference.members = MemberIndex::new(members);
    }
    Ok(reference)
}
