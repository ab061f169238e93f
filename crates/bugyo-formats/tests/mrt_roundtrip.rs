//! Writing MRT and reading it back gives the same entries; bgpdump text
//! read back, written as MRT and dumped again gives the same text.

mod mrt_util;
use bugyo_formats::mrt::bgpdump_text::{parse_line, TextReader};
use bugyo_formats::mrt::{MrtEntry, MrtReader, MrtWriter, RibEntry, RibKind};
use mrt_util::*;
use std::io::Cursor;

fn read_back(bytes: Vec<u8>) -> Vec<MrtEntry> {
    let mut r = MrtReader::new(Cursor::new(bytes));
    let v: Vec<MrtEntry> = r
        .by_ref()
        .map(|e| e.expect("written records read back cleanly"))
        .collect();
    assert_eq!(r.stats().warnings, 0, "{:?}", r.stats().warning_list);
    v
}

fn routes(v: &[MrtEntry]) -> Vec<MrtEntry> {
    v.iter()
        .filter(|e| !matches!(e, MrtEntry::Other { .. } | MrtEntry::Message { .. }))
        .cloned()
        .collect()
}

#[test]
fn updates_round_trip() {
    for f in [
        "bgpdump/test_data_updates.20160811.1600.gz",
        "bgpdump/test_data_updates.long_withdrawal.gz",
        "bgpdump/test_data_updates.20100722.2015.gz",
        "bgpkit/examples_local_only_updates.bz2",
    ] {
        let (orig, _) = entries(f);
        let orig: Vec<MrtEntry> = routes(&orig)
            .into_iter()
            .filter(|e| !matches!(e, MrtEntry::Update(u) if u.multicast || u.legacy))
            .collect();
        let mut w = MrtWriter::new(Vec::new());
        for e in &orig {
            w.write_entry(e).expect("write");
        }
        let back = routes(&read_back(w.into_inner().expect("flush")));
        assert_eq!(back.len(), orig.len(), "{f}");
        for (a, b) in orig.iter().zip(&back) {
            assert_eq!(a, b, "{f}");
        }
    }
}

#[test]
fn ribs_round_trip() {
    for f in [
        "bgpdump/test_data_bview.64k_stream_overflow.gz",
        "bgpdump/test_data_bview.ipv4_unicast_add_path.gz",
        "bgpdump/test_data_bview.ipv6_unicast_add_path.gz",
        "bgpdump/test_data_bview.20020722.2337.gz",
    ] {
        let (orig, _) = entries(f);
        let ribs: Vec<RibEntry> = orig
            .iter()
            .filter_map(|e| match e {
                MrtEntry::Rib(r) => Some(RibEntry {
                    kind: if r.path_id.is_some() {
                        RibKind::TableDumpV2AddPath
                    } else {
                        RibKind::TableDumpV2
                    },
                    ..r.clone()
                }),
                _ => None,
            })
            .collect();
        let mut w = MrtWriter::new(Vec::new());
        w.write_rib_dump(ribs[0].time, &ribs).expect("write");
        let mut back: Vec<RibEntry> = read_back(w.into_inner().expect("flush"))
            .into_iter()
            .filter_map(|e| match e {
                MrtEntry::Rib(r) => Some(r),
                _ => None,
            })
            .collect();
        let mut ribs = ribs;
        let key = |r: &RibEntry| (r.prefix, r.peer, r.path_id);
        ribs.sort_by_key(key);
        back.sort_by_key(key);
        assert_eq!(back.len(), ribs.len(), "{f}");
        for (a, b) in ribs.iter().zip(&back) {
            assert!(a == b, "{f}: {a:?} came back as {b:?}");
        }
    }
}

/// The rrc06 RIB of 2010 exists only as bgpdump text: text -> entries ->
/// MRT -> entries -> text gives the text back, byte for byte.
#[test]
fn bgpdump_text_to_mrt_and_back() {
    let text = read_text("bgpdump/test_expect_bview.20100701.0759.gz.bgp.gz");
    let mut tr = TextReader::new(Cursor::new(text.as_bytes()));
    let ribs: Vec<RibEntry> = tr
        .by_ref()
        .map(|e| match e.expect("every line parses") {
            MrtEntry::Rib(r) => r,
            other => panic!("not a RIB line: {other:?}"),
        })
        .collect();
    assert_eq!(ribs.len(), 641_957);
    assert_eq!(tr.stats().skipped, 0);
    let mut w = MrtWriter::new(Vec::new());
    w.write_rib_dump(ribs[0].time, &ribs).expect("write");
    let back = read_back(w.into_inner().expect("flush"));
    let got = dump_text(&back);
    if let Some((a, b)) = got.lines().zip(text.lines()).find(|(a, b)| a != b) {
        panic!("text differs after the MRT round trip:\n got {a}\nwant {b}");
    }
    assert_eq!(got.len(), text.len());
}

/// Every answer key (update files too) parses back into entries that print
/// as the same text.
#[test]
fn answer_keys_parse_and_print_back() {
    for (_, key) in answer_key_pairs() {
        let text = read_text(&key);
        let entries: Vec<MrtEntry> = TextReader::new(Cursor::new(text.as_bytes()))
            .map(|e| e.expect(&key))
            .collect();
        assert_eq!(dump_text(&entries), text, "{key}");
    }
}

#[test]
fn bad_text_lines_are_reported_with_line_numbers() {
    let text = "BGP4MP|1|A|1.2.3.4|1|10.0.0.0/8|1 2|IGP|1.2.3.4|0|0||NAG||\nnonsense\nBGP4MP|1|W|1.2.3.4|1|10.0.0.0/33\n";
    let mut r = TextReader::new(Cursor::new(text.as_bytes()));
    let v: Vec<_> = r.by_ref().collect();
    assert!(v[0].is_ok());
    assert_eq!(v[1].as_ref().unwrap_err().line, 2);
    assert_eq!(v[2].as_ref().unwrap_err().line, 3);
    assert_eq!(r.stats().skipped, 2);
    assert!(parse_line("TABLE_DUMP2|1|B|1.2.3.4|1|10.0.0.0/8|1 {2,3} (4 5) [6,7]|IGP|1.2.3.4|0|0|no-export 1:2|AG|65000 10.0.0.1|").is_ok());
}

/// Peers seen through BMP-monitored routers keep their router through the
/// archive: in BGP4MP records as local AS 0 with the router's address (an
/// IPv4 router of an IPv6 peer as a mapped address), in a table dump as a
/// PEER_INDEX_TABLE per router named `bmp <router>`. Two routers with a
/// neighbour at the same address stay two peers.
#[test]
fn bmp_peers_keep_their_router() {
    use bugyo_formats::bgp::Nlri;
    use bugyo_formats::mrt::{StateChange, UpdateEntry};
    use bugyo_model::{AsPath, Asn, PathAttributes, Peer, Prefix, Timestamp};
    use std::net::IpAddr;
    use std::sync::Arc;

    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let time = Timestamp::from_secs(1_700_000_000);
    let own = Peer::new(Asn(64500), ip("192.0.2.1"));
    let via_a = own.via(ip("198.51.100.1"));
    let via_b = own.via(ip("198.51.100.2"));
    let v6_via_a = Peer::new(Asn(64501), ip("2001:db8::1")).via(ip("198.51.100.1"));
    let attrs = Arc::new(PathAttributes {
        as_path: AsPath::from_sequence([64500, 64510]),
        next_hop: Some(ip("192.0.2.1")),
        ..Default::default()
    });
    let prefix: Prefix = "203.0.113.0/24".parse().unwrap();
    let mut entries = Vec::new();
    for peer in [own, via_a, via_b, v6_via_a] {
        entries.push(MrtEntry::State(StateChange {
            time,
            extended: true,
            peer,
            old: 1,
            new: 6,
            legacy: false,
        }));
        entries.push(MrtEntry::Update(UpdateEntry {
            time,
            extended: true,
            peer,
            announced: vec![Nlri {
                prefix,
                path_id: None,
            }],
            attrs: Some(Arc::clone(&attrs)),
            ..Default::default()
        }));
    }
    let mut w = MrtWriter::new(Vec::new());
    for e in &entries {
        w.write_entry(e).expect("write");
    }
    let back = routes(&read_back(w.into_inner().expect("flush")));
    assert_eq!(back, entries);

    let rib: Vec<RibEntry> = [via_b, own, via_a, v6_via_a]
        .into_iter()
        .map(|peer| RibEntry {
            time,
            kind: RibKind::TableDumpV2,
            peer,
            prefix,
            path_id: None,
            attrs: Arc::clone(&attrs),
            originated: time,
        })
        .collect();
    let mut w = MrtWriter::new(Vec::new());
    w.write_rib_dump(time, &rib).expect("write");
    let mut peers: Vec<Peer> = routes(&read_back(w.into_inner().expect("flush")))
        .into_iter()
        .map(|e| match e {
            MrtEntry::Rib(r) => r.peer,
            e => panic!("not a RIB entry: {e:?}"),
        })
        .collect();
    peers.sort();
    let mut want = vec![own, via_a, via_b, v6_via_a];
    want.sort();
    assert_eq!(peers, want);
}
