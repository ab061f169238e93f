//! The 2017 leak, rebuilt from real routes: the RIS rrc06 (Tokyo) table as
//! the starting RIB, the CAIDA relationships of 2016, and a burst of
//! more-specifics of Japanese networks' prefixes (AS4713 OCN's above all)
//! that AS15169 exports to its provider AS701, seen by two collector peers,
//! withdrawn eight minutes later. One incident must come out, naming the
//! leaker, the AS it leaked to, every victim with its prefix count; opened at
//! the first leaked route and resolved after the withdrawals.

mod common;

use common::leak2017::{self, Leak2017};
use common::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};

#[test]
fn leak_of_2017_class_is_one_incident() {
    let dir = scratch("leak2017");
    let Leak2017 {
        rib_path,
        upd_path,
        caida,
        leaked,
        per_victim,
        t_leak,
        last_leak_time,
        t_withdraw,
        ..
    } = leak2017::build(&dir);
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
}
