//! A small leak, for tests that need one incident and no shared data: 16
//! more-specifics of OCN's (AS4713) /16s leaked by AS15169 to AS701, seen
//! by IIJ's (AS2497) router, as MRT files for `bugyo replay` (with the
//! relationships of [`super::serve::AS_REL`]).

use super::{write_rib, write_updates};
use bugyo_formats::mrt::{Nlri, RibEntry, RibKind, UpdateEntry};
use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Timestamp};
use std::path::Path;
use std::sync::Arc;

/// Prefixes leaked: 16 /24s, one in each of OCN's /16s.
pub const LEAKED: u32 = 16;

/// The RIB and the leak, as MRT files in `dir`; gives their paths.
pub fn scenario(dir: &Path) -> (String, String) {
    let iij = Peer::new(Asn(2497), "192.0.2.1".parse().unwrap());
    let t0 = Timestamp::from_secs(1_503_600_000);
    let attrs = |path: &[u32]| {
        Arc::new(PathAttributes {
            origin: Some(bugyo_model::Origin::Igp),
            as_path: AsPath::from_sequence(path.iter().copied()),
            next_hop: Some(iij.addr),
            ..Default::default()
        })
    };
    let rib: Vec<RibEntry> = (0..LEAKED)
        .map(|i| RibEntry {
            time: t0,
            kind: RibKind::TableDumpV2,
            peer: iij,
            prefix: Prefix::v4((60 << 24) | (i << 16), 16).unwrap(),
            path_id: None,
            attrs: attrs(&[2497, 2914, 4713]),
            originated: t0,
        })
        .collect();
    let leak = UpdateEntry {
        time: t0.plus_secs(600),
        extended: true,
        peer: iij,
        announced: (0..LEAKED)
            .map(|i| Nlri {
                prefix: Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap(),
                path_id: None,
            })
            .collect(),
        attrs: Some(attrs(&[2497, 701, 15169, 4713])),
        ..Default::default()
    };
    let rib_path = dir.join("bview.mrt");
    let upd_path = dir.join("updates.mrt");
    write_rib(&rib_path, &rib);
    write_updates(&upd_path, &[leak]);
    (
        rib_path.to_str().unwrap().to_string(),
        upd_path.to_str().unwrap().to_string(),
    )
}
