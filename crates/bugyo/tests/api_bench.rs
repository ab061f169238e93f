//! The API under load (run by `scripts/bench-api.sh`; ignored in the test
//! suite): for SQLite and for PostgreSQL, the store is filled with
//! incidents, then while a writer records new incident versions as fast as
//! it can (the path `bugyo serve` takes), `wrk` — a second process on
//! loopback, Debian's package — reads through the API for a bounded time.
//! Printed per backend: versions written per second (alone, and under the
//! read load), requests per second for the list and for one incident (an
//! audited read of raw routes: each also writes an audit row), and the
//! latency percentiles wrk measured, p99 among them.

mod common;

use bugyo_api::ApiState;
use bugyo_detect::{Engine, EngineConfig, Incident, Reference};
use bugyo_model::{AsLink, AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Timestamp};
use bugyo_store::{Role, Store};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Incidents stored before the load.
const INCIDENTS: u32 = 2_000;
/// How long each wrk run lasts.
const WRK_SECS: u32 = 10;

/// One leak incident (64 prefixes of AS4713) as the engine makes it; the
/// culprit is varied per copy so each is a distinct incident.
fn template() -> Incident {
    let l = AsLink::new;
    let graph = bugyo_state::AsGraph::new([
        l(701, 15169, Relationship::ProviderToCustomer),
        l(701, 2516, Relationship::ProviderToCustomer),
        l(2914, 4713, Relationship::ProviderToCustomer),
        l(701, 2914, Relationship::PeerToPeer),
    ]);
    let mut e = Engine::new(
        Reference {
            graph,
            ..Reference::default()
        },
        EngineConfig::default(),
    );
    let peer = Peer::new(Asn(2516), "192.0.2.2".parse().unwrap());
    let t0 = Timestamp::from_secs(1_503_600_000);
    let attrs = |p: &[u32]| {
        Arc::new(PathAttributes {
            as_path: AsPath::from_sequence(p.iter().copied()),
            ..Default::default()
        })
    };
    for i in 0..64u32 {
        e.load_rib_route(
            t0,
            peer,
            Prefix::v4((60 << 24) | (i << 16), 16).unwrap(),
            0,
            &attrs(&[2516, 701, 2914, 4713]),
        );
    }
    let leak = attrs(&[2516, 701, 15169, 4713]);
    for i in 0..64u32 {
        e.announce(
            t0.plus_secs(600),
            peer,
            Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap(),
            0,
            &leak,
        );
    }
    e.incidents()[0].clone()
}

/// Records copy `k` of the template (a distinct incident) as a new version.
async fn record(store: &Store, base: &Incident, k: u64, version: u32) {
    let mut inc = base.clone();
    inc.culprit = Some(Asn(1_000_000 + k as u32));
    inc.version = version;
    let body = inc.to_json(&|_| None);
    store
        .record_incident(
            &inc,
            if version == 1 { "opened" } else { "updated" },
            inc.first_seen,
            &body,
        )
        .await
        .expect("record");
}

/// wrk's requests per second and latency percentiles (50, 75, 90, 99).
fn wrk(url: &str, token: &str) -> (f64, Vec<(String, String)>) {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{WRK_SECS}s"), "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wrk failed: {text}");
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in {text}"));
    assert!(!text.contains("Non-2xx"), "errors under load: {text}");
    let mut pct = Vec::new();
    let mut in_dist = false;
    for l in text.lines() {
        if l.contains("Latency Distribution") {
            in_dist = true;
            continue;
        }
        if in_dist {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() == 2 && f[0].ends_with('%') {
                pct.push((f[0].to_string(), f[1].to_string()));
            } else {
                break;
            }
        }
    }
    (rps, pct)
}

async fn run(label: &str, store: Store) {
    let base = template();
    // Writes alone.
    let t = Instant::now();
    for k in 0..u64::from(INCIDENTS) {
        record(&store, &base, k, 1).await;
    }
    let alone = f64::from(INCIDENTS) / t.elapsed().as_secs_f64();
    let (token, secret) = store
        .create_token(None, Role::Analyst, "bench")
        .await
        .expect("token");
    let _ = token;
    let state = ApiState::new(store.clone(), Default::default(), 1_000_000);
    let (addr, server) = bugyo_api::serve("127.0.0.1:0".parse().unwrap(), state)
        .await
        .expect("serve");
    // A writer recording new versions meanwhile (bounded by time and count).
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let (s2, st2, w2, b2) = (
        store.clone(),
        Arc::clone(&stop),
        Arc::clone(&written),
        base.clone(),
    );
    let writer = tokio::spawn(async move {
        let mut v = 2;
        while !st2.load(Ordering::Relaxed) && v < 1_000 {
            for k in 0..u64::from(INCIDENTS) {
                if st2.load(Ordering::Relaxed) {
                    break;
                }
                record(&s2, &b2, k, v).await;
                w2.fetch_add(1, Ordering::Relaxed);
            }
            v += 1;
        }
    });
    let t = Instant::now();
    let list_url = format!("http://{addr}/api/v1/incidents?limit=100&severity=info");
    let one_url = format!("http://{addr}/api/v1/incidents/{}", INCIDENTS / 2);
    let (list_rps, list_pct, one_rps, one_pct) = tokio::task::spawn_blocking(move || {
        let (a, b) = wrk(&list_url, &secret);
        let (c, d) = wrk(&one_url, &secret);
        (a, b, c, d)
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let under_load = written.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64();
    server.abort();
    let fmt = |p: &[(String, String)]| {
        p.iter()
            .map(|(k, v)| format!("p{} {v}", k.trim_end_matches('%')))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("{label}: incident versions written {alone:.0}/s alone, {under_load:.0}/s under the read load");
    println!(
        "{label}: GET /api/v1/incidents?limit=100  {list_rps:.0} requests/s; latency {}",
        fmt(&list_pct)
    );
    println!(
        "{label}: GET /api/v1/incidents/{{id}} (audited) {one_rps:.0} requests/s; latency {}",
        fmt(&one_pct)
    );
    println!("{label}: {label} によるインシデント書き込み {alone:.0} 件/秒 (読み込み負荷中 {under_load:.0} 件/秒)、一覧 {list_rps:.0} 件/秒、個別 {one_rps:.0} 件/秒");
}

#[test]
#[ignore = "a benchmark: run scripts/bench-api.sh"]
fn api_load_benchmark() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("API load: {INCIDENTS} incidents stored, then wrk -t2 -c16 -d{WRK_SECS}s per endpoint while a writer records new versions / API 負荷試験");
    let dir = common::scratch("api-bench");
    rt.block_on(async {
        let store = Store::open_data_dir(&dir).await.expect("sqlite");
        run("SQLite", store).await;
    });
    let pg = bugyo_testdata::postgres::Postgres::start();
    rt.block_on(async {
        let store = Store::open(&pg.url()).await.expect("postgres");
        run("PostgreSQL", store).await;
    });
    let _ = std::fs::remove_dir_all(dir);
}
