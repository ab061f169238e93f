//! Reference-data loaders against real data in `../shared/data` (or
//! `$BUGYO_TESTDATA`): RPKI exports, IRR (RPSL and ARIN origin-AS), CAIDA
//! AS relationships and AS2Org, and the example watch list.

use bugyo_formats::{as2org, asrel, report::ParseReport, rpki, rpsl, watch};
use bugyo_model::{Afi, Asn, Relationship, RouteObject, Vrp};
use bugyo_testdata::data;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

/// The ARIN origin-AS dump, loaded once for the tests that use it.
fn arin() -> &'static (Vec<RouteObject>, ParseReport) {
    static ARIN: OnceLock<(Vec<RouteObject>, ParseReport)> = OnceLock::new();
    ARIN.get_or_init(|| {
        let t = Instant::now();
        let r = rpsl::load_arin_originas(&data(
            "arouteserver/tests_static_data_arin-whois-originas.json.bz2",
        ))
        .unwrap();
        eprintln!("ARIN origin-AS: {} in {:?}", r.1, t.elapsed());
        r
    })
}

fn clean(r: &ParseReport) {
    assert!(r.is_clean(), "{r}\n{:#?}", r.errors);
}

#[test]
fn ripe_validator_json() {
    let (d, r) = rpki::load(&data("arouteserver/examples_rich_ripe-rpki-cache.json")).unwrap();
    clean(&r);
    assert_eq!(r.format, "Routinator/RIPE validator JSON");
    // 28 entries, each VRP listed twice (two trust-anchor labels).
    assert_eq!(r.records, 28);
    assert_eq!(d.vrps.len(), 14);
    assert_eq!(r.ignored, 14);
    assert!(d.aspas.is_empty());
    let v = |asn: u32, p: &str, max: u8| Vrp {
        prefix: p.parse().unwrap(),
        max_len: max,
        asn: Asn(asn),
    };
    assert!(d.vrps.contains(&v(3333, "193.0.24.0/22", 26)));
    assert!(d.vrps.contains(&v(25152, "2001:7fd::/32", 32)));
    assert!(d.vrps.contains(&v(3333, "2001:610:240::/42", 42)));
    assert_eq!(d.vrps.iter().filter(|v| v.asn == Asn(25152)).count(), 4);
    assert_eq!(
        d.vrps
            .iter()
            .filter(|v| v.prefix.afi() == Afi::Ipv6)
            .count(),
        4
    );
}

#[test]
fn rpki_client_json_with_expiry() {
    let path = data("arouteserver/tests_static_data_rpki_roas_rpki-client_expired.json");
    let (d, r) = rpki::load(&path).unwrap();
    clean(&r);
    assert_eq!(r.format, "rpki-client JSON");
    // The file holds one VRP (MANIFEST.md says 4; the file has one entry).
    assert_eq!(
        d.vrps,
        vec![Vrp {
            prefix: "1.0.0.0/24".parse().unwrap(),
            max_len: 24,
            asn: Asn(13335)
        }]
    );
    // expires 1027049909 = 2002-07-19: expired at the file's build time (2021).
    let opts = rpki::RpkiOptions {
        now: Some(1_626_888_360),
    };
    let (d, r) = rpki::load_with(&path, &opts).unwrap();
    assert!(d.vrps.is_empty());
    assert_eq!((d.expired, r.ignored), (1, 1));
    let opts = rpki::RpkiOptions {
        now: Some(1_000_000_000),
    };
    assert_eq!(rpki::load_with(&path, &opts).unwrap().0.vrps.len(), 1);
}

#[test]
fn rpki_compressed_input_is_detected_from_content() {
    let bytes = std::fs::read(data("arouteserver/examples_rich_ripe-rpki-cache.json")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let tmp = std::env::temp_dir().join(format!("bugyo-ref-{}-rpki.json", std::process::id()));
    std::fs::write(&tmp, gz.finish().unwrap()).unwrap();
    let (d, r) = rpki::load(&tmp).unwrap();
    std::fs::remove_file(&tmp).ok();
    clean(&r);
    assert_eq!(d.vrps.len(), 14);
}

#[test]
fn rpsl_real_aut_num() {
    let (d, r) = rpsl::load(
        &data("irr-rpsl/docs_benchmark_whois-rpsl_AS3257.txt"),
        "RIPE",
    )
    .unwrap();
    clean(&r);
    assert_eq!(r.records, 1);
    assert!(d.routes.is_empty() && d.as_sets.is_empty());
    assert_eq!(d.aut_nums.len(), 1);
    assert_eq!(d.aut_nums[0].asn, Asn(3257));
    assert_eq!(d.aut_nums[0].name, "GTT-BACKBONE");
    assert_eq!(d.aut_nums[0].source, "RIPE");
}

#[test]
fn arin_originas_dump() {
    let (routes, r) = arin();
    clean(r);
    // MANIFEST.md: 107,165 v4 + 10,338 v6 records.
    assert_eq!(r.records, 107_165 + 10_338);
    // Several ARIN networks share a (prefix, origin): 840 v4 and 35 v6
    // duplicates collapse into one route object each.
    let v4 = routes
        .iter()
        .filter(|r| r.prefix.afi() == Afi::Ipv4)
        .count();
    let v6 = routes.len() - v4;
    assert_eq!((v4, v6), (106_325, 10_303));
    assert_eq!(r.ignored, (107_165 - 106_325) + (10_338 - 10_303));
    assert!(routes.iter().all(|r| r.source == "ARIN-WHOIS"));
    let find = |p: &str| {
        routes
            .iter()
            .filter(|r| r.prefix == p.parse().unwrap())
            .map(|r| r.origin)
            .collect::<Vec<_>>()
    };
    assert_eq!(find("3.0.0.0/15"), vec![Asn(38895)]);
    assert_eq!(find("2620:1fe::/36"), vec![Asn(14924)]);
}

/// Writes ARIN's routes as an RPSL dump of several sources, with noise
/// objects between them, and reads it back.
#[test]
fn rpsl_large_dump_built_from_arin_routes() {
    let (routes, _) = arin();
    let mut text = String::with_capacity(routes.len() * 160);
    for (i, r) in routes.iter().enumerate() {
        let class = if r.prefix.afi() == Afi::Ipv4 {
            "route"
        } else {
            "route6"
        };
        let source = ["RADB", "ARIN", "JPIRR"][i % 3];
        text.push_str(&format!(
            "{class}:   {}\ndescr:   object {i}\n+        continued\norigin:  {}  # comment\nmnt-by:  MAINT-X\nsource:  {source}\n\n",
            r.prefix, r.origin
        ));
        if i % 1000 == 0 {
            text.push_str("mntner: MAINT-X\nauth: CRYPT-PW xx\nsource: RADB\n\n");
            text.push_str(&format!(
                "as-set: AS-S{i}\nmembers: {}, AS-S{}\n  AS64500\nsource: RADB\n\n",
                r.origin,
                i + 1000
            ));
        }
    }
    text.push_str("route: 192.0.2.1/24\norigin: AS1\n\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let tmp = std::env::temp_dir().join(format!("bugyo-ref-{}-irr.db.gz", std::process::id()));
    std::fs::write(&tmp, gz.finish().unwrap()).unwrap();
    let t = Instant::now();
    let (d, r) = rpsl::load(&tmp, &rpsl::source_from_path(&tmp)).unwrap();
    eprintln!(
        "synthetic RPSL ({} MB): {r} in {:?}",
        text.len() >> 20,
        t.elapsed()
    );
    std::fs::remove_file(&tmp).ok();
    let sets = routes.len().div_ceil(1000);
    assert_eq!(r.records as usize, routes.len() + sets + 1);
    assert_eq!(r.skipped, 1);
    assert_eq!(
        r.errors[0].position.line,
        Some(text.lines().count() as u64 - 2)
    );
    assert!(r.errors[0].reason.contains("host bits"), "{}", r.errors[0]);
    assert_eq!(d.routes.len(), routes.len());
    let sources: HashSet<&str> = d.routes.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, HashSet::from(["RADB", "ARIN", "JPIRR"]));
    assert_eq!(d.as_sets.len(), sets);
    let idx = rpsl::AsSetIndex::new(&d.as_sets);
    let res = idx.resolve("AS-S0", rpsl::DEFAULT_MAX_DEPTH);
    assert_eq!(res.sets_expanded, sets.min(rpsl::DEFAULT_MAX_DEPTH + 1));
    assert!(res.asns.contains(&Asn(64500)));
}

#[test]
fn caida_as_rel_serial1() {
    let t = Instant::now();
    let (d, r) = asrel::load(&data("caida-asrel/20161101.as-rel.txt.bz2")).unwrap();
    eprintln!("CAIDA as-rel: {r} in {:?}", t.elapsed());
    clean(&r);
    assert_eq!(r.format, "CAIDA as-rel serial-1");
    assert_eq!(d.links.len(), 239_064);
    let p2c = d
        .links
        .iter()
        .filter(|l| l.rel == Relationship::ProviderToCustomer)
        .count();
    let p2p = d
        .links
        .iter()
        .filter(|l| l.rel == Relationship::PeerToPeer)
        .count();
    assert_eq!((p2c, p2p), (110_479, 128_585));
    let clique: Vec<u32> = d.clique.iter().map(|a| a.0).collect();
    assert_eq!(
        clique,
        [
            174, 209, 286, 701, 1239, 1299, 2828, 2914, 3257, 3320, 3356, 5511, 6453, 6461, 6762,
            7018, 12956
        ]
    );
    assert_eq!(d.ixps.len(), 28);
    assert_eq!(d.ixps[0], Asn(1200));
    let ases: HashSet<Asn> = d.links.iter().flat_map(|l| [l.a, l.b]).collect();
    assert_eq!(ases.len(), 55_809);
}

#[test]
fn as2org_jsonl_2021() {
    let t = Instant::now();
    let (v, r) = as2org::load(&data("as2org/data_20211001.as-org2info.jsonl.gz")).unwrap();
    eprintln!("AS2Org 2021: {r} in {:?}", t.elapsed());
    clean(&r);
    assert_eq!(r.format, "CAIDA AS2Org JSONL");
    assert_eq!(v.len(), 106_546);
    assert_eq!(r.records, 106_546 + 87_682);
    let get = |a: u32| v.iter().find(|o| o.asn == Asn(a)).unwrap();
    assert_eq!(
        (get(4713).name.as_str(), get(4713).org_name.as_str()),
        ("OCN", "NTT Communications Corporation")
    );
    assert_eq!(get(4713).country, "JP");
    assert_eq!(
        (get(2516).name.as_str(), get(2516).org_name.as_str()),
        ("KDDI", "KDDI CORPORATION")
    );
    assert_eq!(
        (get(15169).name.as_str(), get(15169).org_name.as_str()),
        ("GOOGLE", "Google LLC")
    );
    assert_eq!(get(15169).country, "US");
}

#[test]
fn as2org_jsonl_2008() {
    let (v, r) = as2org::load(&data("as2org/data_20080402.as-org2info.jsonl.gz")).unwrap();
    clean(&r);
    assert_eq!(v.len(), 42_178);
    // 15 ASNs are listed twice (by ARIN and by RIPE); both records are kept.
    let distinct: HashSet<Asn> = v.iter().map(|o| o.asn).collect();
    assert_eq!(distinct.len(), 42_163);
    assert_eq!(v.iter().filter(|o| o.name.is_empty()).count(), 2_709);
    let lvlt = v.iter().find(|o| o.asn == Asn(1)).unwrap();
    assert_eq!(lvlt.name, "LVLT-1");
}

#[test]
fn watch_example_file_loads() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/watch.example.toml");
    let (m, r) = watch::load(&path).unwrap();
    clean(&r);
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].id, "example-isp");
    assert_eq!(m[0].asns, vec![Asn(64496), Asn(64497)]);
    assert_eq!(m[2].language, "ja");
    assert_eq!(m[1].language, "en");
}

/// Load times for inputs of real-world size (run with `--release --ignored
/// --nocapture`): a 500k-VRP rpki-client JSON, a 500k-line as-rel and a
/// ~1 GB RPSL dump, generated on the fly.
#[test]
#[ignore]
fn timing_large_inputs() {
    let dir = std::env::temp_dir();
    // 500k VRPs, rpki-client JSON.
    let mut j = String::from("{\"metadata\":{\"buildmachine\":\"x\"},\"roas\":[\n");
    for i in 0..500_000u32 {
        let sep = if i == 0 { "" } else { ",\n" };
        j.push_str(&format!(
            "{sep}\t\t{{ \"asn\": {}, \"prefix\": \"{}.{}.{}.0/24\", \"maxLength\": 24, \"ta\": \"ripe\", \"expires\": 1700000000 }}",
            i % 70000 + 1,
            i >> 16 & 0xff | 1,
            i >> 8 & 0xff,
            i & 0xff
        ));
    }
    j.push_str("\n],\"aspas\":[{\"customer_asid\":1,\"expires\":1,\"providers\":[2,3]}]}\n");
    let p = dir.join("bugyo-timing-vrps.json");
    std::fs::write(&p, &j).unwrap();
    let t = Instant::now();
    let (d, r) = rpki::load(&p).unwrap();
    eprintln!(
        "rpki-client JSON {} MB: {r} -> {} VRPs in {:?}",
        j.len() >> 20,
        d.vrps.len(),
        t.elapsed()
    );
    std::fs::remove_file(&p).ok();

    // 500k-line as-rel serial-2.
    let mut s = String::from("# input clique: 174 209\n");
    for i in 0..500_000u32 {
        s.push_str(&format!(
            "{}|{}|{}|bgp\n",
            i % 60000 + 1,
            i + 100_000,
            -((i % 2) as i32)
        ));
    }
    let p = dir.join("bugyo-timing.as-rel2.txt");
    std::fs::write(&p, &s).unwrap();
    let t = Instant::now();
    let (d, r) = asrel::load(&p).unwrap();
    eprintln!(
        "as-rel serial-2 500k lines: {r} -> {} links in {:?}",
        d.links.len(),
        t.elapsed()
    );
    std::fs::remove_file(&p).ok();

    // ~1 GB RPSL: 3M route objects of ~220 bytes and 1M other objects.
    let p = dir.join("bugyo-timing-irr.db");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
        for i in 0..3_000_000u32 {
            writeln!(
                f,
                "route:          {}.{}.{}.0/24\ndescr:          Example route object number {i}\norigin:         AS{}\nmnt-by:         MAINT-AS{}\nchanged:        noc@example.net 20200101\nsource:         RADB\n",
                i >> 16 & 0xff | 1,
                i >> 8 & 0xff,
                i & 0xff,
                i % 70000 + 1,
                i % 70000 + 1
            )
            .unwrap();
            if i % 3 == 0 {
                writeln!(f, "mntner:         MAINT-AS{i}\ndescr:          maintainer\nauth:           CRYPT-PW xxxxxxxx\nupd-to:         noc@example.net\nmnt-by:         MAINT-AS{i}\nsource:         RADB\n").unwrap();
            }
        }
    }
    let size = std::fs::metadata(&p).unwrap().len();
    let t = Instant::now();
    let (d, r) = rpsl::load(&p, "RADB").unwrap();
    eprintln!(
        "RPSL {} MB: {r} -> {} routes in {:?}",
        size >> 20,
        d.routes.len(),
        t.elapsed()
    );
    std::fs::remove_file(&p).ok();
}

/// Loads real dumps named by environment variables and prints the time:
/// `BUGYO_BENCH_RPSL` (an IRR dump), `BUGYO_BENCH_RPKI` (a VRP export),
/// `BUGYO_BENCH_ASREL`, `BUGYO_BENCH_AS2ORG`. Run with `--release --ignored
/// --nocapture`.
#[test]
#[ignore]
fn timing_files_from_env() {
    let time = |var: &str, f: &dyn Fn(&std::path::Path) -> String| {
        if let Some(p) = std::env::var_os(var) {
            let p = PathBuf::from(p);
            let t = Instant::now();
            let what = f(&p);
            eprintln!("{}: {what} in {:?}", p.display(), t.elapsed());
        }
    };
    time("BUGYO_BENCH_RPSL", &|p| {
        let (d, r) = rpsl::load(p, &rpsl::source_from_path(p)).unwrap();
        format!(
            "{r} -> {} routes, {} as-sets",
            d.routes.len(),
            d.as_sets.len()
        )
    });
    time("BUGYO_BENCH_RPKI", &|p| {
        let (d, r) = rpki::load(p).unwrap();
        format!("{r} -> {} VRPs, {} ASPAs", d.vrps.len(), d.aspas.len())
    });
    time("BUGYO_BENCH_ASREL", &|p| {
        let (d, r) = asrel::load(p).unwrap();
        format!("{r} -> {} links", d.links.len())
    });
    time("BUGYO_BENCH_AS2ORG", &|p| {
        let (d, r) = as2org::load(p).unwrap();
        format!("{r} -> {} ASNs", d.len())
    });
}
