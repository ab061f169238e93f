//! Engine behaviour on small hand-built scenarios: one incident per cause,
//! the right culprit and victims, resolution after the quiet period, and
//! silence where RPKI authorises a route.

use bugyo_detect::{Engine, EngineConfig, IncidentStatus, Reference, Severity};
use bugyo_model::{
    AsLink, AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Timestamp, Vrp,
};
use bugyo_state::{AsGraph, VrpIndex};
use std::sync::Arc;

fn attrs(path: &[u32]) -> Arc<PathAttributes> {
    Arc::new(PathAttributes {
        as_path: AsPath::from_sequence(path.iter().copied()),
        ..Default::default()
    })
}

fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn peer(asn: u32, ip: &str) -> Peer {
    Peer::new(Asn(asn), ip.parse().unwrap())
}

fn graph() -> AsGraph {
    let l = AsLink::new;
    AsGraph::new([
        l(701, 15169, Relationship::ProviderToCustomer),
        l(701, 2516, Relationship::ProviderToCustomer),
        l(2914, 4713, Relationship::ProviderToCustomer),
        l(701, 2914, Relationship::PeerToPeer),
        l(2497, 2914, Relationship::PeerToPeer),
        l(2497, 701, Relationship::PeerToPeer),
        l(2914, 9999, Relationship::ProviderToCustomer),
        l(1299, 4713, Relationship::PeerToPeer),
        l(1299, 8888, Relationship::ProviderToCustomer),
    ])
}

/// A starting RIB: two peers see 256 /16s of OCN (AS4713) via NTT (AS2914).
fn engine(reference: Reference) -> (Engine, Peer, Peer) {
    engine_with(reference, EngineConfig::default())
}

/// [`engine`] with a configuration of its own.
fn engine_with(reference: Reference, config: EngineConfig) -> (Engine, Peer, Peer) {
    let mut e = Engine::new(reference, config);
    let p1 = peer(2497, "192.0.2.1");
    let p2 = peer(2516, "192.0.2.2");
    let t0 = Timestamp::from_secs(1_503_600_000);
    for i in 0..256u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        e.load_rib_route(t0, p1, p, 0, &attrs(&[2497, 2914, 4713]));
        e.load_rib_route(t0, p2, p, 0, &attrs(&[2516, 701, 2914, 4713]));
    }
    (e, p1, p2)
}

#[test]
fn leak_is_one_incident_and_resolves() {
    let (mut e, p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    let leak = attrs(&[2516, 701, 15169, 4713]);
    let leak1 = attrs(&[2497, 701, 15169, 4713]);
    let mut n = 0;
    for i in 0..256u32 {
        for j in 0..4u32 {
            let p = Prefix::v4((60 << 24) | (i << 16) | (j << 8), 24).unwrap();
            e.announce(t.plus_secs(i64::from(i / 64)), p2, p, 0, &leak);
            e.announce(t.plus_secs(i64::from(i / 64)), p1, p, 0, &leak1);
            n += 1;
        }
    }
    let open: Vec<_> = e.incidents().iter().collect();
    assert_eq!(
        open.len(),
        1,
        "{:#?}",
        open.iter()
            .map(|i| i.summary(&|_| None))
            .collect::<Vec<_>>()
    );
    let inc = open[0];
    assert_eq!(inc.kind.name(), "route-leak");
    assert_eq!(inc.culprit, Some(Asn(15169)));
    assert_eq!(inc.leaked_to, Some(Asn(701)));
    assert_eq!(inc.prefixes.len(), n);
    assert_eq!(inc.victims(), vec![(Asn(4713), n)]);
    assert_eq!(inc.first_seen, t);
    assert!(inc.assess().0 >= Severity::High, "{:?}", inc.assess());
    // Withdraw everything; after the quiet period the incident resolves.
    let tw = t.plus_secs(480);
    for i in 0..256u32 {
        for j in 0..4u32 {
            let p = Prefix::v4((60 << 24) | (i << 16) | (j << 8), 24).unwrap();
            e.withdraw(tw, p1, p, 0);
            e.withdraw(tw, p2, p, 0);
        }
    }
    assert_eq!(e.incidents()[0].status, IncidentStatus::Open);
    e.advance(tw.plus_secs(301));
    let inc = &e.incidents()[0];
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.resolved_at, Some(tw));
    assert_eq!(
        e.incidents().len(),
        1,
        "withdrawals must not open incidents"
    );
}

#[test]
fn hijacks_exact_and_subprefix() {
    let (mut e, p1, _) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    e.announce(t, p1, pfx("60.1.0.0/16"), 0, &attrs(&[2497, 64666, 9999]));
    e.announce(t, p1, pfx("60.2.128.0/17"), 0, &attrs(&[2497, 8888]));
    let kinds: Vec<_> = e
        .incidents()
        .iter()
        .map(|i| (i.kind.name(), i.culprit, i.victims()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("origin-hijack", Some(Asn(9999)), vec![(Asn(4713), 1)]),
            ("subprefix-hijack", Some(Asn(8888)), vec![(Asn(4713), 1)]),
        ]
    );
}

#[test]
fn rpki_valid_new_origin_is_quiet_and_invalid_fires() {
    let vrps = VrpIndex::new([
        Vrp {
            prefix: pfx("60.1.0.0/16"),
            max_len: 16,
            asn: Asn(9999),
        },
        Vrp {
            prefix: pfx("60.3.0.0/16"),
            max_len: 16,
            asn: Asn(4713),
        },
    ]);
    let (mut e, p1, _) = engine(Reference {
        graph: graph(),
        vrps,
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    e.announce(t, p1, pfx("60.1.0.0/16"), 0, &attrs(&[2497, 2914, 9999]));
    assert!(e.incidents().is_empty(), "RPKI-valid origin must not fire");
    e.announce(t, p1, pfx("60.3.0.0/24"), 0, &attrs(&[2497, 2914, 4713]));
    assert_eq!(e.incidents().len(), 1);
    assert_eq!(e.incidents()[0].kind.name(), "rpki-invalid");
    assert_eq!(e.incidents()[0].culprit, Some(Asn(4713)));
}

#[test]
fn visibility_loss_opens_and_resolves_when_prefixes_return() {
    let (mut e, p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    // 20 OCN /16s vanish from both peers...
    for i in 0..20u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        e.withdraw(t, p1, p, 0);
        e.withdraw(t, p2, p, 0);
    }
    assert_eq!(e.incidents().len(), 1);
    let inc = &e.incidents()[0];
    assert_eq!(inc.kind.name(), "visibility-loss");
    assert_eq!(inc.victims(), vec![(Asn(4713), 20)]);
    assert_eq!(inc.culprit, None);
    // ...and come back: the incident resolves after the quiet period.
    let back = t.plus_secs(120);
    for i in 0..20u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        e.announce(back, p1, p, 0, &attrs(&[2497, 2914, 4713]));
    }
    e.advance(back.plus_secs(301));
    assert_eq!(e.incidents()[0].status, IncidentStatus::Resolved);
    assert_eq!(
        e.incidents().len(),
        1,
        "returning prefixes are not anomalies"
    );
}

#[test]
fn flood_of_unexplained_new_prefixes_is_a_route_flood() {
    let (mut e, p1, _) = engine(Reference::default());
    let t = Timestamp::from_secs(1_503_631_320);
    // 6,000 prefixes nobody has seen, outside any routed block, from one peer.
    for i in 0..6000u32 {
        let p = Prefix::v4((100 << 24) | (i << 8), 24).unwrap();
        e.announce(
            t.plus_secs(i64::from(i / 200)),
            p1,
            p,
            0,
            &attrs(&[2497, 3000 + (i % 50)]),
        );
    }
    let floods: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "route-flood")
        .collect();
    assert_eq!(
        floods.len(),
        1,
        "{:?}",
        e.incidents()
            .iter()
            .map(|i| i.kind.name())
            .collect::<Vec<_>>()
    );
    assert_eq!(floods[0].feed_peer, Some(p1));
    assert!(floods[0].evidence.notes[0].contains("max-prefix"));
    // The finding in Japanese too, among the reasons for the severity.
    let (_, why) = floods[0].assess_both();
    assert!(
        why.iter()
            .any(|(en, ja)| en.contains("max-prefix") && ja.contains("最大プレフィックス数")),
        "{why:?}"
    );
}

#[test]
fn new_upstream_more_specific_and_bogon_kinds() {
    let (mut e, p1, _) = engine(Reference::default());
    let t = Timestamp::from_secs(1_503_631_320);
    // An OCN more-specific through a never-seen upstream (no relationship data).
    e.announce(t, p1, pfx("60.5.1.0/24"), 0, &attrs(&[2497, 15169, 4713]));
    // An OCN more-specific through its usual upstream.
    e.announce(t, p1, pfx("60.6.1.0/24"), 0, &attrs(&[2497, 2914, 4713]));
    // A private ASN in a public path.
    e.announce(t, p1, pfx("61.0.0.0/16"), 0, &attrs(&[2497, 64512, 7]));
    let got: Vec<_> = e
        .incidents()
        .iter()
        .map(|i| (i.kind.name(), i.culprit))
        .collect();
    assert_eq!(
        got,
        vec![
            ("new-upstream", Some(Asn(15169))),
            ("more-specific", Some(Asn(4713))),
            ("bogon", Some(Asn(2497)))
        ]
    );
    let lines = &e.incidents()[0].samples[0].verdicts;
    assert!(
        lines
            .iter()
            .any(|l| l == "history: new more-specific of routed 60.5.0.0/16"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "history: AS adjacency AS15169-AS4713 never seen before"),
        "{lines:?}"
    );
}

#[test]
fn session_down_is_a_feed_down_incident_until_it_returns() {
    let (mut e, p1, _) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    e.peer_state(t, p1, false);
    e.peer_state(t.plus_secs(5), p1, false); // a second "down" adds nothing
    let feed: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "feed-down")
        .collect();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].feed_peer, Some(p1));
    assert!(
        feed[0].evidence.notes[0].contains("256 routes withdrawn"),
        "{:?}",
        feed[0].evidence.notes
    );
    assert!(
        feed[0].evidence.notes_ja[0].contains("256 経路が取り消されました"),
        "{:?}",
        feed[0].evidence.notes_ja
    );
    assert_eq!(
        feed[0].assess().0,
        Severity::Info,
        "feed health, not a routing alarm"
    );
    e.peer_state(t.plus_secs(60), p1, true);
    e.advance(t.plus_secs(60 + 301));
    let inc = e
        .incidents()
        .iter()
        .find(|i| i.kind.name() == "feed-down")
        .unwrap();
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.resolved_at, Some(t.plus_secs(60)));
}

/// A burst that stops growing between doublings is reported once more after
/// `settle_secs`, with its final size; a still incident is not re-reported.
#[test]
fn burst_final_size_is_reported_after_it_settles() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    let leak = attrs(&[2516, 701, 15169, 4713]);
    // 300 routes: events at 1 (opened), 2, 4, ..., 256 (doublings); 300 is not one.
    for i in 0..300u32 {
        let p = Prefix::v4((60 << 24) | ((i / 4) << 16) | ((i % 4) << 8), 24).unwrap();
        e.announce(t, p2, p, 0, &leak);
    }
    let sizes = |e: &mut Engine| -> Vec<(String, usize)> {
        e.drain_events()
            .into_iter()
            .map(|ev| {
                let inc = e.incident(ev.id).unwrap();
                (format!("{:?}", ev.event), inc.prefixes.len())
            })
            .collect()
    };
    let burst = sizes(&mut e);
    assert_eq!(burst.first().map(|s| s.0.as_str()), Some("Opened"));
    assert!(burst.iter().all(|(_, n)| *n == 300));
    // Not yet still long enough: nothing.
    e.advance(t);
    assert!(sizes(&mut e).is_empty());
    e.advance(t.plus_secs(1));
    assert_eq!(sizes(&mut e), vec![("Updated".to_string(), 300)]);
    // Reported once; nothing more while it stays the same.
    e.advance(t.plus_secs(5));
    assert!(sizes(&mut e).is_empty());
}

/// A peer silent for `feed_quiet_secs` opens a feed-down incident (its
/// routes kept); its next message resolves it; a busy peer never opens one.
#[test]
fn silent_feed_is_a_feed_down_incident_until_it_speaks() {
    let config = EngineConfig {
        feed_quiet_secs: Some(600),
        ..EngineConfig::default()
    };
    let (mut e, p1, p2) = engine_with(
        Reference {
            graph: graph(),
            ..Reference::default()
        },
        config,
    );
    // The starting RIB is at 1_503_600_000; the updates follow a minute later.
    let t = Timestamp::from_secs(1_503_600_060);
    let normal = attrs(&[2516, 701, 2914, 4713]);
    // p2 keeps talking every minute; p1 says nothing after the RIB.
    for m in 0..=10 {
        let p = Prefix::v4((60 << 24) | (m << 16), 16).unwrap();
        e.announce(t.plus_secs(i64::from(m) * 60), p2, p, 0, &normal);
    }
    let feed: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "feed-down")
        .collect();
    assert_eq!(feed.len(), 1, "only the silent peer");
    assert_eq!(feed[0].feed_peer, Some(p1));
    assert!(
        feed[0].evidence.notes[0].contains("256 routes are kept"),
        "{:?}",
        feed[0].evidence.notes
    );
    assert!(
        feed[0].evidence.notes_ja[0].contains("256 経路は保持しています"),
        "{:?}",
        feed[0].evidence.notes_ja
    );
    assert_eq!(
        e.rib().peer(bugyo_state::PeerId(0)).routes,
        256,
        "routes kept"
    );
    // p1 speaks: resolved after the quiet period, no second incident.
    let back = t.plus_secs(700);
    e.withdraw(back, p1, pfx("60.0.0.0/16"), 0);
    e.announce(back, p1, pfx("60.0.0.0/16"), 0, &attrs(&[2497, 2914, 4713]));
    e.advance(back.plus_secs(301));
    let feed: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "feed-down")
        .collect();
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].status, IncidentStatus::Resolved);
}

/// The 100 OCN more-specifics of [`leak_routes`].
fn leaked_prefixes() -> impl Iterator<Item = Prefix> {
    (0..100u32).map(|i| Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap())
}

/// The leak of [`graph`]'s AS15169 to AS701 over 100 OCN more-specifics.
fn leak_routes(e: &mut Engine, t: Timestamp, p: Peer) {
    let leak = attrs(&[p.asn.0, 701, 15169, 4713]);
    for prefix in leaked_prefixes() {
        e.announce(t, p, prefix, 0, &leak);
    }
}

fn withdraw_leak(e: &mut Engine, t: Timestamp, p: Peer) {
    for prefix in leaked_prefixes() {
        e.withdraw(t, p, prefix, 0);
    }
}

/// Evidence counts routes, not announcements: the same routes sent again
/// (a re-announcement, or the whole table after a session reset) add nothing.
#[test]
fn evidence_counts_each_route_once() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut e, t, p2);
    leak_routes(&mut e, t.plus_secs(10), p2);
    e.peer_state(t.plus_secs(20), p2, false);
    e.peer_state(t.plus_secs(21), p2, true);
    leak_routes(&mut e, t.plus_secs(22), p2);
    let leaks: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "route-leak")
        .collect();
    assert_eq!(leaks.len(), 1, "no duplicate after the reset");
    let ev = &leaks[0].evidence;
    assert_eq!(ev.routes, 100, "{ev:?}");
    assert_eq!(ev.valley_free + ev.cone, 100, "{ev:?}");
    assert_eq!(
        ev.standing, 0,
        "re-sent in the learning window, still fresh"
    );
    assert_eq!(leaks[0].active, 100);
}

/// A fresh leak re-sent in a learning window after a reset does not become
/// "standing"; once it is over, the same leak starting again is as severe
/// as the first time.
#[test]
fn leak_seen_starting_never_becomes_standing() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut e, t, p2);
    e.peer_state(t.plus_secs(20), p2, false);
    e.peer_state(t.plus_secs(21), p2, true);
    leak_routes(&mut e, t.plus_secs(22), p2);
    let first = e.incidents()[0].assess().0;
    withdraw_leak(&mut e, t.plus_secs(30), p2);
    e.advance(t.plus_secs(30 + 301));
    assert_eq!(e.incidents()[0].status, IncidentStatus::Resolved);
    // Well after the learning window, AS15169 leaks again.
    leak_routes(&mut e, t.plus_secs(1_000), p2);
    let leaks: Vec<_> = e
        .incidents()
        .iter()
        .filter(|i| i.kind.name() == "route-leak")
        .collect();
    assert_eq!(leaks.len(), 2);
    assert_eq!(leaks[1].evidence.standing, 0, "{:?}", leaks[1].evidence);
    assert_eq!(leaks[1].assess().0, first);
}

/// Equal attribute sets arriving in separate allocations (a live feed makes
/// one per UPDATE) share the RIB's one allocation, and the engine keeps no
/// hold on the inputs.
#[test]
fn equal_attribute_sets_share_one_allocation() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    let first = attrs(&[2516, 701, 2914, 9999]);
    e.announce(t, p2, pfx("61.0.0.0/16"), 0, &first);
    for i in 1..50u32 {
        let again = attrs(&[2516, 701, 2914, 9999]);
        let prefix = Prefix::v4((61 << 24) | (i << 16), 16).unwrap();
        e.announce(t, p2, prefix, 0, &again);
        let held = e.rib().route(bugyo_state::PeerId(1), &prefix, 0).unwrap();
        assert!(Arc::ptr_eq(held, &first), "route {i} shares the first set");
        // Ours, and the engine's memo of the last input.
        assert_eq!(Arc::strong_count(&again), 2);
    }
}

/// A path's verdict is kept with its attribute set and goes with it: when
/// the set's last route goes, its handle is reused for other paths, which
/// must be judged afresh, a clean path after a leaking one and the other
/// way round.
#[test]
fn path_verdicts_go_with_their_attribute_set() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    let leaked_routes = |e: &Engine| -> usize {
        e.incidents()
            .iter()
            .filter(|i| i.kind.name() == "route-leak")
            .map(|i| i.prefixes.len())
            .sum()
    };
    for i in 0..40u32 {
        // A route with a path of its own, then gone again: its set is freed.
        let leaking = i % 2 == 0;
        let mut path = if leaking {
            vec![2516, 701, 15169]
        } else {
            vec![2516, 701, 2914]
        };
        path.extend(std::iter::repeat_n(4713, 1 + i as usize));
        let prefix = Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap();
        let before = leaked_routes(&e);
        e.announce(t, p2, prefix, 0, &attrs(&path));
        let expected = before + usize::from(leaking);
        assert_eq!(leaked_routes(&e), expected, "route {i} ({path:?})");
        e.withdraw(t, p2, prefix, 0);
    }
    assert_eq!(e.rib().attr_count(), 2, "only the starting RIB's two sets");
}

/// An incident as a restart hands it over: its serde state (what the store
/// keeps, without prefixes) read back, with the prefixes put back as the
/// store keeps them.
fn through_restart(inc: &bugyo_detect::Incident) -> bugyo_detect::Incident {
    let state = serde_json::to_string(inc).unwrap();
    let mut back: bugyo_detect::Incident = serde_json::from_str(&state).unwrap();
    assert!(back.prefixes.is_empty(), "prefixes are not in the state");
    back.prefixes = inc.prefixes.clone();
    back
}

/// A restart in the middle of a leak: the leak's routes, sent again by the
/// peer, join the incident taken over (same first sighting, evidence not
/// counted twice, no new "opened"), and it resolves when they go.
#[test]
fn an_open_incident_continues_after_a_restart() {
    let (mut before, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut before, t, p2);
    let old = before.incidents()[0].clone();
    assert_eq!(old.status, IncidentStatus::Open);

    let (mut after, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let restart = t.plus_secs(60);
    assert_eq!(after.resume(vec![through_restart(&old)], restart), 1);
    assert!(after.drain_events().is_empty(), "taking over is no change");
    leak_routes(&mut after, restart.plus_secs(5), p2);
    assert_eq!(after.incidents().len(), 1, "no second incident");
    let inc = &after.incidents()[0];
    assert_eq!(inc.first_seen, old.first_seen);
    assert_eq!(inc.culprit, old.culprit);
    assert_eq!(inc.evidence, old.evidence, "the same routes, counted once");
    assert_eq!(inc.active, 100);
    assert!(
        after.drain_events().is_empty(),
        "the same routes again are no news"
    );
    // The leak ends: resolved after the quiet period, as without a restart.
    let end = restart.plus_secs(100);
    withdraw_leak(&mut after, end, p2);
    after.advance(end.plus_secs(301));
    let inc = &after.incidents()[0];
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.resolved_at, Some(end));
}

/// Incidents taken over whose routes do not come back resolve after the
/// quiet period from the restart; a visibility loss stays open until its
/// prefixes are seen, a feed-down until its peer speaks; resolved incidents
/// and a second one of the same cause are not taken over.
#[test]
fn incidents_taken_over_end_by_their_own_rules() {
    let reference = || Reference {
        graph: graph(),
        ..Reference::default()
    };
    let (mut before, p1, p2) = engine(reference());
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut before, t, p2);
    for i in 0..20u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        before.withdraw(t, p1, p, 0);
        before.withdraw(t, p2, p, 0);
    }
    before.peer_state(t, p1, false);
    let kinds: Vec<&str> = before.incidents().iter().map(|i| i.kind.name()).collect();
    assert_eq!(kinds, ["route-leak", "visibility-loss", "feed-down"]);
    let mut handed: Vec<_> = before.incidents().iter().map(through_restart).collect();
    let mut resolved = handed[0].clone();
    resolved.status = IncidentStatus::Resolved;
    resolved.first_seen = t.plus_secs(-3600);
    handed.push(resolved);
    handed.push(handed[0].clone());

    let (mut after, p1, _) = engine(reference());
    let restart = t.plus_secs(60);
    assert_eq!(after.resume(handed, restart), 3);
    let status =
        |e: &Engine| -> Vec<IncidentStatus> { e.incidents().iter().map(|i| i.status).collect() };
    after.advance(restart.plus_secs(301));
    use IncidentStatus::{Open, Resolved};
    assert_eq!(status(&after), [Resolved, Open, Open]);
    assert_eq!(after.incidents()[0].resolved_at, Some(restart));
    // The lost prefixes come back, and the peer speaks again.
    let back = restart.plus_secs(400);
    for i in 0..20u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        after.announce(back, p1, p, 0, &attrs(&[2497, 2914, 4713]));
    }
    after.advance(back.plus_secs(301));
    assert_eq!(status(&after), [Resolved, Resolved, Resolved]);
    assert_eq!(after.incidents().len(), 3, "nothing new opened");
}

/// A timeline's points as (seconds after `t`, peer, routes).
fn timeline_of(inc: &bugyo_detect::Incident, t: Timestamp) -> Vec<(i64, String, u32)> {
    inc.timeline
        .points()
        .iter()
        .map(|p| (p.time.secs - t.secs, p.peer.clone(), p.routes))
        .collect()
}

/// The timeline of a leak seen by two peers: both rise to the leak's 100
/// routes, one withdraws them, the other's session goes down; the JSON form
/// lists the points in time order. A visibility loss counts under "all", a
/// feed-down under its peer.
#[test]
fn timeline_shows_the_rise_and_fall_per_peer() {
    let (mut e, p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut e, t, p1);
    leak_routes(&mut e, t.plus_secs(1), p2);
    withdraw_leak(&mut e, t.plus_secs(60), p1);
    e.peer_state(t.plus_secs(120), p2, false);
    let (s1, s2) = (p1.to_string(), p2.to_string());
    assert_eq!(s1, "AS2497@192.0.2.1");
    let inc = &e.incidents()[0];
    assert_eq!(inc.kind.name(), "route-leak");
    assert_eq!(
        timeline_of(inc, t),
        [
            (0, s1.clone(), 100),
            (1, s2.clone(), 100),
            (60, s1.clone(), 0),
            (120, s2.clone(), 0),
        ]
    );
    let json = inc.to_json(&|_| None);
    let points = json["timeline"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert_eq!(points[0]["peer"], s1.as_str());
    assert_eq!(points[0]["routes"], 100);
    assert_eq!(points[0]["time"], "2017-08-25T03:22:00Z");
    assert_eq!(
        inc.timeline
            .totals()
            .iter()
            .map(|p| (p.time.secs - t.secs, p.routes))
            .collect::<Vec<_>>(),
        [(0, 100), (1, 200), (60, 100), (120, 0)]
    );
    // p2's session down: its OCN /16s are seen by p1 alone, nothing lost;
    // the feed-down counts 1 under the peer, 0 once it is back.
    e.peer_state(t.plus_secs(130), p2, true);
    let feed = e
        .incidents()
        .iter()
        .find(|i| i.kind.name() == "feed-down")
        .unwrap();
    assert_eq!(
        timeline_of(feed, t),
        [(120, s2.clone(), 1), (130, s2.clone(), 0)]
    );
    // 20 OCN /16s vanish (p2 has sent none since its session came back).
    for i in 0..20u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        e.withdraw(t.plus_secs(200), p1, p, 0);
    }
    let lost = e
        .incidents()
        .iter()
        .find(|i| i.kind.name() == "visibility-loss")
        .unwrap();
    assert_eq!(timeline_of(lost, t), [(200, "all".to_string(), 20)]);
}

/// Many changes: never more than 1,000 points, the first and the latest
/// (and the highest) kept.
#[test]
fn timeline_is_bounded() {
    let (mut e, _p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    let prefixes: Vec<Prefix> = leaked_prefixes().collect();
    let leak = attrs(&[2516, 701, 15169, 4713]);
    // One route more each second up to 100, then flapping for 2,000 s.
    for (s, p) in prefixes.iter().enumerate() {
        e.announce(t.plus_secs(s as i64), p2, *p, 0, &leak);
    }
    let p = prefixes[0];
    for s in 100..2_100i64 {
        if s % 2 == 0 {
            e.withdraw(t.plus_secs(s), p2, p, 0);
        } else {
            e.announce(t.plus_secs(s), p2, p, 0, &leak);
        }
    }
    let inc = &e.incidents()[0];
    assert_eq!(e.incidents().len(), 1);
    let points = timeline_of(inc, t);
    assert!(points.len() <= 1_000, "{}", points.len());
    assert!(points.len() >= 500, "{}", points.len());
    let s2 = p2.to_string();
    assert_eq!(points[0], (0, s2.clone(), 1), "the first kept");
    assert_eq!(points.last(), Some(&(2_099, s2.clone(), 100)), "the latest");
    assert!(points.iter().any(|p| p.2 == 100 && p.0 < 1_000), "the peak");
    assert!(points.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
    assert_eq!(
        inc.to_json(&|_| None)["timeline"].as_array().unwrap().len(),
        points.len()
    );
}

/// The timeline goes through a restart with the incident: the routes sent
/// again are the ones counted before (no dip, no second spike), and those
/// not sent again leave it after the quiet period, as of the restart.
#[test]
fn timeline_survives_a_restart() {
    let (mut before, p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let t = Timestamp::from_secs(1_503_631_320);
    leak_routes(&mut before, t, p1);
    leak_routes(&mut before, t, p2);
    let old = through_restart(&before.incidents()[0]);
    assert_eq!(old.timeline, before.incidents()[0].timeline);
    assert_eq!(old.timeline.points().len(), 2);

    let (mut after, p1, p2) = engine(Reference {
        graph: graph(),
        ..Reference::default()
    });
    let restart = t.plus_secs(60);
    assert_eq!(after.resume(vec![old.clone()], restart), 1);
    // p2 sends its table again, p1 does not.
    leak_routes(&mut after, restart.plus_secs(5), p2);
    assert_eq!(
        after.incidents()[0].timeline.points(),
        old.timeline.points()
    );
    after.advance(restart.plus_secs(301));
    let (s1, s2) = (p1.to_string(), p2.to_string());
    assert_eq!(
        timeline_of(&after.incidents()[0], t),
        [(0, s1.clone(), 100), (0, s2.clone(), 100), (60, s1, 0)]
    );
    withdraw_leak(&mut after, restart.plus_secs(400), p2);
    assert_eq!(
        timeline_of(&after.incidents()[0], t).last(),
        Some(&(460, s2, 0))
    );
}
