//! BMP decoding of pmacct's regression captures, checked against pmacct's
//! own decodes (`*_output-bmp-00.json`) and the message counts of the data
//! MANIFEST. The pcap reader extracts the BMP TCP streams.

use bugyo_formats::bmp::{self, BmpBody, BmpMessage, BmpStats, RibView};
use bugyo_formats::pcap;
use std::collections::BTreeMap;

/// One unicast route event: (peer, view, prefix, kind, AS path, communities).
type Route = (String, String, String, String, String, String);

fn streams(name: &str) -> Vec<Vec<u8>> {
    let path = bugyo_testdata::data(&format!("pmacct/{name}"));
    let cap = pcap::read_capture_file(&path).expect("capture reads");
    assert!(cap.errors.is_empty(), "{name}: {:?}", cap.errors);
    cap.streams_to_port(1790).map(|s| s.data.clone()).collect()
}

fn decode(name: &str) -> (Vec<BmpMessage>, BmpStats) {
    let mut all = Vec::new();
    let mut total = BmpStats::default();
    for s in streams(name) {
        let (msgs, st) = bmp::decode_all(&s);
        for m in msgs {
            match m {
                Ok(m) => all.push(m),
                Err(e) => assert!(e.fatal, "{name}: unexpected error {e}"),
            }
        }
        total.initiation += st.initiation;
        total.peer_up += st.peer_up;
        total.route_monitoring += st.route_monitoring;
        total.statistics += st.statistics;
        total.peer_down += st.peer_down;
        total.termination += st.termination;
        total.errors += st.errors;
        total.announced += st.announced;
        total.withdrawn += st.withdrawn;
        for (k, v) in st.not_unicast {
            *total.not_unicast.entry(k).or_insert(0) += v;
        }
    }
    (all, total)
}

fn view_name(v: RibView) -> &'static str {
    match v {
        RibView::AdjRibInPre => "Adj-Rib-In Pre-Policy",
        RibView::AdjRibInPost => "Adj-Rib-In Post-Policy",
        RibView::AdjRibOutPre => "Adj-Rib-Out Pre-Policy",
        RibView::AdjRibOutPost => "Adj-Rib-Out Post-Policy",
        RibView::LocRib => "Loc-Rib",
    }
}

/// The peer of a route. For Loc-RIB the per-peer header's AS is the
/// router's own; pmacct reports it as sent for Cisco but as 0 for FRR, so
/// Loc-RIB routes are keyed by the (zero) address alone.
fn who_of(addr: &str, asn: u32, view: &str) -> String {
    if view == "Loc-Rib" {
        addr.to_string()
    } else {
        format!("{addr}/{asn}")
    }
}

fn ours(msgs: &[BmpMessage]) -> BTreeMap<Route, usize> {
    let mut out = BTreeMap::new();
    for m in msgs {
        let (Some(peer), BmpBody::RouteMonitoring(rm)) = (&m.peer, &m.body) else {
            continue;
        };
        let view = view_name(peer.view()).to_string();
        let who = who_of(&peer.addr.to_string(), peer.asn.0, &view);
        for n in &rm.withdrawn {
            let k = (
                who.clone(),
                view.clone(),
                n.prefix.to_string(),
                "withdraw".into(),
                String::new(),
                String::new(),
            );
            *out.entry(k).or_insert(0) += 1;
        }
        let (path, comms) = match &rm.attrs {
            Some(a) => (a.as_path.to_string(), {
                let mut c = a.communities.clone();
                c.sort();
                c.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            }),
            None => (String::new(), String::new()),
        };
        for n in &rm.announced {
            let k = (
                who.clone(),
                view.clone(),
                n.prefix.to_string(),
                "update".into(),
                path.clone(),
                comms.clone(),
            );
            *out.entry(k).or_insert(0) += 1;
        }
    }
    out
}

/// pmacct writes lists either as arrays or as space-separated strings.
fn words(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// Communities in numeric order (pmacct sorts them; the wire need not).
fn sorted_comms(s: &str) -> String {
    let mut v: Vec<(u32, u32)> = s
        .split_whitespace()
        .filter_map(|c| {
            let (a, b) = c.split_once(':')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    v.sort();
    v.iter()
        .map(|(a, b)| format!("{a}:{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn theirs(name: &str) -> BTreeMap<Route, usize> {
    let text =
        std::fs::read_to_string(bugyo_testdata::data(&format!("pmacct/{name}"))).expect("key");
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let o: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let kind = o["log_type"].as_str().unwrap_or("");
        if o["bmp_msg_type"] != "route_monitor" || !(kind == "update" || kind == "withdraw") {
            continue;
        }
        // Only unicast: labeled unicast (4) and VPN (128) are not decoded.
        if o["safi"] != 1 {
            continue;
        }
        let view = o["bmp_rib_type"].as_str().unwrap_or("").to_string();
        let asn = o["peer_asn"].as_u64().unwrap_or(0) as u32;
        let who = who_of(o["peer_ip"].as_str().unwrap_or(""), asn, &view);
        let prefix = o["ip_prefix"].as_str().unwrap_or("").to_string();
        // pmacct fills a withdrawal's attributes from its own RIB; the
        // withdrawal itself carries none.
        let (path, comms) = if kind == "withdraw" {
            (String::new(), String::new())
        } else {
            (words(&o["as_path"]), sorted_comms(&words(&o["comms"])))
        };
        *out.entry((who, view, prefix, kind.to_string(), path, comms))
            .or_insert(0) += 1;
    }
    out
}

fn compare(
    pcap_name: &str,
    key: &str,
    extra: &[(&str, &str)],
) -> (BmpStats, BTreeMap<Route, usize>) {
    let (msgs, stats) = decode(pcap_name);
    let mut a = ours(&msgs);
    for (prefix, kind) in extra {
        let k = a.keys().find(|k| k.2 == *prefix && k.3 == *kind).cloned();
        let k = k.unwrap_or_else(|| panic!("{pcap_name}: expected extra {prefix} {kind}"));
        a.remove(&k);
    }
    let b = theirs(key);
    let only_ours: Vec<_> = a.iter().filter(|(k, v)| b.get(*k) != Some(v)).collect();
    let only_theirs: Vec<_> = b.iter().filter(|(k, v)| a.get(*k) != Some(v)).collect();
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{pcap_name}: ours not theirs {only_ours:#?}\ntheirs not ours {only_theirs:#?}"
    );
    assert!(!a.is_empty());
    (stats, a)
}

fn counts(s: &BmpStats) -> [u64; 6] {
    [
        s.initiation,
        s.peer_up,
        s.route_monitoring,
        s.statistics,
        s.peer_down,
        s.errors,
    ]
}

#[test]
fn huawei_locrib_instance_200() {
    let (s, _) = compare(
        "tests_200-BMP-HUAWEI-locrib_instance_traffic-00.pcap",
        "tests_200-BMP-HUAWEI-locrib_instance_output-bmp-00.json",
        &[],
    );
    assert_eq!(counts(&s), [1, 18, 84, 0, 0, 0]);
    assert!(s.not_unicast.contains_key(&(1, 128)) && s.not_unicast.contains_key(&(2, 4)));
}

#[test]
fn cisco_rd_instance_201() {
    let (s, _) = compare(
        "tests_201-BMP-CISCO-rd_instance_traffic-00.pcap",
        "tests_201-BMP-CISCO-rd_instance_output-bmp-00.json",
        &[],
    );
    assert_eq!(counts(&s), [1, 42, 251, 42, 0, 0]);
    assert!(s.not_unicast.is_empty());
}

#[test]
fn cisco_peer_down_204() {
    let (s, _) = compare(
        "tests_204-BMP-CISCO-peer_down_traffic-00.pcap",
        "tests_204-BMP-CISCO-peer_down_output-bmp-00.json",
        // Two Loc-RIB withdrawals arrive in the IPv4 unicast withdrawn-routes
        // field; pmacct labels a withdrawal with the SAFI of the route it
        // holds for that prefix and distinguisher, here a VPNv4 (128) one,
        // so they fall outside the unicast comparison.
        &[("192.0.2.11/32", "withdraw"), ("192.0.2.73/32", "withdraw")],
    );
    assert_eq!(counts(&s), [1, 10, 301, 28, 3, 0]);
}

#[test]
fn frr_peer_down_205() {
    let (s, _) = compare(
        "tests_205-BMP-6wind-FRR-peer_down_traffic-00.pcap",
        "tests_205-BMP-6wind-FRR-peer_down_output-bmp-00.json",
        &[],
    );
    assert_eq!(counts(&s), [1, 7, 451, 48, 2, 0]);
}

#[test]
fn other_bmp_captures_decode_with_plausible_counts() {
    let cases: &[(&str, [u64; 5])] = &[
        (
            "tests_206-BMP-high-availability_traffic-00.pcap",
            [1, 5, 253, 36, 0],
        ),
        (
            "tests_208-BMP-mem-leak-test_bmp-multi-sources-init.pcap",
            [15, 0, 0, 0, 0],
        ),
        (
            "tests_208-BMP-mem-leak-test_bmp-multi-sources-peer-up.pcap",
            [0, 289, 0, 0, 0],
        ),
        (
            "tests_208-BMP-mem-leak-test_bmp-multi-sources-route-monitoring.pcap",
            [0, 0, 6955, 0, 0],
        ),
        (
            "tests_208-BMP-mem-leak-test_bmp-multi-sources-stats.pcap",
            [0, 0, 0, 3626, 0],
        ),
        (
            "tests_400-IPFIXv10-BMP-CISCO-SRv6-multiple-sources_traffic-00.pcap",
            [1, 7, 156, 14, 0],
        ),
        (
            "tests_401-IPFIXv10-BMP-IPv6-CISCO-MPLS-multiple-sources_traffic-00.pcap",
            [1, 7, 161, 7, 0],
        ),
        (
            "tests_402-IPFIXv10-BMP-IPv6-high-availability_traffic-00.pcap",
            [1, 7, 161, 0, 0],
        ),
        (
            "tests_403-IPFIXv10-BMP-IPv6-CISCO-locrib-peerdown-vrf_traffic-00.pcap",
            [1, 19, 856, 0, 1],
        ),
        (
            "tests_202-BMP-CISCO-HUAWEI-multiple-sources_traffic-00.pcap",
            [1, 18, 84, 0, 0],
        ),
        (
            "tests_202-BMP-CISCO-HUAWEI-multiple-sources_traffic-01.pcap",
            [1, 42, 44, 0, 0],
        ),
    ];
    for (name, want) in cases {
        let (_, s) = decode(name);
        let got = [
            s.initiation,
            s.peer_up,
            s.route_monitoring,
            s.statistics,
            s.peer_down,
        ];
        assert_eq!(&got, want, "{name}");
        assert_eq!(s.errors, 0, "{name}");
    }
    // The third 202 capture was cut inside its last message: everything
    // before it decodes, the cut is one fatal error at the end.
    let (_, s) = decode("tests_202-BMP-CISCO-HUAWEI-multiple-sources_traffic-02.pcap");
    assert_eq!(
        (s.initiation, s.peer_up, s.route_monitoring, s.errors),
        (1, 12, 53, 1)
    );
}
