//! The 2017 leak rebuilt from real routes (see `replay_2017_leak.rs`): the
//! RIS rrc06 table as the starting RIB, CAIDA's 2016 relationships, and a
//! burst of more-specifics of Japanese networks leaked by AS15169 to AS701,
//! seen by AS2497 and AS4777, withdrawn eight minutes later.

use super::*;
use bugyo_formats::mrt::{Nlri, UpdateEntry};
use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Timestamp};
use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The scenario's files and what they hold.
pub struct Leak2017 {
    /// The starting RIB (TABLE_DUMP_V2).
    pub rib_path: PathBuf,
    /// The updates (BGP4MP_ET).
    pub upd_path: PathBuf,
    /// The CAIDA relationships file.
    pub caida: PathBuf,
    /// Leaked prefixes and their victims.
    pub leaked: BTreeMap<Prefix, Asn>,
    /// Leaked prefixes per victim.
    pub per_victim: BTreeMap<Asn, usize>,
    /// The two observing collector peers.
    pub observers: [Peer; 2],
    /// First leaked route.
    pub t_leak: Timestamp,
    /// Last leaked route.
    pub last_leak_time: Timestamp,
    /// The withdrawals.
    pub t_withdraw: Timestamp,
}

/// Builds the scenario's files in `dir`.
pub fn build(dir: &Path) -> Leak2017 {
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

    let rib_path = dir.join("bview.20100701.0759.mrt");
    let upd_path = dir.join("updates.20100701.0809.mrt");
    write_rib(&rib_path, rib);
    write_updates(&upd_path, &updates);

    Leak2017 {
        rib_path,
        upd_path,
        caida,
        leaked,
        per_victim,
        observers,
        t_leak,
        last_leak_time,
        t_withdraw,
    }
}
