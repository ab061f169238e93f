//! The portal's tests' world: a small leak of OCN's (AS4713) prefixes by
//! AS15169 to AS701, seen by IIJ's (AS2497) router and withdrawn ten
//! minutes later, replayed into a store; the organisations concerned and
//! not; and a signed-in person of each (their tokens).

use super::serve::AS_REL;
use super::{bugyo, write_updates};
use std::collections::BTreeMap;
use std::path::Path;

/// The leak of [`super::small_leak`], withdrawn ten minutes later, then a
/// quiet hour of ordinary updates so that it resolves.
pub fn replay_leak(dir: &Path, store: &[&str]) {
    use bugyo_formats::mrt::{Nlri, UpdateEntry};
    use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Timestamp};
    let (rib, leak) = super::small_leak::scenario(dir);
    let iij = Peer::new(Asn(2497), "192.0.2.1".parse().unwrap());
    let t0 = Timestamp::from_secs(1_503_600_000);
    let leaked: Vec<Nlri> = (0..super::small_leak::LEAKED)
        .map(|i| Nlri {
            prefix: Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap(),
            path_id: None,
        })
        .collect();
    let ordinary = std::sync::Arc::new(PathAttributes {
        origin: Some(bugyo_model::Origin::Igp),
        as_path: AsPath::from_sequence([2497, 2914, 4713]),
        next_hop: Some(iij.addr),
        ..Default::default()
    });
    let mut later = vec![UpdateEntry {
        time: t0.plus_secs(1_200),
        extended: true,
        peer: iij,
        withdrawn: leaked,
        ..Default::default()
    }];
    for m in 0..8 {
        later.push(UpdateEntry {
            time: t0.plus_secs(1_500 + 600 * m),
            extended: true,
            peer: iij,
            announced: vec![Nlri {
                prefix: Prefix::v4(60 << 24, 16).unwrap(),
                path_id: None,
            }],
            attrs: Some(ordinary.clone()),
            ..Default::default()
        });
    }
    let withdraw = dir.join("withdraw.mrt");
    write_updates(&withdraw, &later);
    let as_rel = dir.join("as-rel.txt");
    std::fs::write(&as_rel, AS_REL).unwrap();
    let mut args = vec![
        "replay",
        "--rib",
        &rib,
        "--as-rel",
        as_rel.to_str().unwrap(),
        "--learning-secs",
        "0",
        "--quiet-secs",
        "300",
        &leak,
        withdraw.to_str().unwrap(),
    ];
    args.extend_from_slice(store);
    bugyo(&args);
}

/// The id `bugyo user add` printed for the user it made.
pub fn user_id(out: &str) -> String {
    out.lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("user id in {out:?}"))
        .to_string()
}

/// The portal password of every person [`populate`] registers; each signs
/// in with `{name}@{org}.example`.
pub const PASSWORD: &str = "bugyo portal passphrase";

/// Organisations, people (each with an e-mail address and [`PASSWORD`])
/// and their tokens.
pub fn populate(store: &[&str]) -> BTreeMap<&'static str, String> {
    let run = |a: &[&str]| {
        let v: Vec<&str> = a.iter().chain(store.iter()).copied().collect();
        bugyo(&v)
    };
    for (handle, name, asn, kind) in [
        ("ocn", "NTT Communications", "4713", "member"),
        ("kddi", "KDDI", "2516", "member"),
        ("soumu", "総務省", "0", "regulator"),
        ("jpnic-hub", "Hub", "0", "hub"),
    ] {
        let mut args = vec![
            "org", "add", "--handle", handle, "--name", name, "--kind", kind,
        ];
        if asn != "0" {
            args.extend(["--asn", asn]);
        }
        if handle == "ocn" {
            // One of the leaked /16s: the dashboard asks the live RIB of it.
            args.extend(["--prefix", "60.0.0.0/16"]);
        }
        run(&args);
    }
    let mut tokens = BTreeMap::new();
    for (who, org, role) in [
        ("ocn", "ocn", "member"),
        ("kddi", "kddi", "member"),
        ("regulator", "soumu", "regulator"),
        ("analyst", "jpnic-hub", "analyst"),
    ] {
        let email = format!("{who}@{org}.example");
        let (out, _) = run(&[
            "user", "add", "--name", who, "--role", role, "--org", org, "--email", &email,
        ]);
        let id = user_id(&out);
        let set: Vec<&str> = ["user", "password", id.as_str()]
            .iter()
            .chain(store.iter())
            .copied()
            .collect();
        let (ok, _, err) = super::try_bugyo_input(&format!("{PASSWORD}\n"), &set);
        assert!(ok, "{err}");
        let (t, _) = run(&["token", "create", "--user", &id]);
        tokens.insert(who, t.trim().to_string());
    }
    tokens
}
