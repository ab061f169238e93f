//! Hijacks and RPKI, built from the real rrc06 (Tokyo) table: an exact-prefix
//! hijack, a sub-prefix hijack, an RPKI-invalid more-specific, and a new
//! origin that RPKI says is valid, which must stay quiet.

mod common;

use bugyo_formats::mrt::{Nlri, UpdateEntry};
use bugyo_model::{AsPath, Asn, PathAttributes, Prefix};
use common::*;
use std::net::IpAddr;
use std::sync::Arc;

fn announce(
    peer: bugyo_model::Peer,
    t: bugyo_model::Timestamp,
    prefix: Prefix,
    path: &[u32],
) -> UpdateEntry {
    UpdateEntry {
        time: t,
        extended: true,
        peer,
        announced: vec![Nlri {
            prefix,
            path_id: None,
        }],
        attrs: Some(Arc::new(PathAttributes {
            origin: Some(bugyo_model::Origin::Igp),
            as_path: AsPath::from_sequence(path.iter().copied()),
            next_hop: Some(peer.addr),
            ..PathAttributes::default()
        })),
        ..UpdateEntry::default()
    }
}

fn sub24(p: &Prefix, k: u32) -> Prefix {
    let IpAddr::V4(a) = p.addr() else {
        panic!("IPv4 expected")
    };
    Prefix::v4(u32::from(a) + (k << 8), 24).unwrap()
}

#[test]
fn hijacks_and_rpki_verdicts() {
    let data = data_dir();
    let rib = rrc06_rib();
    let iij = rib.iter().find(|r| r.peer.asn == Asn(2497)).unwrap().peer;
    // OCN prefixes as IIJ sees them, shortest first.
    let mut ocn: Vec<&bugyo_formats::mrt::RibEntry> = rib
        .iter()
        .filter(|r| {
            r.peer == iij && r.attrs.as_path.origin() == Some(Asn(4713)) && r.prefix.len() <= 16
        })
        .collect();
    ocn.sort_by_key(|r| (r.prefix.len(), r.prefix));
    assert!(ocn.len() >= 4, "need OCN prefixes in rrc06");
    let (p_exact, p_sub, p_roa, p_valid) =
        (ocn[0].prefix, ocn[1].prefix, ocn[2].prefix, ocn[3].prefix);
    let ocn_path: Vec<u32> = ocn[2].attrs.as_path.hops().iter().map(|a| a.0).collect();

    // RPKI: OCN's p_roa up to its own length only; AS7922 holds a ROA for
    // p_valid (a sanctioned second origin).
    let dir = scratch("hijack");
    let rpki = dir.join("rpki.json");
    let roa = |p: &Prefix, max: u8, asn: u32| serde_json::json!({"asn": asn, "prefix": p.to_string(), "maxLength": max, "ta": "test"});
    std::fs::write(
        &rpki,
        serde_json::json!({"roas": [roa(&p_roa, p_roa.len(), 4713), roa(&p_valid, 24, 7922), roa(&p_valid, 16, 4713)]}).to_string(),
    )
    .unwrap();

    // IRR: OCN's route objects in an RPSL dump of a JPIRR-like registry.
    let irr = dir.join("jpirr.db");
    let objects: String = [p_exact, p_sub, p_roa]
        .iter()
        .map(|p| format!("route:          {p}\ndescr:          OCN\norigin:         AS4713\nmnt-by:         MAINT-AS4713\nsource:         JPIRR\n\n"))
        .collect();
    std::fs::write(&irr, objects).unwrap();

    let t = rib[0].time.plus_secs(600);
    let updates = vec![
        // AS12389 announces an OCN prefix exactly.
        announce(iij, t, p_exact, &[2497, 3356, 12389]),
        // AS9009 announces a /24 inside another OCN prefix.
        announce(iij, t.plus_secs(10), sub24(&p_sub, 3), &[2497, 3257, 9009]),
        // OCN itself announces a /24 its ROA does not allow.
        announce(iij, t.plus_secs(20), sub24(&p_roa, 5), &ocn_path),
        // AS7922 announces a prefix whose ROA names it: RPKI valid, quiet.
        announce(iij, t.plus_secs(30), p_valid, &[2497, 7922]),
    ];
    let upd = dir.join("updates.mrt");
    let rib_path = dir.join("rib.mrt");
    write_rib(&rib_path, rib);
    write_updates(&upd, &updates);
    let caida = data.join("caida-asrel/20161101.as-rel.txt.bz2");
    let (out, _) = bugyo(&[
        "replay",
        "--rib",
        rib_path.to_str().unwrap(),
        "--as-rel",
        caida.to_str().unwrap(),
        "--rpki",
        rpki.to_str().unwrap(),
        "--irr",
        irr.to_str().unwrap(),
        "--format",
        "json",
        "--min-severity",
        "info",
        upd.to_str().unwrap(),
    ]);
    let inc = json_lines(&out);
    let summary: Vec<(String, u64)> = inc
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_string(),
                i["culprit_asn"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("origin-hijack".to_string(), 12389),
            ("subprefix-hijack".to_string(), 9009),
            ("rpki-invalid".to_string(), 4713)
        ],
        "{:#?}",
        inc.iter().map(|i| &i["summary"]).collect::<Vec<_>>()
    );
    assert_eq!(inc[0]["prefixes"][0], p_exact.to_string());
    assert_eq!(inc[0]["victims"][0]["asn"], 4713);
    assert_eq!(inc[1]["prefixes"][0], sub24(&p_sub, 3).to_string());
    assert_eq!(inc[1]["victims"][0]["asn"], 4713);
    assert_eq!(inc[2]["prefixes"][0], sub24(&p_roa, 5).to_string());
    let ev = inc[2]["samples"][0]["verdicts"].as_array().unwrap();
    assert!(
        ev.iter().any(|v| v
            .as_str()
            .unwrap()
            .starts_with("RPKI invalid: longer than maxLength")),
        "{ev:?}"
    );
    let evidence = |i: &serde_json::Value| {
        i["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    for hijack in &inc[..2] {
        assert!(
            evidence(hijack)
                .iter()
                .any(|e| e.contains("without a matching IRR route object")),
            "{:?}",
            evidence(hijack)
        );
    }
    assert!(
        evidence(&inc[2])
            .iter()
            .any(|e| e.contains("match IRR route objects (origin correct)")),
        "{:?}",
        evidence(&inc[2])
    );
    for i in &inc {
        assert_eq!(i["status"], "open");
        assert_ne!(i["severity"], "info", "{}", i["summary"]);
    }
    let _ = std::fs::remove_dir_all(dir);
}
