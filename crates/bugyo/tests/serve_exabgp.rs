//! `bugyo serve` under a 2017-class leak, driven by a real BGP speaker,
//! Debian's exabgp, on loopback. The collector peer is IIJ (AS2497) with its
//! real routes of Japanese networks from the RIS rrc06 (Tokyo) table and the
//! CAIDA relationships of 2016 — the normal table, learned in bugyo's
//! learning window — then a burst of more-specifics of those networks that
//! AS15169 leaked to its provider AS701, sent as fast as exabgp can.
//!
//! - `leak_burst_is_one_incident`: 150,000 leaked routes are one route-leak
//!   incident whose events reach the full count; the delays from the first
//!   leaked command to `opened` and from the last one to the full count are
//!   printed; the archive holds every announcement and a replay of it finds
//!   the same incident.
//! - `reset_and_restart_during_burst`: mid-burst the session is reset
//!   (Cease NOTIFICATION), later the router is killed and a fresh one sends
//!   its whole table again. Still one leak incident, one feed-down for the
//!   two session losses, nothing from the re-learned normal table, the
//!   archive holds every message and bugyo stays up.
//!   `graceful_reset_and_restart_during_burst`: the same with graceful
//!   restart, which keeps the session: no feed-down at all.
//! - `leak_evidence_counts_routes_not_announcements` and
//!   `leak_again_after_a_reset_is_not_standing`: routes sent again after a
//!   reset are counted once, and a leak seen starting never becomes
//!   "standing" (two engine bugs these tests found).
//! - `leak_burst_benchmark` (ignored; `scripts/bench-burst.sh`): 200,000
//!   leaked routes; prints the detection delay p50/p99 from bugyo's
//!   `bugyo_detection_delay_seconds` histogram and both sides' rates.

mod common;

use bugyo_detect::relations::{check_path, PathCheck};
use bugyo_io::metrics::Histogram;
use bugyo_model::{Asn, Prefix};
use bugyo_state::AsGraph;
use bugyo_testdata::exabgp::{ExaBgp, ExaBgpConfig};
use bugyo_testdata::gobgp::{free_port, WAIT};
use common::serve::{metric, parse_rfc3339, secs_between, EventTail, SeenEvent, Serve};
use common::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The collector peer: IIJ, one of rrc06's two full tables.
const PEER_ASN: u32 = 2497;
/// bugyo's AS on the session.
const LOCAL_ASN: u32 = 65000;
/// The leaker and the AS it leaked to (2017: Google to Verizon).
const LEAKER: u32 = 15169;
const LEAKED_TO: u32 = 701;
/// bugyo's learning window: the normal table (a few thousand routes) is
/// sent within it, so history-based detectors learn it instead of alarming
/// on its more-specifics; the leak starts after it.
const LEARNING_SECS: u64 = 4;
/// The peer as bugyo names it in metrics and incidents.
const PEER: &str = "AS2497@127.0.0.1";
/// Longest wait for a whole burst to be sent and judged.
const BURST_WAIT: Duration = Duration::from_secs(150);

/// Leaked /24s taken from one covering prefix at most (a /16 holds 256).
const PER_COVERING: u32 = 128;

/// The tests of this file run one at a time: each loads both cores, and
/// the delays they print should be their own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The routes of the scenario.
struct Scenario {
    /// The normal table: AS2497's real routes of Japanese origins (IPv4 and
    /// IPv6), grouped by their real AS path (as written, prepends kept).
    normal: Vec<(Vec<u32>, Vec<String>)>,
    /// Number of routes in `normal`.
    normal_count: usize,
    /// Leaked more-specifics (/24s inside the normal table's IPv4 prefixes
    /// that rrc06 never carried) with the origin of their covering prefix,
    /// spread over the victims.
    leaked: Vec<(Prefix, Asn)>,
}

impl Scenario {
    /// The first `n` leaked prefixes grouped by origin: (AS path, prefixes).
    fn leak_commands(&self, n: usize) -> Vec<(Vec<u32>, Vec<String>)> {
        assert!(
            n <= self.leaked.len(),
            "only {} leaked prefixes",
            self.leaked.len()
        );
        let mut by_origin: BTreeMap<Asn, Vec<String>> = BTreeMap::new();
        for (p, o) in &self.leaked[..n] {
            by_origin.entry(*o).or_default().push(p.to_string());
        }
        by_origin
            .into_iter()
            .map(|(o, ps)| (vec![PEER_ASN, LEAKED_TO, LEAKER, o.0], ps))
            .collect()
    }
}

/// The CAIDA relationships file (2016) that bugyo runs with.
fn caida() -> PathBuf {
    data_dir().join("caida-asrel/20161101.as-rel.txt.bz2")
}

/// Builds the scenario once per test binary from rrc06, CAIDA and AS2Org.
fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| {
        let data = data_dir();
        let (rels, _) = bugyo_formats::asrel::load(&caida()).expect("as-rel");
        let graph = AsGraph::new(rels.links.iter().copied());
        let (orgs, _) =
            bugyo_formats::as2org::load(&data.join("as2org/data_20211001.as-org2info.jsonl.gz"))
                .expect("as2org");
        let japanese: HashSet<Asn> = orgs
            .iter()
            .filter(|o| o.country == "JP")
            .map(|o| o.asn)
            .collect();
        let rib = rrc06_rib();
        let existing: HashSet<Prefix> = rib.iter().map(|r| r.prefix).collect();
        let hops = |v: &[u32]| v.iter().map(|&a| Asn(a)).collect::<Vec<_>>();

        // The normal table: IIJ's routes of Japanese origins whose paths are
        // clean (no AS_SET, no bogon, relationships not violated).
        let mut normal: BTreeMap<Vec<u32>, Vec<Prefix>> = BTreeMap::new();
        for r in rib.iter().filter(|r| r.peer.asn == Asn(PEER_ASN)) {
            let path = &r.attrs.as_path;
            let Some(origin) = path.origin() else {
                continue;
            };
            if !japanese.contains(&origin)
                || path.has_set()
                || path.first() != Some(Asn(PEER_ASN))
                || !bugyo_detect::sanity::check(&r.prefix, path).is_empty()
                || matches!(check_path(&graph, &path.hops()), PathCheck::Leak(_))
            {
                continue;
            }
            let written: Vec<u32> = path.iter().map(|a| a.0).collect();
            normal.entry(written).or_default().push(r.prefix);
        }
        let normal_count = normal.values().map(|v| v.len()).sum();

        // Leaked: /24s inside the normal IPv4 prefixes up to /22 whose
        // origin the path 2497 701 15169 <origin> leaks (15169 exports a
        // route from outside its customer cone to its provider 701), at
        // most PER_COVERING per covering prefix, in address order.
        let leak_ok = |o: Asn| match check_path(&graph, &hops(&[PEER_ASN, LEAKED_TO, LEAKER, o.0]))
        {
            PathCheck::Leak(l) => l.leaker == Asn(LEAKER) && l.leaked_to == Asn(LEAKED_TO),
            _ => false,
        };
        let mut covering: Vec<(Prefix, Asn)> = normal
            .iter()
            .flat_map(|(path, ps)| {
                let o = Asn(*path.last().unwrap());
                ps.iter().map(move |p| (*p, o))
            })
            .filter(|(p, o)| matches!(p.addr(), IpAddr::V4(_)) && p.len() <= 22 && leak_ok(*o))
            .collect();
        covering.sort();
        let mut seen: HashSet<Prefix> = HashSet::new();
        let mut leaked = Vec::new();
        for (p, o) in covering {
            let IpAddr::V4(a) = p.addr() else { continue };
            let count = 1u32 << (24 - u32::from(p.len()));
            let mut taken = 0;
            for k in 0..count {
                let s = Prefix::v4(u32::from(a) + (k << 8), 24).unwrap();
                if existing.contains(&s) || !seen.insert(s) {
                    continue;
                }
                leaked.push((s, o));
                taken += 1;
                if taken == PER_COVERING {
                    break;
                }
            }
        }
        let normal = normal
            .into_iter()
            .flat_map(|(path, ps)| {
                // One group per family: an exabgp command carries one family.
                let (v4, v6): (Vec<Prefix>, Vec<Prefix>) = ps
                    .into_iter()
                    .partition(|p| matches!(p.addr(), IpAddr::V4(_)));
                [v4, v6]
                    .into_iter()
                    .filter(|g| !g.is_empty())
                    .map(|g| (path.clone(), g.iter().map(|p| p.to_string()).collect()))
                    .collect::<Vec<_>>()
            })
            .collect();
        Scenario {
            normal,
            normal_count,
            leaked,
        }
    })
}

/// `bugyo serve` for the scenario: the IIJ session on a fresh port.
fn start_serve(dir: &std::path::Path, bgp_port: u16) -> Serve {
    start_serve_with(dir, bgp_port, &[])
}

/// [`start_serve`] with more arguments.
fn start_serve_with(dir: &std::path::Path, bgp_port: u16, extra: &[&str]) -> Serve {
    let mut args: Vec<String> = vec![
        "--learning-secs".into(),
        LEARNING_SECS.to_string(),
        "--local-asn".into(),
        LOCAL_ASN.to_string(),
        "--peer".into(),
        format!("{PEER_ASN}@127.0.0.1"),
        "--bgp-listen".into(),
        format!("127.0.0.1:{bgp_port}"),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    Serve::start_with(dir, &caida(), &args)
}

/// exabgp as AS2497 connecting to bugyo, graceful restart advertised.
fn exabgp_config(bgp_port: u16) -> ExaBgpConfig {
    ExaBgpConfig {
        graceful_restart: Some(120),
        ..ExaBgpConfig::new(PEER_ASN, LOCAL_ASN, bgp_port)
    }
}

/// A peer counter or gauge from `/metrics` (0 when the peer is not listed).
fn peer_metric(serve: &Serve, name: &str) -> u64 {
    metric(&serve.metrics(), &format!("{name}{{peer=\"{PEER}\"}}")).unwrap_or(0.0) as u64
}

/// Polls `/metrics` until `ok` holds for the peer metric `name`, for at
/// most `limit`; returns the value and when it was read.
fn wait_metric(
    serve: &mut Serve,
    exa: &mut ExaBgp,
    name: &str,
    limit: Duration,
    ok: &dyn Fn(u64) -> bool,
) -> (u64, SystemTime) {
    let deadline = Instant::now() + limit;
    loop {
        let v = peer_metric(serve, name);
        if ok(v) {
            return (v, SystemTime::now());
        }
        serve.assert_running();
        exa.assert_running();
        assert!(
            Instant::now() < deadline,
            "{name} is {v} after {limit:?}\nbugyo log:\n{}\nexabgp log:\n{}",
            serve.log(),
            exa.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends the normal table.
fn send_normal(exa: &mut ExaBgp, s: &Scenario) {
    for (path, prefixes) in &s.normal {
        exa.announce(path, prefixes);
    }
}

/// Announcements in a `bugyo dump` of the archive: (prefix, path) → count.
fn archived_announcements(dump: &str) -> HashMap<(String, String), u32> {
    let mut out = HashMap::new();
    for l in dump.lines() {
        let f: Vec<&str> = l.split('|').collect();
        if f.len() > 6 && f[2] == "A" {
            *out.entry((f[5].to_string(), f[6].to_string())).or_insert(0) += 1;
        }
    }
    out
}

/// Session state changes in a dump: `old|new` pairs in order.
fn archived_states(dump: &str) -> Vec<String> {
    dump.lines()
        .filter(|l| l.contains("|STATE|"))
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            format!("{}|{}", f[f.len() - 2], f[f.len() - 1])
        })
        .collect()
}

/// Asserts that every leaked prefix of `leaked` was archived with its leak
/// path; returns how many leaked announcements the archive holds.
fn assert_leak_archived(ann: &HashMap<(String, String), u32>, leaked: &[(Prefix, Asn)]) -> u64 {
    let mut missing = Vec::new();
    let mut total = 0u64;
    for (p, o) in leaked {
        let path = format!("{PEER_ASN} {LEAKED_TO} {LEAKER} {}", o.0);
        match ann.get(&(p.to_string(), path)) {
            Some(n) => total += u64::from(*n),
            None => missing.push(p.to_string()),
        }
    }
    assert!(
        missing.is_empty(),
        "{} leaked prefixes missing from the archive, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    total
}

/// The id of the one route-leak incident among `opened` events, checked
/// for culprit and leaked-to.
fn the_leak(tail: &EventTail) -> u64 {
    let leaks: Vec<&serde_json::Value> = tail
        .events
        .iter()
        .map(|e| &e.json)
        .filter(|j| j["event"] == "opened" && j["kind"] == "route-leak")
        .collect();
    assert_eq!(
        leaks.len(),
        1,
        "one route-leak incident:\n{}",
        tail.summary()
    );
    assert_eq!(leaks[0]["culprit_asn"], LEAKER, "{}", tail.summary());
    assert_eq!(leaks[0]["leaked_to_asn"], LEAKED_TO, "{}", tail.summary());
    leaks[0]["id"].as_u64().unwrap()
}

/// Waits for the session, sends the normal table, waits until bugyo has
/// all of it and the learning window is over; asserts nothing was alarmed.
fn learn_normal_table(serve: &mut Serve, exa: &mut ExaBgp, tail: &mut EventTail, s: &Scenario) {
    wait_metric(serve, exa, "bugyo_bgp_session_up", WAIT, &|v| v == 1);
    let up = Instant::now();
    send_normal(exa, s);
    let n = s.normal_count as u64;
    wait_metric(
        serve,
        exa,
        "bugyo_bgp_prefixes_announced_total",
        WAIT,
        &|v| v >= n,
    );
    let learned = up.elapsed();
    assert!(
        learned < Duration::from_secs(LEARNING_SECS),
        "the normal table took {learned:?}, longer than the learning window"
    );
    std::thread::sleep(Duration::from_secs(LEARNING_SECS + 1).saturating_sub(learned));
    tail.poll();
    assert!(
        tail.events.is_empty(),
        "the normal table must be learned, not alarmed on:\n{}",
        tail.summary()
    );
}

#[test]
fn leak_burst_is_one_incident() {
    let _serial = serial();
    const LEAKED: usize = 150_000;
    let s = scenario();
    eprintln!(
        "scenario: {} normal routes in {} path groups, {} leakable more-specifics",
        s.normal_count,
        s.normal.len(),
        s.leaked.len()
    );
    let dir = scratch("serve-exabgp-burst");
    let port = free_port();
    let mut serve = start_serve(&dir, port);
    let mut exa = ExaBgp::start(&dir, "router", &exabgp_config(port));
    let mut tail = EventTail::new(&serve.events_path());
    learn_normal_table(&mut serve, &mut exa, &mut tail, s);

    // The burst, as fast as exabgp takes it.
    let total = (s.normal_count + LEAKED) as u64;
    let b = run_burst(&mut serve, exa, &mut tail, s, LEAKED);
    let exa = b.exa;
    eprintln!(
        "leak burst: {LEAKED} routes handed to exabgp in {:.2} s; bugyo received them from {:.2} s to {:.2} s after the first command ({:.0} routes/s) and had judged them all at {:.2} s",
        secs_between(b.first_cmd, b.last_cmd),
        secs_between(b.first_cmd, b.first_received),
        secs_between(b.first_cmd, b.all_received),
        LEAKED as f64 / secs_between(b.first_received, b.all_received),
        secs_between(b.first_cmd, b.all_judged)
    );
    eprintln!(
        "leak burst: first leaked command -> `opened` in the events file: {:.3} s (its event time: {:.3} s)",
        secs_between(b.first_cmd, b.opened.seen),
        secs_between(b.first_cmd, event_time(&b.opened))
    );
    eprintln!(
        "leak burst: last leaked command -> event with all {} prefixes ({}): {:.3} s (its event time: {:.3} s); last route received -> that event: {:.3} s",
        b.full.json["prefix_count"],
        b.full.json["event"],
        secs_between(b.last_cmd, b.full.seen),
        secs_between(b.last_cmd, event_time(&b.full)),
        secs_between(b.all_received, b.full.seen)
    );
    if let (Some(before), Some(after)) = (delay_histogram(&b.before), delay_histogram(&b.after)) {
        let d = after.minus(&before);
        eprintln!(
            "leak burst: detection delay per route (bugyo_detection_delay_seconds): p50 {:.4} s, p99 {:.4} s over {} routes",
            d.quantile(0.5).unwrap_or(0.0),
            d.quantile(0.99).unwrap_or(0.0),
            d.count()
        );
    }
    let leak_id = b.opened.json["id"].as_u64().unwrap();
    assert_eq!(b.opened.json["kind"], "route-leak");

    // One incident: the leak, critical, naming its victims.
    std::thread::sleep(Duration::from_millis(1500));
    tail.poll();
    assert_eq!(the_leak(&tail), leak_id);
    assert!(
        tail.events.iter().all(|e| e.json["id"] == leak_id),
        "only the leak:\n{}",
        tail.summary()
    );
    let last = &tail.events.last().unwrap().json;
    assert_eq!(last["prefix_count"], LEAKED, "{}", tail.summary());
    assert_eq!(last["severity"], "critical");
    assert_eq!(last["peers"], serde_json::json!([PEER_ASN]));
    let victims = last["victims"].as_array().unwrap();
    assert!(victims.len() >= 10, "{victims:?}");
    assert!(
        victims.iter().any(|v| v["asn"] == 4713),
        "OCN among the victims: {victims:?}"
    );

    serve.assert_running();
    let announced = peer_metric(&serve, "bugyo_bgp_prefixes_announced_total");
    assert_eq!(announced, total);
    serve.stop();
    drop(exa);

    // The archive holds every announcement, each leaked prefix once...
    let dump = serve.archive_dump();
    let ann = archived_announcements(&dump);
    assert_eq!(ann.values().map(|n| u64::from(*n)).sum::<u64>(), total);
    assert_eq!(
        assert_leak_archived(&ann, &s.leaked[..LEAKED]),
        LEAKED as u64
    );
    assert_eq!(
        archived_states(&dump),
        ["1|6", "6|1"],
        "up, then down at shutdown"
    );
    // ...and a replay of it finds the same incident.
    let replayed: Vec<_> = serve
        .replay_archive(LEARNING_SECS)
        .into_iter()
        .filter(|i| i["kind"] != "feed-down")
        .collect();
    assert_eq!(
        replayed.len(),
        1,
        "{:?}",
        replayed.iter().map(|i| &i["kind"]).collect::<Vec<_>>()
    );
    for field in [
        "kind",
        "culprit_asn",
        "leaked_to_asn",
        "prefix_count",
        "first_seen",
    ] {
        assert_eq!(replayed[0][field], last[field], "{field}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Without graceful restart: the reset is a Cease NOTIFICATION and the
/// crash a lost connection, so bugyo's session goes down twice — one
/// feed-down incident (the second down joins the first, still open) — and
/// each new session's table is learned again.
#[test]
fn reset_and_restart_during_burst() {
    reset_and_restart(false);
}

/// With graceful restart: exabgp's reset closes the connection without a
/// NOTIFICATION (a graceful restart, RFC 4724), as does the crash; bugyo
/// keeps the routes as stale each time, so no session goes down: no
/// feed-down, no state change archived, and the leak incident keeps all its
/// routes.
#[test]
fn graceful_reset_and_restart_during_burst() {
    reset_and_restart(true);
}

/// Normal table, then a leak of 90,000 routes: after the first third a
/// session reset (`teardown 2`), the second third queued meanwhile; while
/// the new session sends its table, the router is killed (SIGKILL) and a
/// fresh one sends its whole table (the normal routes and the whole leak),
/// then End-of-RIB. `graceful`: both routers advertise graceful restart.
fn reset_and_restart(graceful: bool) {
    let _serial = serial();
    const LEAKED: usize = 90_000;
    let s = scenario();
    let dir = scratch(if graceful {
        "serve-exabgp-gr"
    } else {
        "serve-exabgp-reset"
    });
    let port = free_port();
    let mut serve = start_serve(&dir, port);
    let config = ExaBgpConfig {
        graceful_restart: graceful.then_some(120),
        ..ExaBgpConfig::new(PEER_ASN, LOCAL_ASN, port)
    };
    let mut exa = ExaBgp::start(&dir, "router", &config);
    let mut tail = EventTail::new(&serve.events_path());
    learn_normal_table(&mut serve, &mut exa, &mut tail, s);
    let commands = s.leak_commands(LEAKED);
    let third = commands.len() / 3;
    let announced = |serve: &Serve| peer_metric(serve, "bugyo_bgp_prefixes_announced_total");

    // First third of the leak, then a session reset while exabgp is still
    // sending it; the second third is queued meanwhile and goes out on the
    // new session after exabgp's table.
    for (path, prefixes) in &commands[..third] {
        exa.announce(path, prefixes);
    }
    let before_reset = announced(&serve);
    let reset_at = SystemTime::now();
    exa.teardown(2);
    for (path, prefixes) in &commands[third..2 * third] {
        exa.announce(path, prefixes);
    }
    let (_, back_at) = wait_metric(
        &mut serve,
        &mut exa,
        "bugyo_bgp_sessions_total",
        WAIT,
        &|v| v == 2,
    );
    let first_session = s.normal_count + commands[..third].iter().map(|c| c.1.len()).sum::<usize>();
    eprintln!(
        "reset: {before_reset} of the first session's {first_session} routes had arrived; session back after {:.2} s",
        secs_between(reset_at, back_at)
    );
    assert!(
        (before_reset as usize) < first_session,
        "the reset must come mid-burst"
    );

    // The router dies while sending (SIGKILL: no NOTIFICATION), and a
    // fresh one sends its whole table again, then End-of-RIB.
    let now = announced(&serve);
    wait_metric(
        &mut serve,
        &mut exa,
        "bugyo_bgp_prefixes_announced_total",
        BURST_WAIT,
        &|v| v >= now + (s.normal_count as u64),
    );
    let at_kill = announced(&serve);
    exa.kill();
    let second_session = first_session
        + commands[third..2 * third]
            .iter()
            .map(|c| c.1.len())
            .sum::<usize>();
    eprintln!(
        "restart: killed when {} of the second session's {second_session} routes had arrived",
        at_kill - before_reset
    );
    assert!(
        ((at_kill - before_reset) as usize) < second_session,
        "the kill must come mid-burst"
    );
    let mut exa = ExaBgp::start(
        &dir,
        "router-restarted",
        &ExaBgpConfig {
            manual_eor: true,
            ..config
        },
    );
    wait_metric(
        &mut serve,
        &mut exa,
        "bugyo_bgp_sessions_total",
        WAIT,
        &|v| v == 3,
    );
    let restarted_at = announced(&serve);
    send_normal(&mut exa, s);
    for (path, prefixes) in &commands {
        exa.announce(path, prefixes);
    }
    exa.end_of_rib();
    let third_session = (s.normal_count + LEAKED) as u64;
    wait_metric(
        &mut serve,
        &mut exa,
        "bugyo_bgp_prefixes_announced_total",
        BURST_WAIT,
        &|v| v >= restarted_at + third_session,
    );
    let ctx = || format!("bugyo log:\n{}", serve.log());
    tail.wait_for(BURST_WAIT, "with the full leak", &ctx, &|j| {
        j["kind"] == "route-leak" && j["prefix_count"].as_u64() >= Some(LEAKED as u64)
    });
    // Let End-of-RIB and the settle events through.
    std::thread::sleep(Duration::from_secs(2));
    tail.poll();
    eprintln!("events:\n{}", tail.summary());

    // One leak incident; one feed-down for the resets unless they were
    // graceful; nothing from the re-learned normal table; nothing resolved.
    let leak_id = the_leak(&tail);
    let opened: Vec<&serde_json::Value> = tail
        .events
        .iter()
        .map(|e| &e.json)
        .filter(|j| j["event"] == "opened")
        .collect();
    let mut ids = vec![leak_id];
    if graceful {
        assert_eq!(opened.len(), 1, "{}", tail.summary());
    } else {
        assert_eq!(opened.len(), 2, "{}", tail.summary());
        assert_eq!(opened[1]["kind"], "feed-down", "{}", tail.summary());
        assert_eq!(opened[1]["feed_peer"], PEER, "{}", tail.summary());
        ids.push(opened[1]["id"].as_u64().unwrap());
    }
    for e in &tail.events {
        assert!(
            ids.contains(&e.json["id"].as_u64().unwrap()) && e.json["event"] != "resolved",
            "{}",
            tail.summary()
        );
    }
    let last_leak = tail
        .events
        .iter()
        .rev()
        .find(|e| e.json["id"] == leak_id)
        .unwrap();
    eprintln!(
        "leak incident: {} / {}\nevidence: {:#}",
        last_leak.json["summary"], last_leak.json["severity"], last_leak.json["evidence"]
    );
    assert_eq!(last_leak.json["prefix_count"], LEAKED);
    assert_eq!(last_leak.json["active_routes"], LEAKED);
    assert_eq!(last_leak.json["severity"], "critical");

    // bugyo is up, the session too, after three sessions.
    serve.assert_running();
    assert_eq!(peer_metric(&serve, "bugyo_bgp_session_up"), 1);
    assert_eq!(peer_metric(&serve, "bugyo_bgp_sessions_total"), 3);
    let total = announced(&serve);
    let withdrawn = peer_metric(&serve, "bugyo_bgp_prefixes_withdrawn_total");
    serve.stop();
    drop(exa);

    // Every received announcement is in the archive, every leaked prefix
    // at least once, and the session changes: without graceful restart
    // up and down for each session (the last down at shutdown); with it,
    // the restarts leave the session up.
    let dump = serve.archive_dump();
    let ann = archived_announcements(&dump);
    assert_eq!(ann.values().map(|n| u64::from(*n)).sum::<u64>(), total);
    let leaked_archived = assert_leak_archived(&ann, &s.leaked[..LEAKED]);
    assert!(leaked_archived >= LEAKED as u64);
    eprintln!(
        "archive: {total} announcements ({leaked_archived} leaked), {withdrawn} prefixes withdrawn"
    );
    let states = archived_states(&dump);
    if graceful {
        assert_eq!(states, ["1|6", "6|1"]);
    } else {
        assert_eq!(states, ["1|6", "6|1", "1|6", "6|1", "1|6", "6|1"]);
    }
    // A replay of the archive gives the same incidents.
    let replayed = serve.replay_archive(LEARNING_SECS);
    let kinds: Vec<&serde_json::Value> = replayed.iter().map(|i| &i["kind"]).collect();
    // (With graceful restart the only down is the one at shutdown.)
    assert_eq!(kinds, ["route-leak", "feed-down"], "{replayed:#?}");
    assert_eq!(replayed[0]["prefix_count"], LEAKED);
    let _ = std::fs::remove_dir_all(dir);
}

/// The numbers at the head of the evidence lines that count leaked routes
/// by the rule they break: their sum is the routes the incident counted.
fn leak_rule_routes(incident: &serde_json::Value) -> u64 {
    incident["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|e| e.contains("valley-free rule") || e.contains("customer cone"))
        .map(|e| e.split(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Resets the session (`teardown 2`) and waits until exabgp has sent its
/// `table` routes again.
fn reset_and_wait_resent(serve: &mut Serve, exa: &mut ExaBgp, table: usize) {
    let before = peer_metric(serve, "bugyo_bgp_prefixes_announced_total");
    exa.teardown(2);
    let again = before + table as u64;
    wait_metric(
        serve,
        exa,
        "bugyo_bgp_prefixes_announced_total",
        BURST_WAIT,
        &|v| v >= again,
    );
}

/// The evidence counts routes, not announcements: a router that restarts
/// gracefully sends the same leaked routes again; the incident still has
/// 2,000 prefixes from one peer, and when it reports again (one more route)
/// its evidence must still count each route once.
#[test]
fn leak_evidence_counts_routes_not_announcements() {
    let _serial = serial();
    const LEAKED: usize = 2_000;
    let s = scenario();
    let dir = scratch("serve-exabgp-evidence");
    let port = free_port();
    let mut serve = start_serve(&dir, port);
    let mut exa = ExaBgp::start(&dir, "router", &exabgp_config(port));
    let mut tail = EventTail::new(&serve.events_path());
    learn_normal_table(&mut serve, &mut exa, &mut tail, s);
    for (path, prefixes) in &s.leak_commands(LEAKED) {
        exa.announce(path, prefixes);
    }
    let ctx = || format!("bugyo log:\n{}", serve.log());
    let full = |j: &serde_json::Value| j["prefix_count"].as_u64() == Some(LEAKED as u64);
    let first = tail.wait_for(BURST_WAIT, "with the full leak", &ctx, &full);
    assert_eq!(leak_rule_routes(&first.json), LEAKED as u64);
    // A graceful restart: exabgp closes without NOTIFICATION, comes back
    // and sends its whole table again.
    reset_and_wait_resent(&mut serve, &mut exa, s.normal_count + LEAKED);
    // One more leaked route makes the incident report itself again.
    let (one, origin) = s.leaked[LEAKED];
    exa.announce(&[PEER_ASN, LEAKED_TO, LEAKER, origin.0], &[one.to_string()]);
    let log = serve.dir.join("bugyo.log");
    let ctx = || std::fs::read_to_string(&log).unwrap_or_default();
    let last = tail
        .wait_for(BURST_WAIT, "with one more route", &ctx, &|j| {
            j["prefix_count"].as_u64() == Some(LEAKED as u64 + 1)
        })
        .json;
    assert_eq!(last["peers"], serde_json::json!([PEER_ASN]));
    assert_eq!(
        leak_rule_routes(&last),
        LEAKED as u64 + 1,
        "one peer's {} leaked routes, most announced twice: {:#}",
        LEAKED + 1,
        last["evidence"]
    );
    serve.stop();
    drop(exa);
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh leak whose routes are sent again in a session's learning window
/// (after a reset) must not become "standing": when it ends and the same
/// leaker leaks again later, bugyo saw the new leak start, so it is as
/// severe as the first time, not capped as a leak that predates detection.
#[test]
fn leak_again_after_a_reset_is_not_standing() {
    let _serial = serial();
    const LEAKED: usize = 2_000;
    let s = scenario();
    let dir = scratch("serve-exabgp-standing");
    let port = free_port();
    let mut serve = start_serve_with(&dir, port, &["--quiet-secs", "2"]);
    let mut exa = ExaBgp::start(
        &dir,
        "router",
        &ExaBgpConfig::new(PEER_ASN, LOCAL_ASN, port),
    );
    let mut tail = EventTail::new(&serve.events_path());
    learn_normal_table(&mut serve, &mut exa, &mut tail, s);
    let commands = s.leak_commands(LEAKED);
    for (path, prefixes) in &commands {
        exa.announce(path, prefixes);
    }
    let log = serve.dir.join("bugyo.log");
    let ctx = || std::fs::read_to_string(&log).unwrap_or_default();
    let full = |j: &serde_json::Value| {
        j["kind"] == "route-leak" && j["prefix_count"].as_u64() == Some(LEAKED as u64)
    };
    let first = tail.wait_for(BURST_WAIT, "with the full leak", &ctx, &full);
    let first_id = first.json["id"].clone();
    // The session is reset while the leak is on: exabgp sends its table,
    // leak included, again, in the new session's learning window.
    reset_and_wait_resent(&mut serve, &mut exa, s.normal_count + LEAKED);
    // The leak ends; its incident resolves.
    for (_, prefixes) in &commands {
        exa.withdraw(prefixes);
    }
    tail.wait_for(BURST_WAIT, "resolving the leak", &ctx, &|j| {
        j["id"] == first_id && j["event"] == "resolved"
    });
    // Later (past the learning window) AS15169 leaks the same routes again.
    std::thread::sleep(Duration::from_secs(LEARNING_SECS));
    for (path, prefixes) in &commands {
        exa.announce(path, prefixes);
    }
    let second = tail.wait_for(BURST_WAIT, "with the second leak", &ctx, &|j| {
        full(j) && j["id"] != first_id
    });
    eprintln!("events:\n{}", tail.summary());
    let first_severity = tail
        .events
        .iter()
        .rev()
        .find(|e| e.json["id"] == first_id && e.json["event"] != "resolved")
        .unwrap()
        .json["severity"]
        .clone();
    assert!(
        second.json["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e.as_str().unwrap().starts_with("standing")),
        "the second leak was seen starting: {:#}",
        second.json["evidence"]
    );
    assert_eq!(second.json["severity"], first_severity);
    serve.stop();
    drop(exa);
    let _ = std::fs::remove_dir_all(dir);
}

/// Detection delay under a 200,000-route leak: run with
/// `scripts/bench-burst.sh` (release build, `--ignored --nocapture`).
#[test]
#[ignore]
fn leak_burst_benchmark() {
    let _serial = serial();
    const LEAKED: usize = 200_000;
    let s = scenario();
    let dir = scratch("serve-exabgp-bench");
    let port = free_port();
    let mut serve = start_serve(&dir, port);
    let mut exa = ExaBgp::start(&dir, "router", &exabgp_config(port));
    let mut tail = EventTail::new(&serve.events_path());
    learn_normal_table(&mut serve, &mut exa, &mut tail, s);
    let b = run_burst(&mut serve, exa, &mut tail, s, LEAKED);
    let rib_routes = metric(&b.after, "bugyo_rib_routes");
    serve.stop();
    drop(b.exa);

    println!(
        "== leak-burst benchmark: {LEAKED} leaked routes through exabgp after a {}-route table",
        s.normal_count
    );
    println!(
        "exabgp: commands written in {:.2} s; bugyo received the first leaked route {:.3} s after the first command, the last {:.2} s after it",
        secs_between(b.first_cmd, b.last_cmd),
        secs_between(b.first_cmd, b.first_received),
        secs_between(b.first_cmd, b.all_received)
    );
    let send_secs = secs_between(b.first_received, b.all_received);
    let judge_secs = secs_between(b.first_received, b.all_judged);
    println!(
        "exabgp send rate:  {:>8.0} routes/s ({LEAKED} routes received in {send_secs:.2} s)",
        LEAKED as f64 / send_secs
    );
    println!(
        "bugyo judged rate: {:>8.0} routes/s (all judged {judge_secs:.2} s after the first arrived; bugyo_routes_judged_total)",
        LEAKED as f64 / judge_secs
    );
    println!(
        "`opened` {:.3} s after the first command; event with all {} prefixes ({}) {:.3} s after the last route arrived",
        secs_between(b.first_cmd, b.opened.seen),
        b.full.json["prefix_count"],
        b.full.json["event"],
        secs_between(b.all_received, b.full.seen)
    );
    match (delay_histogram(&b.before), delay_histogram(&b.after)) {
        (Some(before), Some(after)) => {
            let d = after.minus(&before);
            println!(
                "detection delay per route over the burst ({} routes): p50 {:.4} s, p99 {:.4} s, mean {:.4} s",
                d.count(),
                d.quantile(0.5).unwrap_or(0.0),
                d.quantile(0.99).unwrap_or(0.0),
                d.sum() / d.count().max(1) as f64
            );
        }
        _ => println!("detection delay: no bugyo_detection_delay_seconds histogram at /metrics"),
    }
    if let Some(r) = rib_routes {
        println!("bugyo_rib_routes after the burst: {r}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// What one burst run saw.
struct Burst {
    /// The router, back from the writing thread.
    exa: ExaBgp,
    /// Before the first leaked command was written, after the last.
    first_cmd: SystemTime,
    last_cmd: SystemTime,
    /// When `/metrics` first showed a leaked route received, and all.
    first_received: SystemTime,
    all_received: SystemTime,
    /// When `bugyo_routes_judged_total` showed every leaked route judged.
    all_judged: SystemTime,
    /// The leak's `opened` event, and the first event with every prefix.
    opened: SeenEvent,
    full: SeenEvent,
    /// `/metrics` before the burst and once it was all judged.
    before: String,
    after: String,
}

/// Sends the first `leaked` leaked routes from another thread while this
/// one follows `/metrics` and the events file every 20 ms (both in one
/// loop, so that their times compare), until bugyo has received and judged
/// every route and an event reports all of them.
fn run_burst(
    serve: &mut Serve,
    mut exa: ExaBgp,
    tail: &mut EventTail,
    s: &'static Scenario,
    leaked: usize,
) -> Burst {
    let before = serve.metrics();
    let received_at_start = s.normal_count as u64;
    let judged_at_start = metric(&before, "bugyo_routes_judged_total").unwrap_or(0.0) as u64;
    let commands = s.leak_commands(leaked);
    let first_cmd = SystemTime::now();
    let mut writer = Some(std::thread::spawn(move || {
        for (path, prefixes) in &commands {
            exa.announce(path, prefixes);
        }
        (exa, SystemTime::now())
    }));
    let mut written = None;
    let deadline = Instant::now() + BURST_WAIT;
    let (mut opened, mut full) = (None, None);
    let (mut first_received, mut all_received, mut all_judged) = (None, None, None);
    loop {
        tail.poll();
        let m = serve.metrics();
        let now = SystemTime::now();
        let received = metric(
            &m,
            &format!("bugyo_bgp_prefixes_announced_total{{peer=\"{PEER}\"}}"),
        )
        .unwrap_or(0.0) as u64;
        let judged = metric(&m, "bugyo_routes_judged_total").unwrap_or(0.0) as u64;
        if first_received.is_none() && received > received_at_start {
            first_received = Some(now);
        }
        if all_received.is_none() && received >= received_at_start + leaked as u64 {
            all_received = Some(now);
        }
        if all_judged.is_none() && judged >= judged_at_start + leaked as u64 {
            all_judged = Some(now);
        }
        if opened.is_none() {
            opened = tail
                .events
                .iter()
                .find(|e| e.json["event"] == "opened")
                .cloned();
        }
        if full.is_none() {
            full = tail
                .events
                .iter()
                .find(|e| {
                    e.json["kind"] == "route-leak"
                        && e.json["prefix_count"].as_u64() >= Some(leaked as u64)
                })
                .cloned();
        }
        if opened.is_some()
            && full.is_some()
            && all_received.is_some()
            && all_judged.is_some()
            && written.is_some()
        {
            break;
        }
        serve.assert_running();
        // A writer that failed (exabgp gone) fails the test now.
        if writer.as_ref().is_some_and(|w| w.is_finished()) {
            match writer.take().unwrap().join() {
                Ok(r) => written = Some(r),
                Err(e) => std::panic::resume_unwind(e),
            }
        }
        assert!(
            Instant::now() < deadline,
            "after {BURST_WAIT:?}: {received} routes received, {judged} judged; events:\n{}\nbugyo log:\n{}",
            tail.summary(),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let after = serve.metrics();
    let (exa, last_cmd) = written.unwrap();
    Burst {
        exa,
        first_cmd,
        last_cmd,
        first_received: first_received.unwrap(),
        all_received: all_received.unwrap(),
        all_judged: all_judged.unwrap(),
        opened: opened.unwrap(),
        full: full.unwrap(),
        before,
        after,
    }
}

/// An event's `event_time`.
fn event_time(e: &SeenEvent) -> SystemTime {
    parse_rfc3339(e.json["event_time"].as_str().expect("event_time"))
}

/// `bugyo_detection_delay_seconds` from `/metrics` text, if present.
fn delay_histogram(text: &str) -> Option<Histogram> {
    Histogram::parse(text, "bugyo_detection_delay_seconds")
}

#[test]
fn event_times_parse_back() {
    for (secs, micros) in [
        (0, 0),
        (951_782_400, 5),
        (1_795_391_532, 917_121),
        (4_107_542_399, 999_999),
    ] {
        let t = bugyo_model::Timestamp { secs, micros };
        assert_eq!(
            parse_rfc3339(&t.rfc3339()),
            SystemTime::UNIX_EPOCH + Duration::new(secs as u64, micros * 1000),
            "{}",
            t.rfc3339()
        );
    }
}
