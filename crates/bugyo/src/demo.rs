//! `bugyo demo`: the main job on a fresh machine with no network and no data.
//! Generates a synthetic scenario (see [`crate::scenario`]), writes it as the
//! files an operator would have — an MRT RIB dump, MRT updates, CAIDA AS
//! relationships, AS names, RPKI VRPs, a watch list — replays them through the
//! same path as `bugyo replay`, prints the incidents and says what to try next.

use crate::replay::{print_incidents, run_into, OutputFormat};
use crate::scenario::{generate, Scenario, ScenarioSize};
use bugyo_detect::{Engine, EngineConfig, Incident, Reference, Severity};
use bugyo_formats::mrt::{MrtWriter, Nlri, RibEntry, RibKind, UpdateEntry};
use bugyo_state::{AsGraph, MemberIndex, VrpIndex};
use clap::Args;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `bugyo demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Where to write the scenario's files (default: a `bugyo-demo` folder
    /// in the system's temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Output format of the incidents.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Seed of the scenario.
    #[arg(long, default_value_t = 2017)]
    pub seed: u64,
    /// Number of stub ASes (scales the table).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(10..=200_000))]
    pub stubs: u32,
}

fn gz(path: &Path) -> io::Result<flate2::write::GzEncoder<BufWriter<File>>> {
    Ok(flate2::write::GzEncoder::new(
        BufWriter::new(File::create(path)?),
        flate2::Compression::fast(),
    ))
}

/// Writes the scenario's files into `dir`; returns (rib, updates) paths.
pub fn write_files(s: &Scenario, dir: &Path) -> io::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let rib_path = dir.join("bview.20170825.0300.gz");
    let mut w = MrtWriter::new(gz(&rib_path)?);
    let routes: Vec<RibEntry> = s
        .rib
        .iter()
        .map(|(peer, prefix, attrs)| RibEntry {
            time: s.rib_time,
            kind: RibKind::TableDumpV2,
            peer: *peer,
            prefix: *prefix,
            path_id: None,
            attrs: attrs.clone(),
            originated: s.rib_time,
        })
        .collect();
    w.write_rib_dump(s.rib_time, &routes)?;
    w.into_inner()?.finish()?.flush()?;

    let upd_path = dir.join("updates.20170825.0300.gz");
    let mut w = MrtWriter::new(gz(&upd_path)?);
    for u in &s.updates {
        let nlri = |v: &Vec<bugyo_model::Prefix>| {
            v.iter()
                .map(|p| Nlri {
                    prefix: *p,
                    path_id: None,
                })
                .collect()
        };
        w.write_update(&UpdateEntry {
            time: u.time,
            extended: true,
            peer: u.peer,
            withdrawn: nlri(&u.withdrawn),
            announced: nlri(&u.announced),
            attrs: u.attrs.clone(),
            ..UpdateEntry::default()
        })?;
    }
    w.into_inner()?.finish()?.flush()?;

    let mut f = BufWriter::new(File::create(dir.join("as-rel.txt"))?);
    writeln!(
        f,
        "# synthetic AS relationships of the bugyo demo (CAIDA serial-1 format)"
    )?;
    writeln!(f, "# input clique: 701 1299 2914 3356 174 6453")?;
    for l in &s.links {
        let rel = match l.rel {
            bugyo_model::Relationship::ProviderToCustomer => -1,
            bugyo_model::Relationship::PeerToPeer => 0,
            bugyo_model::Relationship::Sibling => 1,
        };
        writeln!(f, "{}|{}|{rel}", l.a.0, l.b.0)?;
    }
    f.flush()?;

    let mut f = BufWriter::new(File::create(dir.join("as2org.txt"))?);
    writeln!(f, "# format:aut|changed|aut_name|org_id|opaque_id|source")?;
    for o in &s.names {
        writeln!(f, "{}|20170801|{}|ORG-{}|-|DEMO", o.asn.0, o.name, o.asn.0)?;
    }
    writeln!(f, "# format:org_id|changed|org_name|country|source")?;
    for o in &s.names {
        writeln!(
            f,
            "ORG-{}|20170801|{}|{}|DEMO",
            o.asn.0, o.org_name, o.country
        )?;
    }
    f.flush()?;

    let roas: Vec<serde_json::Value> = s
        .vrps
        .iter()
        .map(|v| serde_json::json!({"asn": v.asn.0, "prefix": v.prefix.to_string(), "maxLength": v.max_len, "ta": "demo"}))
        .collect();
    let json = serde_json::json!({"metadata": {"generated": s.rib_time.secs, "buildmachine": "bugyo demo (synthetic)"}, "roas": roas});
    std::fs::write(
        dir.join("rpki.json"),
        serde_json::to_vec_pretty(&json).map_err(io::Error::other)?,
    )?;

    let mut f = BufWriter::new(File::create(dir.join("watch.toml"))?);
    writeln!(
        f,
        "# Watched members of the synthetic demo / デモ用の監視対象 (架空)"
    )?;
    for m in &s.members {
        writeln!(f, "\n[[member]]\nid = \"{}\"\nname = \"{}\"", m.id, m.name)?;
        let asns: Vec<String> = m.asns.iter().map(|a| a.0.to_string()).collect();
        writeln!(f, "asns = [{}]", asns.join(", "))?;
        let contacts: Vec<String> = m.contacts.iter().map(|c| format!("\"{c}\"")).collect();
        writeln!(
            f,
            "contacts = [{}]\nlanguage = \"{}\"",
            contacts.join(", "),
            m.language
        )?;
    }
    f.flush()?;
    Ok((rib_path, upd_path))
}

/// Runs `bugyo demo`.
pub fn run(args: DemoArgs) -> ExitCode {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("bugyo-demo"));
    eprintln!(
        "Generating a SYNTHETIC scenario (not real routes) in {} ...",
        dir.display()
    );
    eprintln!(
        "合成シナリオ(実在の経路ではありません)を {} に生成しています…",
        dir.display()
    );
    let size = ScenarioSize {
        stubs: args.stubs,
        ..ScenarioSize::default()
    };
    let s = generate(size, args.seed);
    let (rib, updates) = match write_files(&s, &dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!(
                "error: cannot write the scenario: {e}\nエラー: シナリオを書き込めません: {e}"
            );
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "  {} peers, {} RIB routes, {} updates; injected:",
        s.peers.len(),
        s.rib.len(),
        s.updates.len()
    );
    for i in &s.injected {
        eprintln!("  - {i}");
    }
    let mut graph = AsGraph::new(s.links.clone());
    graph.set_names(s.names.clone());
    let reference = Reference {
        vrps: VrpIndex::new(s.vrps.clone()),
        graph,
        members: MemberIndex::new(s.members.clone()),
        ..Reference::default()
    };
    let mut engine = Engine::new(reference, EngineConfig::default());
    let summary = match run_into(
        &mut engine,
        std::slice::from_ref(&rib),
        std::slice::from_ref(&updates),
    ) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let shown: Vec<&Incident> = engine.incidents_at_least(Severity::Low).collect();
    if args.format == OutputFormat::Table {
        say!(
            "bugyo demo — SYNTHETIC data / 合成データ: {} routes replayed, {} incidents ({} at low or above)\n",
            summary.routes,
            engine.incidents().len(),
            shown.len()
        );
    }
    if let Err(e) = print_incidents(&engine, &shown, args.format) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if args.format == OutputFormat::Table {
        let d = dir.display();
        say!("What to try next / 次に試すこと:");
        say!("  bugyo replay --rib {d}/bview.20170825.0300.gz --as-rel {d}/as-rel.txt --as2org {d}/as2org.txt \\");
        say!("               --rpki {d}/rpki.json --watch {d}/watch.toml {d}/updates.20170825.0300.gz");
        say!("  bugyo replay ... --format json --min-severity info   # every incident as JSON / 全インシデントをJSONで");
        say!("  bugyo dump {d}/updates.20170825.0300.gz | head       # the routes, as bgpdump -m prints them");
        say!("  bugyo replay ... --data-dir {d}/data                 # record the incidents in the store / ストアに記録");
        say!("  bugyo org add --data-dir {d}/data --handle ocn --name OCN --asn 4713 --email noc@ocn.example");
        say!("  bugyo token create --data-dir {d}/data --org ocn --role member   # an API token / API トークン");
        say!("  bugyo serve --data-dir {d}/data   # then GET http://127.0.0.1:8080/api/v1/incidents with the token");
        say!("  Replay your own MRT archives (RIPE RIS, RouteViews) with CAIDA as-rel data for real leaks.");
        say!("  RIPE RIS や RouteViews の MRT アーカイブと CAIDA の AS 関係データで実データを再生できます。");
    }
    ExitCode::SUCCESS
}
