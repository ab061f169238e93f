//! The archive keeps every entry, rotates by data time, is readable up to
//! the last flush while still being written, and keeps earlier runs' entries
//! when a period's file is reopened, even after a crash left it unfinished.

use bugyo_formats::mrt::{MrtEntry, MrtReader, Nlri, RibEntry, RibKind, UpdateEntry};
use bugyo_io::archive::{file_path, prune, write_rib_snapshot, ArchiveConfig, UpdateArchive};
use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Timestamp};
use bugyo_testdata::scratch;
use std::sync::Arc;

fn update(secs: i64, i: u32) -> MrtEntry {
    let peer = Peer::new(Asn(2497), "192.0.2.1".parse().unwrap());
    MrtEntry::Update(UpdateEntry {
        time: Timestamp {
            secs,
            micros: i % 1000,
        },
        extended: true,
        peer,
        announced: vec![Nlri {
            prefix: Prefix::v4(0x0a00_0000 | (i << 8), 24).unwrap(),
            path_id: None,
        }],
        attrs: Some(Arc::new(PathAttributes {
            as_path: AsPath::from_sequence([2497, 2914, 4713]),
            next_hop: Some(peer.addr),
            ..PathAttributes::default()
        })),
        ..UpdateEntry::default()
    })
}

fn read(path: &std::path::Path) -> Vec<MrtEntry> {
    MrtReader::open(path).unwrap().flatten().collect()
}

#[test]
fn rotates_by_data_time_and_loses_nothing() {
    let dir = scratch("archive-rotate");
    let t0 = 1_503_630_000; // 2017-08-25 03:00:00 UTC
    let entries: Vec<MrtEntry> = (0..900u32).map(|i| update(t0 + i64::from(i), i)).collect();
    let mut a = UpdateArchive::new(ArchiveConfig::new(&dir));
    for e in &entries {
        a.write(e).unwrap();
    }
    a.close().unwrap();
    assert_eq!(a.written(), 900);
    let files: Vec<_> = [0, 300, 600]
        .iter()
        .map(|d| file_path(&dir, "updates", t0 + d))
        .collect();
    assert!(
        files[0].ends_with("2017.08/updates.20170825.0300.gz"),
        "{}",
        files[0].display()
    );
    let mut back = Vec::new();
    for f in &files {
        let got = read(f);
        assert_eq!(got.len(), 300, "{}", f.display());
        back.extend(got);
    }
    assert_eq!(back, entries);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn readable_up_to_the_last_flush_and_reopen_appends() {
    let dir = scratch("archive-flush");
    let t0 = 1_503_630_000;
    let mut a = UpdateArchive::new(ArchiveConfig::new(&dir));
    for i in 0..50u32 {
        a.write(&update(t0 + 1, i)).unwrap();
    }
    a.flush().unwrap();
    let path = a.current_path().unwrap().to_path_buf();
    // Still open: a reader sees everything flushed.
    assert_eq!(read(&path).len(), 50);
    drop(a);
    // A restarted server appends to the same period's file.
    let mut b = UpdateArchive::new(ArchiveConfig::new(&dir));
    for i in 50..80u32 {
        b.write(&update(t0 + 2, i)).unwrap();
    }
    b.close().unwrap();
    assert_eq!(read(&path).len(), 80);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn rib_snapshot_and_retention() {
    let dir = scratch("archive-rib");
    let t = Timestamp::from_secs(1_503_633_600);
    let peer = Peer::new(Asn(2497), "192.0.2.1".parse().unwrap());
    let attrs = Arc::new(PathAttributes {
        as_path: AsPath::from_sequence([2497, 4713]),
        ..PathAttributes::default()
    });
    let routes: Vec<RibEntry> = (0..100u32)
        .map(|i| RibEntry {
            time: t,
            kind: RibKind::TableDumpV2,
            peer,
            prefix: Prefix::v4(0x3c00_0000 | (i << 8), 24).unwrap(),
            path_id: None,
            attrs: attrs.clone(),
            originated: t,
        })
        .collect();
    let path = write_rib_snapshot(&dir, t, &routes).unwrap();
    assert!(path.ends_with("2017.08/bview.20170825.0400.gz"));
    let back: Vec<RibEntry> = read(&path)
        .into_iter()
        .filter_map(|e| {
            if let MrtEntry::Rib(r) = e {
                Some(r)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(back.len(), 100);
    assert_eq!(back[5].prefix, routes[5].prefix);
    let mut cfg = ArchiveConfig::new(&dir);
    assert_eq!(
        prune(&cfg, t.plus_secs(40 * 86_400)).unwrap(),
        0,
        "no retention: keep"
    );
    cfg.retention_days = Some(30);
    assert_eq!(prune(&cfg, t.plus_secs(10 * 86_400)).unwrap(), 0);
    assert_eq!(prune(&cfg, t.plus_secs(40 * 86_400)).unwrap(), 1);
    assert!(!path.exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// A crash (no close, the gzip member unfinished, the last record cut in
/// half) must not hide what the next run appends: the file is repaired
/// first, keeping every complete record.
#[test]
fn a_file_left_by_a_crash_is_repaired_before_appending() {
    let dir = scratch("archive-crash");
    let t0 = 1_503_630_000;
    let mut a = UpdateArchive::new(ArchiveConfig::new(&dir));
    for i in 0..40u32 {
        a.write(&update(t0 + 1, i)).unwrap();
    }
    a.flush().unwrap();
    let path = a.current_path().unwrap().to_path_buf();
    // The crash: never closed.
    std::mem::forget(a);
    // ...and a torn write after the last sync point: garbage deflate bytes.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(&[0x55; 37]).unwrap();
    }
    let mut b = UpdateArchive::new(ArchiveConfig::new(&dir));
    for i in 40..70u32 {
        b.write(&update(t0 + 2, i)).unwrap();
    }
    b.close().unwrap();
    let back = read(&path);
    assert_eq!(back.len(), 70, "all 40 flushed entries and the 30 new ones");
    assert_eq!(back[0], update(t0 + 1, 0));
    assert_eq!(back[69], update(t0 + 2, 69));
    // bgpdump, the reference reader, agrees.
    let out = std::process::Command::new(bugyo_testdata::gobgp::binary("bgpdump"))
        .arg("-m")
        .arg(&path)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(lines, 70, "{}", String::from_utf8_lossy(&out.stderr));
    // A whole file is left alone.
    assert_eq!(bugyo_io::archive::repair(&path).unwrap(), None);
    let _ = std::fs::remove_dir_all(dir);
}
