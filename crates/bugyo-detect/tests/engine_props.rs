//! Property tests: any sequence of route events — announcements with odd
//! paths (private ASNs, AS_SETs, loops), withdrawals of unknown routes,
//! sessions going down and up, time jumping — never panics the engine, keeps
//! its incidents consistent, and gives the same incidents when replayed.

use bugyo_detect::{Engine, EngineConfig, IncidentStatus, Reference};
use bugyo_model::{
    AsLink, AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Segment, SegmentKind,
    Timestamp, Vrp,
};
use bugyo_state::{AsGraph, VrpIndex};
use proptest::prelude::*;
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Op {
    Announce {
        dt: u16,
        peer: u8,
        prefix: u8,
        path: Vec<u8>,
        set: bool,
    },
    Withdraw {
        dt: u16,
        peer: u8,
        prefix: u8,
    },
    Session {
        dt: u16,
        peer: u8,
        up: bool,
    },
}

const ASNS: [u32; 8] = [701, 15169, 4713, 2914, 2516, 64512, 0, 23456];

fn prefix(i: u8) -> Prefix {
    match i % 6 {
        0 => Prefix::v4(0x3c00_0000, 8),
        1 => Prefix::v4(0x3c01_0000, 16),
        2 => Prefix::v4(0x3c01_0100, 24),
        3 => Prefix::v4(0x0a00_0000, 8),
        4 => Prefix::v6(0x2001_0200 << 96, 32),
        _ => Prefix::v4(0x3c01_0180, 25),
    }
    .unwrap()
}

fn peer(i: u8) -> Peer {
    Peer::new(
        Asn(ASNS[(i % 3) as usize]),
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, i % 3)),
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<u16>(), any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..6), any::<bool>())
            .prop_map(|(dt, peer, prefix, path, set)| Op::Announce { dt, peer, prefix, path, set }),
        3 => (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(dt, peer, prefix)| Op::Withdraw { dt, peer, prefix }),
        1 => (any::<u16>(), any::<u8>(), any::<bool>()).prop_map(|(dt, peer, up)| Op::Session { dt, peer, up }),
    ]
}

fn engine() -> Engine {
    let l = AsLink::new;
    let reference = Reference {
        graph: AsGraph::new([
            l(701, 15169, Relationship::ProviderToCustomer),
            l(2914, 4713, Relationship::ProviderToCustomer),
            l(701, 2914, Relationship::PeerToPeer),
        ]),
        vrps: VrpIndex::new([Vrp {
            prefix: prefix(1),
            max_len: 16,
            asn: Asn(4713),
        }]),
        ..Reference::default()
    };
    let config = EngineConfig {
        learning_secs: 0,
        quiet_secs: 60,
        warmup_secs: 0,
        flood_min: 3,
        ..EngineConfig::default()
    };
    Engine::new(reference, config)
}

fn run(ops: &[Op]) -> Vec<String> {
    let mut e = engine();
    let mut t = Timestamp::from_secs(1_500_000_000);
    for op in ops {
        match op {
            Op::Announce {
                dt,
                peer: p,
                prefix: x,
                path,
                set,
            } => {
                t = t.plus_secs(i64::from(*dt % 120));
                let mut segments = vec![Segment {
                    kind: SegmentKind::Sequence,
                    asns: std::iter::once(peer(*p).asn)
                        .chain(path.iter().map(|i| Asn(ASNS[(*i % 8) as usize])))
                        .collect(),
                }];
                if *set {
                    segments.push(Segment {
                        kind: SegmentKind::Set,
                        asns: vec![Asn(4713), Asn(2516)],
                    });
                }
                let attrs = Arc::new(PathAttributes {
                    as_path: AsPath { segments },
                    ..PathAttributes::default()
                });
                e.announce(t, peer(*p), prefix(*x), 0, &attrs);
            }
            Op::Withdraw {
                dt,
                peer: p,
                prefix: x,
            } => {
                t = t.plus_secs(i64::from(*dt % 120));
                e.withdraw(t, peer(*p), prefix(*x), 0);
            }
            Op::Session { dt, peer: p, up } => {
                t = t.plus_secs(i64::from(*dt % 120));
                e.peer_state(t, peer(*p), *up);
            }
        }
    }
    e.advance(t.plus_secs(1000));
    let names = |_| None;
    for (n, inc) in e.incidents().iter().enumerate() {
        assert_eq!(inc.id, n as u64 + 1, "ids are sequential");
        assert!(inc.first_seen <= inc.last_seen);
        if inc.kind.name() != "feed-down" {
            assert!(
                !inc.prefixes.is_empty(),
                "a routing incident has at least one prefix"
            );
        }
        assert!(
            !inc.peers.is_empty(),
            "an incident has at least one observer"
        );
        match inc.status {
            IncidentStatus::Resolved => {
                assert_eq!(inc.active, 0);
                let r = inc.resolved_at.expect("resolved_at set");
                assert!(r >= inc.first_seen);
            }
            IncidentStatus::Open => assert!(
                inc.active > 0,
                "a quiet incident resolves after the quiet period"
            ),
        }
        let _ = inc.assess();
    }
    e.incidents()
        .iter()
        .map(|i| i.to_json(&names).to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn engine_is_consistent_and_deterministic(ops in prop::collection::vec(op(), 0..80)) {
        let a = run(&ops);
        let b = run(&ops);
        prop_assert_eq!(a, b);
    }
}
