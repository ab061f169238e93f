//! The 2017 leak, rebuilt from real routes: the RIS rrc06 (Tokyo) table as
//! the starting RIB, the CAIDA relationships of 2016, and a burst of
//! more-specifics of Japanese networks' prefixes (AS4713 OCN's above all)
//! that AS15169 exports to its provider AS701, seen by two collector peers,
//! withdrawn eight minutes later. One incident must come out, naming the
//! leaker, the AS it leaked to, every victim with its prefix count; opened at
//! the first leaked route and resolved after the withdrawals.

mod common;

use bugyo_formats::mrt::{Nlri, UpdateEntry};
use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Timestamp};
use common::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

#[test]
fn leak_of_2017_class_is_one_incident() {
    let data = data_dir();
    let rib = rrc06_rib();
    let caida = data.join("caida-asrel/20161101.as-rel.txt.bz2");
    let (rels, _) = bugyo_formats::asrel::load(&caida).expect("as-rel");
    let known: HashSet<Asn> = rels.links.iter().flat_map(|l| [l.a, l.b]).collect();
    let google_customers: HashSet<Asn> = rels
        .links
        .iter()
        .filter(|l| l.a == Asn(15169) && l.rel == Relationship::ProviderToCustomer)
        .map(|l| l.b)
        .collect();
    let (orgs, _) =
        bugyo_formats::as2org::load(&data.join("as2org/data_20211001.as-org2info.jsonl.gz"))
            .expect("as2org");
    let japanese: HashSet<Asn> = orgs
        .iter()
        .filter(|o| o.country == "JP")
        .map(|o| o.asn)
        .collect();

    // Observers: IIJ (AS2497) and AS4777, the two full tables of rrc06.
    let iij = rib
        .iter()
        .find(|r| r.peer.asn == Asn(2497))
        .expect("AS2497 in rrc06")
        .peer;
    let nspixp = rib
        .iter()
        .find(|r| r.peer.asn == Asn(4777))
        .expect("AS4777 in rrc06")
        .peer;
    let observers = [iij, nspixp];
    let existing: HashSet<Prefix> = rib.iter().map(|r| r.prefix).collect();

    // Victims: Japanese origins that CAIDA knows and that are not Google's
    // customers; their IPv4 prefixes up to /20 are cut into 16 more-specifics.
    let mut leaked: BTreeMap<Prefix, Asn> = BTreeMap::new();
    for r in rib.iter().filter(|r| r.peer == iij) {
        let Some(origin) = r.attrs.as_path.origin() else {
            continue;
        };
        if !japanese.contains(&origin)
            || !known.contains(&origin)
            || google_customers.contains(&origin)
        {
            continue;
        }
        if observers.iter().any(|p| p.asn == origin) || r.prefix.len() > 20 {
            continue;
        }
        let IpAddr::V4(a) = r.prefix.addr() else {
            continue;
        };
        let len = r.prefix.len() + 4;
        for k in 0..16u32 {
            let p = Prefix::v4(u32::from(a) + (k << (32 - u32::from(len))), len).unwrap();
            if !existing.contains(&p) {
                leaked.entry(p).or_insert(origin);
            }
        }
    }
    let mut per_victim: BTreeMap<Asn, usize> = BTreeMap::new();
    for v in leaked.values() {
        *per_victim.entry(*v).or_default() += 1;
    }
    assert!(
        per_victim.get(&Asn(4713)).copied().unwrap_or(0) > 1000,
        "OCN must be among the victims: {per_victim:?}"
    );
    assert!(
        leaked.len() > 20_000,
        "a 2017-class leak: {} prefixes",
        leaked.len()
    );

    // The updates: a 30-second burst, withdrawn 8 minutes later; a routine
    // re-announcement 400 s after that lets data time pass the quiet period.
    let rib_time = rib[0].time;
    let t_leak = rib_time.plus_secs(600);
    let t_withdraw = t_leak.plus_secs(480);
    let mut updates = Vec::new();
    let by_victim: BTreeMap<Asn, Vec<Prefix>> =
        leaked.iter().fold(BTreeMap::new(), |mut m, (p, v)| {
            m.entry(*v).or_insert_with(Vec::new).push(*p);
            m
        });
    let mut second = 0i64;
    for (victim, prefixes) in &by_victim {
        for chunk in prefixes.chunks(2000) {
            for peer in observers {
                let attrs = Arc::new(PathAttributes {
                    origin: Some(bugyo_model::Origin::Igp),
                    as_path: AsPath::from_sequence([peer.asn.0, 701, 15169, victim.0]),
                    next_hop: Some(peer.addr),
                    ..PathAttributes::default()
                });
                updates.push(UpdateEntry {
                    time: Timestamp {
                        secs: t_leak.secs + (second % 30),
                        micros: 0,
                    },
                    extended: true,
                    peer,
                    announced: chunk
                        .iter()
                        .map(|p| Nlri {
                            prefix: *p,
                            path_id: None,
                        })
                        .collect(),
                    attrs: Some(attrs),
                    ..UpdateEntry::default()
                });
            }
            second += 1;
        }
    }
    let last_leak_time = updates.iter().map(|u| u.time).max().unwrap();
    let all: Vec<Nlri> = leaked
        .keys()
        .map(|p| Nlri {
            prefix: *p,
            path_id: None,
        })
        .collect();
    for peer in observers {
        for chunk in all.chunks(5000) {
            updates.push(UpdateEntry {
                time: t_withdraw,
                extended: true,
                peer,
                withdrawn: chunk.to_vec(),
                ..UpdateEntry::default()
            });
        }
    }
    let routine = rib.iter().find(|r| r.peer == iij).unwrap();
    updates.push(UpdateEntry {
        time: t_withdraw.plus_secs(400),
        extended: true,
        peer: iij,
        announced: vec![Nlri {
            prefix: routine.prefix,
            path_id: None,
        }],
        attrs: Some(routine.attrs.clone()),
        ..UpdateEntry::default()
    });
    updates.sort_by_key(|u| u.time);

    let dir = scratch("leak2017");
    let rib_path = dir.join("bview.20100701.0759.mrt");
    let upd_path = dir.join("updates.20100701.0809.mrt");
    write_rib(&rib_path, rib);
    write_updates(&upd_path, &updates);

    let store_dir = dir.join("store");
    let replay = || {
        bugyo(&[
            "replay",
            "--rib",
            rib_path.to_str().unwrap(),
            "--as-rel",
            caida.to_str().unwrap(),
            "--format",
            "json",
            "--min-severity",
            "info",
            "--data-dir",
            store_dir.to_str().unwrap(),
            upd_path.to_str().unwrap(),
        ])
    };
    let started = std::time::Instant::now();
    let (out, err) = replay();
    eprintln!(
        "replay took {:.1} s\n{err}",
        started.elapsed().as_secs_f64()
    );
    let incidents = json_lines(&out);
    assert_eq!(
        incidents.len(),
        1,
        "exactly one incident: {:#?}",
        incidents.iter().map(|i| &i["summary"]).collect::<Vec<_>>()
    );
    let inc = &incidents[0];
    assert_eq!(inc["kind"], "route-leak");
    assert_eq!(inc["culprit_asn"], 15169);
    assert_eq!(inc["leaked_to_asn"], 701);
    assert_eq!(inc["prefix_count"], leaked.len());
    let victims: BTreeMap<u64, u64> = inc["victims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["asn"].as_u64().unwrap(),
                v["prefix_count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeMap<u64, u64> = per_victim
        .iter()
        .map(|(a, n)| (u64::from(a.0), *n as u64))
        .collect();
    assert_eq!(victims, expected);
    assert_eq!(
        inc["victims"][0]["asn"],
        per_victim
            .iter()
            .max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))
            .unwrap()
            .0
             .0
    );
    let peers: BTreeSet<u64> = inc["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert_eq!(peers, BTreeSet::from([2497, 4777]));
    assert_eq!(
        inc["first_seen"],
        t_leak.rfc3339(),
        "opened at the first leaked route"
    );
    assert_eq!(inc["last_seen"], last_leak_time.rfc3339());
    assert_eq!(inc["status"], "resolved");
    assert_eq!(inc["resolved_at"], t_withdraw.rfc3339());
    let sev = inc["severity"].as_str().unwrap();
    assert!(sev == "critical" || sev == "high", "severity {sev}");
    assert!(inc["samples"][0]["as_path"]
        .as_str()
        .unwrap()
        .contains("701 15169"));
    let prefixes: HashSet<String> = inc["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert!(leaked.keys().all(|p| prefixes.contains(&p.to_string())));

    // The store holds the same incident with its whole history: opened at
    // the first leaked route, grown, resolved; every version complete.
    let stored = |label: &str| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = bugyo_store::Store::open_data_dir(&store_dir)
                .await
                .expect("open the store");
            let mut list = store
                .incidents(&bugyo_store::IncidentFilter::default())
                .await
                .expect("list");
            assert_eq!(list.len(), 1, "{label}: one stored incident: {list:#?}");
            let history = store.incident_history(list[0].id).await.expect("history");
            store.close().await;
            (list.remove(0), history)
        })
    };
    let (latest, history) = stored("first replay");
    assert_eq!(latest.kind, "route-leak");
    assert_eq!(
        (latest.culprit_asn, latest.leaked_to_asn),
        (Some(15169), Some(701))
    );
    assert_eq!(latest.status, "resolved");
    assert_eq!(latest.prefix_count, leaked.len() as i64);
    assert_eq!(history.first().map(|v| v.event.as_str()), Some("opened"));
    assert_eq!(history.last().map(|v| v.event.as_str()), Some("resolved"));
    let steps: Vec<String> = history
        .iter()
        .map(|v| format!("{} {}", v.event, v.body["prefix_count"]))
        .collect();
    eprintln!("stored versions: {}", steps.join(", "));
    assert!(history.len() >= 3, "opened, grown, resolved: {steps:?}");
    assert!(
        history.len() < 64,
        "a version per significant change, not per route: {}",
        history.len()
    );
    let last = &history.last().unwrap().body;
    assert_eq!(last["prefix_count"], leaked.len());
    assert_eq!(
        last["prefixes"].as_array().map(Vec::len),
        Some(leaked.len())
    );
    assert_eq!(last["id"], latest.id);
    // Replaying the same routes again changes nothing: the same incident,
    // no new version.
    let (_, err) = replay();
    assert!(err.contains("0 new versions"), "{err}");
    let (again, history_again) = stored("second replay");
    assert_eq!(again.id, latest.id);
    assert_eq!(history_again.len(), history.len());
    let _ = std::fs::remove_dir_all(dir);
    let _: Option<Peer> = None;
}
