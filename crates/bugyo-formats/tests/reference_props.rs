//! Property tests: the reference-data loaders never panic, whatever bytes
//! they are given — random bytes, random RPSL/JSON/CSV-like token soup, and
//! real inputs (from `../shared/data` or `$BUGYO_TESTDATA`) with random
//! damage — and their counts stay consistent.

use bugyo_formats::{as2org, asrel, input, report::ParseReport, rpki, rpsl, watch};
use bugyo_testdata::data_dir;
use proptest::prelude::*;
use std::io::Read;
use std::sync::OnceLock;

/// The first `max` bytes of a (decompressed) data file.
fn head(rel: &str, max: u64) -> Vec<u8> {
    let p = data_dir().join(rel);
    let mut v = Vec::new();
    input::open(&p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .take(max)
        .read_to_end(&mut v)
        .unwrap();
    v
}

struct Seeds {
    ripe_json: Vec<u8>,
    rpki_client_json: Vec<u8>,
    rpki_csv: Vec<u8>,
    rpsl: Vec<u8>,
    asrel: Vec<u8>,
    as2org: Vec<u8>,
    arin: Vec<u8>,
    watch: Vec<u8>,
}

fn seeds() -> &'static Seeds {
    static S: OnceLock<Seeds> = OnceLock::new();
    S.get_or_init(|| Seeds {
        ripe_json: head("arouteserver/examples_rich_ripe-rpki-cache.json", 1 << 20),
        rpki_client_json: {
            let mut v = head("arouteserver/tests_static_data_rpki_roas_rpki-client_expired.json", 1 << 20);
            // add an ASPA array so that mutations reach the ASPA code
            if let Some(end) = v.iter().rposition(|&b| b == b'}') {
                v.truncate(end);
                v.extend_from_slice(b",\"aspas\":[{\"customer_asid\":1,\"expires\":2,\"providers\":[3,{\"asid\":4,\"afi_limit\":\"ipv4\"}]}]}");
            }
            v
        },
        rpki_csv: b"ASN,IP Prefix,Max Length,Trust Anchor,Expires\nAS13335,1.0.0.0/24,24,apnic,1700000000\n\"196615\",\"2001:7fb:fd03::/48\",\"48\",\"ripe\"\nAS1,10.0.0.0/8,8,x\n"
            .to_vec(),
        rpsl: {
            let mut v = head("irr-rpsl/docs_benchmark_whois-rpsl_AS3257.txt", 3000);
            v.extend_from_slice(
                b"\n\nroute: 192.0.2.0/24\norigin: AS1 # c\nsource: RADB\n\nroute6: 2001:db8::/32\n+ \norigin: AS2\n\nas-set: AS-X\nmembers: AS1, AS-Y\n AS65000:AS-Z\n\n",
            );
            v
        },
        asrel: head("caida-asrel/20161101.as-rel.txt.bz2", 6000),
        as2org: {
            let mut v = head("as2org/data_20211001.as-org2info.jsonl.gz", 3000);
            v.extend_from_slice(b"\n# format:aut|changed|aut_name|org_id|opaque_id|source\n1|2|N|O|x|ARIN\n# format:org_id|changed|org_name|country|source\nO|1|Org|US|ARIN\n");
            v
        },
        arin: head("arouteserver/tests_static_data_arin-whois-originas.json.bz2", 2500),
        watch: std::fs::read(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/watch.example.toml"))
            .expect("docs/watch.example.toml"),
    })
}

fn consistent(r: &ParseReport, kept: usize) {
    assert!(r.skipped <= r.records, "{r:?}");
    assert!(r.errors.len() as u64 <= r.error_count, "{r:?}");
    assert!(r.errors.len() <= bugyo_formats::report::MAX_ERRORS);
    let _ = kept;
}

/// Runs every loader on the bytes.
fn all_parsers(b: &[u8]) {
    let (d, r) = rpki::parse_bytes(b);
    consistent(&r, d.vrps.len());
    assert!(d.vrps.len() as u64 <= r.records);
    let (d, r) = rpsl::parse_reader(b, "TEST");
    consistent(&r, d.routes.len());
    assert!((d.routes.len() + d.aut_nums.len() + d.as_sets.len()) as u64 <= r.records);
    let (_, r) = rpsl::parse_arin_originas(b);
    consistent(&r, 0);
    let (d, r) = asrel::parse_reader(b);
    consistent(&r, d.links.len());
    assert!(d.links.len() as u64 <= r.records);
    let (d, r) = as2org::parse_reader(b);
    consistent(&r, d.len());
    let (d, r) = watch::parse_bytes(b);
    consistent(&r, d.len());
}

/// A damaged copy of `seed`: byte changes, insertions, deletions and a cut.
fn mutated(seed: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    let ops = prop::collection::vec((0u8..4, any::<prop::sample::Index>(), any::<u8>()), 1..12);
    (ops, any::<prop::sample::Index>(), any::<bool>()).prop_map(move |(ops, cut, do_cut)| {
        let mut v = seed.to_vec();
        for (op, at, byte) in ops {
            if v.is_empty() {
                v.push(byte);
                continue;
            }
            let i = at.index(v.len());
            match op {
                0 => v[i] = byte,
                1 => v.insert(i, byte),
                2 => {
                    v.remove(i);
                }
                _ => {
                    // duplicate a chunk, as a botched concatenation would
                    let end = (i + 64).min(v.len());
                    let chunk = v[i..end].to_vec();
                    v.splice(i..i, chunk);
                }
            }
        }
        if do_cut && !v.is_empty() {
            v.truncate(cut.index(v.len()));
        }
        v
    })
}

/// Text made of the tokens the formats are built from.
fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    let tokens = prop::sample::select(vec![
        "route:",
        "route6:",
        "origin:",
        "aut-num:",
        "as-name:",
        "as-set:",
        "members:",
        "mp-members:",
        "source:",
        "\n",
        "\n\n",
        " ",
        "\t",
        "+",
        "#",
        "%",
        ",",
        "|",
        ":",
        "AS",
        "AS-",
        "-1",
        "0",
        "1",
        "65000",
        "4294967296",
        "10.0.0.0/8",
        "2001:db8::/32",
        "/",
        "{",
        "}",
        "[",
        "]",
        "\"",
        "\"roas\"",
        "\"aspas\"",
        "\"asn\"",
        "\"prefix\"",
        "\"maxLength\"",
        "\"providers\"",
        "\"customer_asid\"",
        "\"whois_records\"",
        "\"v4\"",
        "\"type\"",
        "\"ASN\"",
        "\"Organization\"",
        "\"organizationId\"",
        "[[member]]",
        "id = ",
        "asns = ",
        "prefixes = ",
        "contacts = ",
        "=",
        "# format:aut|aut_name|org_id",
        "# input clique:",
        "é",
        "\u{0}",
    ]);
    prop::collection::vec(tokens, 0..200).prop_map(|t| t.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..2048)) {
        all_parsers(&b);
    }

    #[test]
    fn token_soup_never_panics(b in token_soup()) {
        all_parsers(&b);
        // the same soup as JSON/RPSL after a format-deciding first byte
        let mut j = b"{\"roas\":[".to_vec();
        j.extend_from_slice(&b);
        all_parsers(&j);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn damaged_ripe_json(b in mutated(&seeds().ripe_json)) { all_parsers(&b); }

    #[test]
    fn damaged_rpki_client_json(b in mutated(&seeds().rpki_client_json)) { all_parsers(&b); }

    #[test]
    fn damaged_rpki_csv(b in mutated(&seeds().rpki_csv)) { all_parsers(&b); }

    #[test]
    fn damaged_rpsl(b in mutated(&seeds().rpsl)) { all_parsers(&b); }

    #[test]
    fn damaged_asrel(b in mutated(&seeds().asrel)) { all_parsers(&b); }

    #[test]
    fn damaged_as2org(b in mutated(&seeds().as2org)) { all_parsers(&b); }

    #[test]
    fn damaged_arin(b in mutated(&seeds().arin)) { all_parsers(&b); }

    #[test]
    fn damaged_watch(b in mutated(&seeds().watch)) { all_parsers(&b); }
}

#[test]
fn seeds_parse_cleanly_before_damage() {
    let s = seeds();
    for (name, b) in [
        ("ripe json", &s.ripe_json),
        ("rpki-client json", &s.rpki_client_json),
        ("csv", &s.rpki_csv),
    ] {
        let (d, r) = rpki::parse_bytes(b);
        assert!(r.is_clean() && !d.vrps.is_empty(), "{name}: {r:?}");
    }
    let (d, r) = rpsl::parse_reader(&s.rpsl[..], "RIPE");
    assert!(
        r.records >= 4 && d.routes.len() == 2 && d.as_sets.len() == 1,
        "{r:?}"
    );
    let (d, _) = asrel::parse_reader(&s.asrel[..]);
    assert!(d.links.len() > 10 && !d.clique.is_empty());
    let (d, _) = as2org::parse_reader(&s.as2org[..]);
    assert!(!d.is_empty());
    let (d, r) = watch::parse_bytes(&s.watch);
    assert!(r.is_clean() && d.len() == 3, "{r:?}");
}
