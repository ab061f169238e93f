//! `bugyo bench ingest`: full-table ingestion over one BGP session, bugyo
//! next to a reference router. A source gobgpd on loopback holds a generated
//! table (by default 1,000,000 IPv4 + 200,000 IPv6 routes with the real AS
//! paths of the RIS rrc06 table); it sends that table first to a second
//! gobgpd (the reference), then to `bugyo serve`. For each the benchmark
//! measures the seconds from session Established until every route is in,
//! and the growth of peak resident memory over the idle process, and prints
//! both side by side with the speed ratio.

use bugyo_formats::mrt::bgpdump_text::TextReader;
use bugyo_formats::mrt::{MrtEntry, MrtWriter, RibEntry, RibKind};
use bugyo_model::{Asn, Community, PathAttributes, Peer, Prefix, SegmentKind, Timestamp};
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Arguments of `bugyo bench ingest`.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// `bgpdump -m` table text whose AS paths and attributes the table is
    /// built from (default: the RIS rrc06 table under `$BUGYO_TESTDATA`,
    /// else `../shared/data`).
    #[arg(long, value_name = "TEXT")]
    pub paths_from: Option<PathBuf>,
    /// Distinct IPv4 routes in the table.
    #[arg(long, default_value_t = 1_000_000)]
    pub ipv4: usize,
    /// Distinct IPv6 routes in the table.
    #[arg(long, default_value_t = 200_000)]
    pub ipv6: usize,
    /// Runs of each side (interleaved); the best time of each is compared.
    #[arg(long, default_value_t = 1)]
    pub runs: u32,
    /// Scratch directory: the table, configurations, logs, bugyo's data.
    #[arg(long, value_name = "DIR", default_value = "target/bench-ingest")]
    pub work_dir: PathBuf,
    /// Give up on any single wait after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// The gobgpd program (source and reference router).
    #[arg(long, default_value = "gobgpd")]
    pub gobgpd: PathBuf,
    /// The gobgp command-line client.
    #[arg(long, default_value = "gobgp")]
    pub gobgp: PathBuf,
    /// Only write the table file and print its statistics.
    #[arg(long)]
    pub table_only: bool,
}

/// The source's AS and the receivers' ASes and addresses (all loopback).
/// Public ASes absent from the rrc06 paths (checked when the table is
/// built): a receiver rejects paths with its own AS as loops, and bugyo
/// judges a private or reserved peer AS a bogon on every route.
const SOURCE_ASN: u32 = 59_100;
const SOURCE_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const REFERENCE_ASN: u32 = 59_102;
const REFERENCE_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const BUGYO_ASN: u32 = 59_103;
const BUGYO_ADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// Routes repeated at the end of the table file (see [`build_table`]).
const TAIL_COPIES: usize = 50_000;
/// How often the receivers' counts are read.
const POLL: Duration = Duration::from_millis(200);

/// The generated table and what it contains.
struct Table {
    path: PathBuf,
    v4: usize,
    v6: usize,
    attr_sets: usize,
    as_paths: usize,
}

/// Interns attribute sets so that equal sets share one `Arc` (and can be
/// counted).
#[derive(Default)]
struct Interner {
    sets: HashMap<PathAttributes, Arc<PathAttributes>>,
}

impl Interner {
    fn get(&mut self, a: PathAttributes) -> Arc<PathAttributes> {
        if let Some(x) = self.sets.get(&a) {
            return Arc::clone(x);
        }
        let x = Arc::new(a.clone());
        self.sets.insert(a, Arc::clone(&x));
        x
    }
}

/// A variant of `base` for the `k`-th carved more-specific: as is (from one
/// of the real peers), with the origin prepended once, or with one of a few
/// traffic-engineering communities of the origin — the kinds of difference
/// real more-specifics show.
fn variant(base: &PathAttributes, k: usize) -> Option<PathAttributes> {
    let origin = base.as_path.origin()?;
    match k % 4 {
        2 => {
            let mut a = base.clone();
            if let Some(last) = a.as_path.segments.last_mut() {
                if last.kind == SegmentKind::Sequence {
                    last.asns.push(origin);
                    return Some(a);
                }
            }
            None
        }
        3 => {
            let mut a = base.clone();
            let high = if origin.0 <= 0xffff { origin.0 } else { 23456 };
            a.communities
                .push(Community((high << 16) | (100 + (k / 4 % 3) as u32)));
            Some(a)
        }
        _ => None,
    }
}

/// The distinct attribute sets of one prefix in a real table.
type RealPrefix = (Prefix, Vec<Arc<PathAttributes>>);

/// The real table's routes grouped by prefix, in file order, and its time.
fn read_real(text: &Path) -> io::Result<(Vec<RealPrefix>, Timestamp)> {
    let mut order: Vec<RealPrefix> = Vec::new();
    let mut index: HashMap<Prefix, usize> = HashMap::new();
    let mut time = Timestamp::default();
    for e in TextReader::new(bugyo_formats::input::open(text)?) {
        let Ok(MrtEntry::Rib(r)) = e else { continue };
        time = r.time;
        let i = *index.entry(r.prefix).or_insert_with(|| {
            order.push((r.prefix, Vec::new()));
            order.len() - 1
        });
        if !order[i].1.iter().any(|a| Arc::ptr_eq(a, &r.attrs)) {
            order[i].1.push(r.attrs);
        }
    }
    if order.is_empty() {
        return Err(io::Error::other(format!(
            "{}: no routes / 経路がありません",
            text.display()
        )));
    }
    Ok((order, time))
}

/// Builds the table (see the module documentation) and writes it as MRT
/// TABLE_DUMP_V2 into `dir`.
///
/// IPv4: every real prefix (its peers' paths taken in turn), then /24s
/// carved from the real covering prefixes round by round (the k-th /24 of
/// every prefix shorter than /24 in round k), each with a path of its
/// covering prefix or a variant of it ([`variant`]), until `n4` distinct
/// prefixes. IPv6: every origin AS of the real table gets a /32 under
/// 2400::/12 with one of its real paths, then /48s inside it with its other
/// real paths, round by round, until `n6`.
fn build_table(text: &Path, dir: &Path, n4: usize, n6: usize) -> io::Result<Table> {
    let (real, time) = read_real(text)?;
    for (_, paths) in &real {
        for a in paths {
            if let Some(x) = a
                .as_path
                .iter()
                .find(|x| [SOURCE_ASN, REFERENCE_ASN, BUGYO_ASN].contains(&x.0))
            {
                return Err(io::Error::other(format!(
                    "{x} is in a path of {}: the benchmark's own ASes must not be / ベンチマーク用の AS が経路に含まれています",
                    text.display()
                )));
            }
        }
    }
    let mut interner = Interner::default();
    let mut v4: Vec<(Prefix, Arc<PathAttributes>)> = Vec::with_capacity(n4);
    let mut seen: HashSet<Prefix> = HashSet::with_capacity(n4);
    let mut derived: HashMap<(usize, usize), Arc<PathAttributes>> = HashMap::new();
    let mut real_v4: Vec<&RealPrefix> = real
        .iter()
        .filter(|(p, _)| matches!(p.addr(), IpAddr::V4(_)))
        .collect();
    for (i, (p, paths)) in real_v4.iter().enumerate() {
        if v4.len() >= n4 {
            break;
        }
        if seen.insert(*p) {
            v4.push((*p, interner.get((*paths[i % paths.len()]).clone())));
        }
    }
    real_v4.retain(|(p, _)| p.len() < 24);
    let mut k = 0usize;
    while v4.len() < n4 {
        let mut added = false;
        for (p, paths) in &real_v4 {
            if v4.len() >= n4 {
                break;
            }
            let IpAddr::V4(a) = p.addr() else { continue };
            if k >= 1usize << (24 - p.len()) {
                continue;
            }
            added = true;
            let net = u32::from(a) + ((k as u32) << 8);
            let Ok(q) = Prefix::v4(net, 24) else { continue };
            if !seen.insert(q) {
                continue;
            }
            let base = &paths[k % paths.len()];
            let attrs = match variant(base, k) {
                Some(v) => {
                    let key = (Arc::as_ptr(base) as usize, k % 4 + 4 * (k / 4 % 3));
                    let x = derived.get(&key).cloned();
                    x.unwrap_or_else(|| {
                        let x = interner.get(v);
                        derived.insert(key, Arc::clone(&x));
                        x
                    })
                }
                None => interner.get((**base).clone()),
            };
            v4.push((q, attrs));
        }
        if !added {
            return Err(io::Error::other(format!(
                "only {} IPv4 prefixes can be carved / 切り出せる IPv4 プレフィックスは {} 個のみ",
                v4.len(),
                v4.len()
            )));
        }
        k += 1;
    }
    // IPv6: the real paths grouped by origin AS.
    let mut by_origin: Vec<Vec<Arc<PathAttributes>>> = Vec::new();
    let mut origin_index: HashMap<Asn, usize> = HashMap::new();
    for (_, paths) in &real {
        for a in paths {
            let Some(o) = a.as_path.origin() else {
                continue;
            };
            let i = *origin_index.entry(o).or_insert_with(|| {
                by_origin.push(Vec::new());
                by_origin.len() - 1
            });
            by_origin[i].push(Arc::clone(a));
        }
    }
    let mut v6_attrs: HashMap<usize, Arc<PathAttributes>> = HashMap::new();
    let mut v6: Vec<(Prefix, Arc<PathAttributes>)> = Vec::with_capacity(n6);
    let mut k = 0usize;
    while v6.len() < n6 {
        let mut added = false;
        for (i, paths) in by_origin.iter().enumerate() {
            if v6.len() >= n6 || i >= 1 << 20 {
                break;
            }
            if k >= paths.len() || k >= 1 << 16 {
                continue;
            }
            added = true;
            let base = (0x2400_0000u128 + i as u128) << 96;
            let q = if k == 0 {
                Prefix::v6(base, 32)
            } else {
                Prefix::v6(base | ((k as u128) << 80), 48)
            };
            let Ok(q) = q else { continue };
            let a = &paths[k];
            let attrs = v6_attrs
                .entry(Arc::as_ptr(a) as usize)
                .or_insert_with(|| {
                    let mut x = (**a).clone();
                    let low = match x.next_hop {
                        Some(IpAddr::V4(h)) => u128::from(u32::from(h)),
                        _ => 1,
                    };
                    x.next_hop = Some(IpAddr::V6(Ipv6Addr::from((0x2001_0db8u128 << 96) | low)));
                    interner.get(x)
                })
                .clone();
            v6.push((q, attrs));
        }
        if !added {
            return Err(io::Error::other(format!(
                "only {} IPv6 prefixes can be made / 作れる IPv6 プレフィックスは {} 個のみ",
                v6.len(),
                v6.len()
            )));
        }
        k += 1;
    }
    let peer = Peer::new(Asn(SOURCE_ASN), IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let mut as_paths: HashSet<&bugyo_model::AsPath> = HashSet::new();
    let mut attr_sets: HashSet<*const PathAttributes> = HashSet::new();
    for (_, a) in v4.iter().chain(v6.iter()) {
        as_paths.insert(&a.as_path);
        attr_sets.insert(Arc::as_ptr(a));
    }
    let (attr_sets, as_paths) = (attr_sets.len(), as_paths.len());
    let (n4, n6) = (v4.len(), v6.len());
    let routes: Vec<RibEntry> = v4
        .into_iter()
        .chain(v6)
        .map(|(prefix, attrs)| RibEntry {
            time,
            kind: RibKind::TableDumpV2,
            peer,
            prefix,
            path_id: None,
            attrs,
            originated: time,
        })
        .collect();
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("table-{n4}-{n6}.mrt"));
    let mut w = MrtWriter::new(Vec::with_capacity(routes.len() * 64));
    w.write_rib_dump(time, &routes)?;
    // gobgp 3.10's `mrt inject` loses the last few hundred paths of a file
    // (the client exits before the server has taken them): end the file with
    // copies of routes already in it, so that only copies can be lost.
    for r in routes.iter().take(TAIL_COPIES) {
        w.write_rib(time, r.prefix, &[r])?;
    }
    let mrt = full_mp_reach(&w.into_inner()?)?;
    std::fs::write(&path, mrt)?;
    Ok(Table {
        path,
        v4: n4,
        v6: n6,
        attr_sets,
        as_paths,
    })
}

/// Rewrites a TABLE_DUMP_V2 file so that gobgp before 3.17 can inject its
/// IPv6 routes: their MP_REACH_NLRI attributes get the full RFC 4760 form
/// (AFI, SAFI, next hop, reserved octet) instead of the abbreviated one of
/// RFC 6396 section 4.3.4, which those versions cannot parse
/// (osrg/gobgp#2649, "unknown route family"). Other records are copied.
fn full_mp_reach(mrt: &[u8]) -> io::Result<Vec<u8>> {
    let bad = || io::Error::other("malformed MRT written / 書き出した MRT が不正です");
    let u16_at = |b: &[u8], i: usize| -> io::Result<usize> {
        Ok(usize::from(u16::from_be_bytes([
            *b.get(i).ok_or_else(bad)?,
            *b.get(i + 1).ok_or_else(bad)?,
        ])))
    };
    let mut out = Vec::with_capacity(mrt.len() + mrt.len() / 8);
    let mut pos = 0;
    while pos < mrt.len() {
        let header = mrt.get(pos..pos + 12).ok_or_else(bad)?;
        let len = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let body = mrt.get(pos + 12..pos + 12 + len).ok_or_else(bad)?;
        pos += 12 + len;
        // TABLE_DUMP_V2 (13), RIB_IPV6_UNICAST (4).
        if header[4..8] != [0, 13, 0, 4] {
            out.extend_from_slice(header);
            out.extend_from_slice(body);
            continue;
        }
        let plen = usize::from(*body.get(4).ok_or_else(bad)?);
        let mut i = 5 + plen.div_ceil(8);
        let mut nb = body.get(..i + 2).ok_or_else(bad)?.to_vec();
        let count = u16_at(body, i)?;
        i += 2;
        for _ in 0..count {
            // Peer index, originated time, attribute length, attributes.
            nb.extend_from_slice(body.get(i..i + 6).ok_or_else(bad)?);
            let alen = u16_at(body, i + 6)?;
            let attrs = body.get(i + 8..i + 8 + alen).ok_or_else(bad)?;
            i += 8 + alen;
            let mut na = Vec::with_capacity(alen + 4);
            let mut j = 0;
            while j < attrs.len() {
                let flags = attrs[j];
                let ty = *attrs.get(j + 1).ok_or_else(bad)?;
                let (hl, vlen) = if flags & 0x10 != 0 {
                    (4, u16_at(attrs, j + 2)?)
                } else {
                    (3, usize::from(*attrs.get(j + 2).ok_or_else(bad)?))
                };
                let value = attrs.get(j + hl..j + hl + vlen).ok_or_else(bad)?;
                if ty == 14 {
                    let mut v = vec![0, 2, 1];
                    v.extend_from_slice(value);
                    v.push(0);
                    let vl = u8::try_from(v.len()).map_err(|_| bad())?;
                    na.extend_from_slice(&[flags & !0x10, ty, vl]);
                    na.extend_from_slice(&v);
                } else {
                    na.extend_from_slice(&attrs[j..j + hl + vlen]);
                }
                j += hl + vlen;
            }
            let nal = u16::try_from(na.len()).map_err(|_| bad())?;
            nb.extend_from_slice(&nal.to_be_bytes());
            nb.extend_from_slice(&na);
        }
        out.extend_from_slice(&header[..8]);
        out.extend_from_slice(&(nb.len() as u32).to_be_bytes());
        out.extend_from_slice(&nb);
    }
    Ok(out)
}

/// A child process, killed (and reaped) when dropped, so that every exit
/// path of the benchmark stops it.
struct Proc {
    child: Child,
}

/// The children running now, killed by [`stop_children_on_signal`]'s
/// handler if the benchmark is interrupted.
static CHILDREN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Ok(mut c) = CHILDREN.lock() {
            c.retain(|&p| p != self.child.id());
        }
    }
}

/// On SIGINT or SIGTERM, kills the running children and exits (dropping
/// [`Proc`]s covers every other way out).
fn stop_children_on_signal() {
    std::thread::spawn(|| {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                    return;
                }
            }
            let _ = tokio::signal::ctrl_c().await;
        });
        let pids: Vec<String> = CHILDREN
            .lock()
            .map(|c| c.iter().map(|p| p.to_string()).collect())
            .unwrap_or_default();
        if !pids.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&pids).status();
        }
        eprintln!("interrupted / 中断しました");
        std::process::exit(130);
    });
}

impl Proc {
    /// Takes charge of a started child.
    fn new(child: Child) -> Proc {
        if let Ok(mut c) = CHILDREN.lock() {
            c.push(child.id());
        }
        Proc { child }
    }

    /// Fails if the process has exited.
    fn check(&mut self, what: &str, log: &Path) -> io::Result<()> {
        if let Ok(Some(s)) = self.child.try_wait() {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: String = tail
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(io::Error::other(format!(
                "{what} exited ({s}) / {what} が終了しました; {}:\n{tail}",
                log.display()
            )));
        }
        Ok(())
    }

    /// A `/proc/PID/status` field in bytes (`VmRSS`, `VmHWM`).
    fn status_bytes(&self, field: &str) -> u64 {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }

    /// CPU time used so far (user + system), in seconds.
    fn cpu_secs(&self) -> f64 {
        let s =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
        // /proc reports in USER_HZ, 100 on Linux.
        (ticks(11) + ticks(12)) as f64 / 100.0
    }
}

/// A free TCP port on `addr`.
fn free_port(addr: Ipv4Addr) -> io::Result<u16> {
    Ok(TcpListener::bind((addr, 0))?.local_addr()?.port())
}

/// The TOML of one neighbour.
fn neighbor_toml(addr: Ipv4Addr, asn: u32, transport: &str, admin_down: bool) -> String {
    format!(
        r#"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{addr}"
    peer-as = {asn}
    admin-down = {admin_down}
  [neighbors.transport.config]
{transport}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 90
    keepalive-interval = 30
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
    )
}

/// What the benchmark drives: programs, time limit, scratch directory.
struct Env {
    gobgpd: PathBuf,
    gobgp: PathBuf,
    timeout: Duration,
    dir: PathBuf,
}

impl Env {
    /// Starts gobgpd with `config` (written to `DIR/NAME.toml`, log
    /// `DIR/NAME.log`) and an API on a free loopback port; returns it once
    /// the API answers.
    fn gobgpd(&self, name: &str, config: &str) -> io::Result<(Proc, u16)> {
        let cfg = self.dir.join(format!("{name}.toml"));
        std::fs::write(&cfg, config)?;
        let log_path = self.dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let api = free_port(Ipv4Addr::LOCALHOST)?;
        let child = Command::new(&self.gobgpd)
            .args(["-t", "toml", "-f"])
            .arg(&cfg)
            .arg(format!("--api-hosts=127.0.0.1:{api}"))
            .arg("--pprof-disable")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot start {}: {e} (apt-get install gobgpd)",
                        self.gobgpd.display()
                    ),
                )
            })?;
        let mut p = Proc::new(child);
        let deadline = Instant::now() + Duration::from_secs(30).min(self.timeout);
        loop {
            p.check(name, &log_path)?;
            if self.cli(api, &["global"]).map(|o| o.status.success())? {
                return Ok((p, api));
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "{name}: the gobgpd API did not answer / API が応答しません"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `gobgp -p API ARGS`.
    fn cli(&self, api: u16, args: &[&str]) -> io::Result<Output> {
        Command::new(&self.gobgp)
            .args(["-p", &api.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {}: {e}", self.gobgp.display()),
                )
            })
    }

    /// Runs `gobgp -p API ARGS`, failing with its output if it fails.
    fn cli_ok(&self, api: u16, args: &[&str]) -> io::Result<String> {
        let o = self.cli(api, args)?;
        if !o.status.success() {
            return Err(io::Error::other(format!(
                "gobgp {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )));
        }
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Destinations in a gobgpd's global RIB for one family ("ipv4"/"ipv6").
    fn rib_size(&self, api: u16, family: &str) -> io::Result<u64> {
        let s = self.cli_ok(api, &["global", "rib", "summary", "-a", family])?;
        // "Table ipv4-unicast:\nDestination: N, Path: M"
        Ok(s.split([',', '\n'])
            .find_map(|part| part.trim().strip_prefix("Path:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0))
    }
}

/// The source gobgpd and its API port.
struct Source {
    proc: Proc,
    api: u16,
}

/// One side's measurement.
#[derive(Clone, Debug)]
struct Measured {
    routes: u64,
    secs: f64,
    /// Seconds from Established to the first route counted.
    first: f64,
    /// CPU seconds the source gobgpd used meanwhile.
    source_cpu: f64,
    idle_rss: u64,
    peak_rss: u64,
    /// RSS two seconds after the last route: what the table keeps.
    held_rss: u64,
    cpu_secs: f64,
}

impl Measured {
    fn delta(&self) -> u64 {
        self.peak_rss.saturating_sub(self.idle_rss)
    }
    fn rate(&self) -> f64 {
        self.routes as f64 / self.secs.max(1e-9)
    }
    fn bytes_per_route(&self) -> f64 {
        self.delta() as f64 / self.routes.max(1) as f64
    }
    /// Bytes per route still held once the table is in (peak minus the
    /// transient: queues, buffers, tables caught mid-resize).
    fn held_per_route(&self) -> f64 {
        self.held_rss.saturating_sub(self.idle_rss) as f64 / self.routes.max(1) as f64
    }
}

/// Waits up to the time limit for `f` to return `Some`, polling every
/// [`POLL`]; `what` names the wait in the error.
fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> io::Result<Option<T>>,
) -> io::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(x) = f()? {
            return Ok(x);
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "gave up after {} s waiting for {what} / {what} を {} 秒待ちましたが完了しません",
                timeout.as_secs(),
                timeout.as_secs()
            )));
        }
        std::thread::sleep(POLL);
    }
}

/// Waits up to the time limit until `count` reaches `want`, printing
/// progress every 30 s; `what` names the receiver.
fn wait_routes(
    timeout: Duration,
    what: &str,
    want: u64,
    mut count: impl FnMut() -> io::Result<u64>,
) -> io::Result<Instant> {
    let started = Instant::now();
    let mut last = 0;
    let mut shown = Instant::now();
    let mut first = None;
    let r = wait_for(timeout, what, || {
        last = count()?;
        if last > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if shown.elapsed() >= Duration::from_secs(30) {
            shown = Instant::now();
            eprintln!(
                "  {what}: {last}/{want} routes after {:.0} s / {:.0} 秒で {last} 経路",
                started.elapsed().as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok((last >= want).then_some(()))
    });
    r.map_err(|e| io::Error::other(format!("{e} ({last}/{want} routes / 経路)")))?;
    Ok(first.unwrap_or_else(Instant::now))
}

/// Per-family counts of a gobgpd neighbour, from `gobgp neighbor -j`:
/// (established, accepted IPv4, accepted IPv6).
fn neighbor_counts(json: &str) -> (bool, u64, u64) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    let Some(n) = v.as_array().and_then(|a| a.first()) else {
        return (false, 0, 0);
    };
    let up = n["state"]["session_state"] == 6 || n["state"]["session_state"] == "established";
    let mut v4 = 0;
    let mut v6 = 0;
    for f in n["afi_safis"].as_array().into_iter().flatten() {
        let accepted = f["state"]["accepted"].as_u64().unwrap_or(0);
        let family = &f["state"]["family"];
        match family["afi"].as_u64() {
            Some(1) => v4 += accepted,
            Some(2) => v6 += accepted,
            _ => {}
        }
    }
    (up, v4, v6)
}

/// The reference run: a fresh receiving gobgpd, the source's neighbour for
/// it enabled, timed until it has accepted every route.
fn run_reference(env: &Env, source: &Source, table: &Table, port: u16) -> io::Result<Measured> {
    let config = format!(
        "[global.config]\n  as = {REFERENCE_ASN}\n  router-id = \"192.0.2.2\"\n  port = {port}\n  local-address-list = [\"{REFERENCE_ADDR}\"]\n{}",
        neighbor_toml(SOURCE_ADDR, SOURCE_ASN, "    passive-mode = true", false)
    );
    let (mut p, api) = env.gobgpd("reference", &config)?;
    let log = env.dir.join("reference.log");
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = p.status_bytes("VmRSS");
    let idle_cpu = p.cpu_secs();
    let want = (table.v4 as u64, table.v6 as u64);
    let source_cpu = source.proc.cpu_secs();
    env.cli_ok(
        source.api,
        &["neighbor", &REFERENCE_ADDR.to_string(), "enable"],
    )?;
    let established = wait_for(env.timeout, "the reference session", || {
        p.check("reference gobgpd", &log)?;
        let (up, _, _) = neighbor_counts(&env.cli_ok(api, &["neighbor", "-j"])?);
        Ok(up.then(Instant::now))
    })?;
    let first = wait_routes(env.timeout, "the reference gobgpd", want.0 + want.1, || {
        p.check("reference gobgpd", &log)?;
        let (_, a4, a6) = neighbor_counts(&env.cli_ok(api, &["neighbor", "-j"])?);
        Ok(a4.min(want.0) + a6.min(want.1))
    })?;
    let secs = established.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let m = Measured {
        routes: want.0 + want.1,
        secs,
        first: first.duration_since(established).as_secs_f64(),
        source_cpu: source.proc.cpu_secs() - source_cpu,
        idle_rss,
        peak_rss: p.status_bytes("VmHWM"),
        held_rss: p.status_bytes("VmRSS"),
        cpu_secs: p.cpu_secs() - idle_cpu,
    };
    env.cli_ok(
        source.api,
        &["neighbor", &REFERENCE_ADDR.to_string(), "disable"],
    )?;
    drop(p);
    Ok(m)
}

/// `GET /metrics` from bugyo serve, with short time limits.
fn get_metrics(addr: SocketAddr) -> io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: bench\r\n\r\n")?;
    let mut body = String::new();
    s.take(16 << 20).read_to_string(&mut body)?;
    Ok(body)
}

/// The sum of the samples of one metric in OpenMetrics text, if present.
fn metric(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for l in text.lines() {
        let Some(rest) = l.strip_prefix(name) else {
            continue;
        };
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let value = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let Some(v) = value {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// What bugyo's run counted routes with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    /// The `bugyo_rib_routes` gauge: routes in the RIB.
    Rib,
    /// `bugyo_bgp_prefixes_announced_total`: prefixes the speaker received
    /// (before the detection loop has them).
    Received,
}

/// The bugyo run: `bugyo serve` from this executable, the source's
/// neighbour for it enabled, timed until its RIB holds every route.
fn run_bugyo(
    env: &Env,
    source: &Source,
    table: &Table,
    port: u16,
    run: u32,
) -> io::Result<(Measured, Counter)> {
    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST)?));
    let data = env.dir.join(format!("bugyo-data-{run}"));
    let _ = std::fs::remove_dir_all(&data);
    let log_path = env.dir.join("bugyo.log");
    let log = std::fs::File::create(&log_path)?;
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .arg("serve")
        .arg("--data-dir")
        .arg(&data)
        .args(["--local-asn", &BUGYO_ASN.to_string()])
        .args(["--router-id", "192.0.2.3"])
        .args(["--bgp-listen", &format!("{BUGYO_ADDR}:{port}")])
        .args(["--http", &http.to_string()])
        .args(["--peer", &format!("{SOURCE_ASN}@{SOURCE_ADDR}")])
        .args(["--learning-secs", "86400"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()?;
    let mut p = Proc::new(child);
    let first = wait_for(
        Duration::from_secs(30).min(env.timeout),
        "bugyo's /metrics",
        || {
            p.check("bugyo serve", &log_path)?;
            Ok(get_metrics(http).ok())
        },
    )?;
    let counter = if metric(&first, "bugyo_rib_routes").is_some() {
        Counter::Rib
    } else {
        Counter::Received
    };
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = p.status_bytes("VmRSS");
    let idle_cpu = p.cpu_secs();
    let want = (table.v4 + table.v6) as u64;
    let source_cpu = source.proc.cpu_secs();
    env.cli_ok(source.api, &["neighbor", &BUGYO_ADDR.to_string(), "enable"])?;
    let established = wait_for(env.timeout, "the bugyo session", || {
        p.check("bugyo serve", &log_path)?;
        let m = get_metrics(http)?;
        Ok((metric(&m, "bugyo_bgp_session_up").unwrap_or(0.0) >= 1.0).then(Instant::now))
    })?;
    let first = wait_routes(env.timeout, "bugyo serve", want, || {
        p.check("bugyo serve", &log_path)?;
        let m = get_metrics(http)?;
        let n = match counter {
            Counter::Rib => metric(&m, "bugyo_rib_routes"),
            Counter::Received => metric(&m, "bugyo_bgp_prefixes_announced_total"),
        };
        Ok(n.unwrap_or(0.0) as u64)
    })?;
    let secs = established.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(2));
    let m = Measured {
        routes: want,
        secs,
        first: first.duration_since(established).as_secs_f64(),
        source_cpu: source.proc.cpu_secs() - source_cpu,
        idle_rss,
        peak_rss: p.status_bytes("VmHWM"),
        held_rss: p.status_bytes("VmRSS"),
        cpu_secs: p.cpu_secs() - idle_cpu,
    };
    // Where bugyo's memory goes, by its own account (per route).
    if let Ok(text) = get_metrics(http) {
        let per = |v: Option<f64>| v.unwrap_or(0.0) / want.max(1) as f64;
        let part = |p: &str| {
            per(metric(
                &text,
                &format!("bugyo_rib_memory_bytes{{part=\"{p}\"}}"),
            ))
        };
        say!(
            "  bugyo RIB by its own account, bytes per route: tables {:.0}, prefix index {:.0}, adjacencies {:.0}, attribute index {:.0}; {} attribute sets; process RSS {:.0} / 経路あたり",
            part("tables"),
            part("prefix_index"),
            part("adjacencies"),
            part("attribute_index"),
            metric(&text, "bugyo_rib_attribute_sets").unwrap_or(0.0),
            per(metric(&text, "process_resident_memory_bytes")),
        );
    }
    env.cli_ok(
        source.api,
        &["neighbor", &BUGYO_ADDR.to_string(), "disable"],
    )?;
    drop(p);
    Ok((m, counter))
}

/// The default table text: the RIS rrc06 table of the shared test data.
fn default_text() -> PathBuf {
    let base = std::env::var_os("BUGYO_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    base.join("bgpdump/test_expect_bview.20100701.0759.gz.bgp.gz")
}

fn mib(b: u64) -> f64 {
    b as f64 / 1_048_576.0
}

/// Runs `bugyo bench ingest`.
pub fn run(args: IngestArgs) -> ExitCode {
    match ingest(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            ExitCode::from(2)
        }
    }
}

fn ingest(args: IngestArgs) -> io::Result<()> {
    stop_children_on_signal();
    let text = args.paths_from.clone().unwrap_or_else(default_text);
    std::fs::create_dir_all(&args.work_dir)?;
    let dir = std::fs::canonicalize(&args.work_dir)?;
    let started = Instant::now();
    let table = build_table(&text, &dir, args.ipv4, args.ipv6)?;
    let routes = table.v4 + table.v6;
    say!(
        "table: {} IPv4 + {} IPv6 routes, {} distinct attribute sets ({:.1} routes per set), {} distinct AS paths ({:.1} routes per path); {} in {:.1} s",
        table.v4,
        table.v6,
        table.attr_sets,
        routes as f64 / table.attr_sets.max(1) as f64,
        table.as_paths,
        routes as f64 / table.as_paths.max(1) as f64,
        table.path.display(),
        started.elapsed().as_secs_f64()
    );
    say!(
        "経路表: IPv4 {} + IPv6 {} 経路、属性セット {} 種類、AS パス {} 種類",
        table.v4,
        table.v6,
        table.attr_sets,
        table.as_paths
    );
    if args.table_only {
        return Ok(());
    }
    let env = Env {
        gobgpd: args.gobgpd.clone(),
        gobgp: args.gobgp.clone(),
        timeout: Duration::from_secs(args.timeout_secs.max(1)),
        dir: dir.clone(),
    };
    let reference_port = free_port(REFERENCE_ADDR)?;
    let bugyo_port = free_port(BUGYO_ADDR)?;
    let source_config = format!(
        "[global.config]\n  as = {SOURCE_ASN}\n  router-id = \"192.0.2.1\"\n  port = -1\n{}{}",
        neighbor_toml(
            REFERENCE_ADDR,
            REFERENCE_ASN,
            &format!("    remote-port = {reference_port}\n    local-address = \"{SOURCE_ADDR}\""),
            true
        ),
        neighbor_toml(
            BUGYO_ADDR,
            BUGYO_ASN,
            &format!("    remote-port = {bugyo_port}\n    local-address = \"{SOURCE_ADDR}\""),
            true
        )
    );
    let (mut source, source_api) = env.gobgpd("source", &source_config)?;
    let t = Instant::now();
    let path = table.path.to_string_lossy().into_owned();
    env.cli_ok(source_api, &["mrt", "inject", "global", &path])?;
    // gobgpd may still be adding the last paths when the client returns:
    // wait until it holds the whole table, or its counts stop changing.
    let want = (table.v4 as u64, table.v6 as u64);
    let mut last = (u64::MAX, u64::MAX, Instant::now());
    let held = wait_for(env.timeout, "the source's table", || {
        source.check("source gobgpd", &dir.join("source.log"))?;
        let now = (
            env.rib_size(source_api, "ipv4")?,
            env.rib_size(source_api, "ipv6")?,
        );
        if now == want || (now == (last.0, last.1) && last.2.elapsed() > Duration::from_secs(5)) {
            return Ok(Some(now));
        }
        if now != (last.0, last.1) {
            last = (now.0, now.1, Instant::now());
        }
        Ok(None)
    })?;
    say!(
        "source gobgpd: injected in {:.1} s, holds {} IPv4 + {} IPv6 routes / 送信元 gobgpd に投入済み",
        t.elapsed().as_secs_f64(),
        held.0,
        held.1
    );
    if held != want {
        return Err(io::Error::other(format!(
            "the source holds {} + {} routes, not {} + {} / 送信元の経路数が一致しません",
            held.0, held.1, table.v4, table.v6
        )));
    }
    let mut reference: Vec<Measured> = Vec::new();
    let mut ours: Vec<Measured> = Vec::new();
    let mut counter = Counter::Rib;
    let source = Source {
        proc: source,
        api: source_api,
    };
    let show = |run: u32, name: &str, m: &Measured| {
        say!(
            "run {run}: {name} {:.2} s (first route after {:.2} s), {:.1} MiB, source CPU {:.1} s / 実行 {run}: {name} {:.2} 秒",
            m.secs,
            m.first,
            mib(m.delta()),
            m.source_cpu,
            m.secs
        );
    };
    // Interleaved, the order alternating from run to run: a source that is
    // slower (or faster) for its first or second peer favours neither side.
    for run in 1..=args.runs.max(1) {
        for side in [run % 2, 1 - run % 2] {
            if side == 1 {
                let r = run_reference(&env, &source, &table, reference_port)?;
                show(run, "gobgpd", &r);
                reference.push(r);
            } else {
                let (b, c) = run_bugyo(&env, &source, &table, bugyo_port, run)?;
                show(run, "bugyo", &b);
                counter = c;
                ours.push(b);
            }
        }
    }
    drop(source);
    let best = |v: &[Measured]| {
        v.iter()
            .min_by(|a, b| a.secs.total_cmp(&b.secs))
            .cloned()
            .unwrap_or(Measured {
                routes: 0,
                secs: 0.0,
                first: 0.0,
                source_cpu: 0.0,
                idle_rss: 0,
                peak_rss: 0,
                held_rss: 0,
                cpu_secs: 0.0,
            })
    };
    let (r, b) = (best(&reference), best(&ours));
    say!();
    say!(
        "full-table ingestion over one BGP session from gobgpd on loopback, best of {} run(s) each",
        args.runs.max(1)
    );
    say!(
        "{:<34} {:>9} {:>9} {:>10} {:>14} {:>12} {:>11} {:>8} {:>11} {:>11}",
        "",
        "routes",
        "seconds",
        "routes/s",
        "peak mem Δ",
        "bytes/route",
        "held B/rt",
        "CPU s",
        "1st route",
        "source CPU"
    );
    for (name, m) in [
        ("gobgpd 3 (reference router)", &r),
        (
            match counter {
                Counter::Rib => "bugyo serve (routes in RIB)",
                Counter::Received => "bugyo serve (routes received)",
            },
            &b,
        ),
    ] {
        say!(
            "{:<34} {:>9} {:>9.2} {:>10.0} {:>10.1} MiB {:>12.0} {:>11.0} {:>8.1} {:>9.2} s {:>9.1} s",
            name,
            m.routes,
            m.secs,
            m.rate(),
            mib(m.delta()),
            m.bytes_per_route(),
            m.held_per_route(),
            m.cpu_secs,
            m.first,
            m.source_cpu
        );
    }
    say!(
        "seconds: from session Established until every route is in (gobgpd: accepted; bugyo: in its RIB, after archiving and detection); peak mem Δ: VmHWM minus the RSS just before the session; held B/rt: RSS 2 s after the last route minus that, per route; CPU s: the receiver's CPU time; 1st route: when the first route was counted; source CPU: the sending gobgpd's CPU time meanwhile"
    );
    say!(
        "秒数: セッション確立から全経路の受け入れまで (bugyo は保存と検知を経て RIB に入るまで)。peak mem Δ: ピーク RSS とセッション直前の RSS の差。held B/rt: 最後の経路の 2 秒後の RSS から同じ値を引いた 1 経路あたりのバイト数。CPU s: 受信側の CPU 時間。1st route: 最初の経路までの秒数。source CPU: 送信側 gobgpd の CPU 時間"
    );
    let ratio = b.rate() / r.rate().max(1e-9);
    say!(
        "ratio bugyo/gobgpd speed: {ratio:.2}x; memory: {:.0} bytes per route (target: speed ≥ 1x, < 150 bytes per route: {})",
        b.bytes_per_route(),
        if ratio >= 1.0 && b.bytes_per_route() < 150.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    say!(
        "速度比 bugyo/gobgpd: {ratio:.2} 倍、メモリ: 1 経路あたり {:.0} バイト (目標: 1 倍以上、150 バイト未満: {})",
        b.bytes_per_route(),
        if ratio >= 1.0 && b.bytes_per_route() < 150.0 {
            "達成"
        } else {
            "未達"
        }
    );
    if counter == Counter::Received {
        say!(
            "note: /metrics has no bugyo_rib_routes gauge yet: bugyo's time is until its BGP speaker received every prefix, not until the RIB held them\n注意: /metrics に bugyo_rib_routes がまだないため、bugyo の時間は RIB 格納ではなく受信完了までです"
        );
    }
    Ok(())
}
