//! A normal day stays quiet: real RIS and RouteViews update files replay with
//! no incident above `low` — with the CAIDA relationships of 2016 for the
//! files of 2015-2016, and without relationships for the older ones (whose
//! relationships were different then).

mod common;

use common::*;

fn max_severity(args: &[&str]) -> (usize, Vec<String>) {
    let mut all = vec!["replay", "--format", "json", "--min-severity", "info"];
    all.extend_from_slice(args);
    let (out, _) = bugyo(&all);
    let inc = json_lines(&out);
    let loud: Vec<String> = inc
        .iter()
        .filter(|i| !matches!(i["severity"].as_str(), Some("info" | "low")))
        .map(|i| format!("{} {}", i["severity"], i["summary"]))
        .collect();
    (inc.len(), loud)
}

#[test]
fn recent_files_with_relationships_stay_at_low() {
    let d = data_dir();
    let caida = d.join("caida-asrel/20161101.as-rel.txt.bz2");
    for f in [
        "bgpdump/test_data_updates.20160811.1600.gz",
        "bgpdump/test_data_updates.et-header.2015.gz",
        "caida-bgpstream/test_ris.rrc06.updates.1427846400.gz",
        "caida-bgpstream/test_routeviews.route-views.jinx.updates.1427846400.bz2",
    ] {
        let path = d.join(f);
        let (n, loud) =
            max_severity(&["--as-rel", caida.to_str().unwrap(), path.to_str().unwrap()]);
        eprintln!("{f}: {n} incidents, none above low");
        assert!(loud.is_empty(), "{f}: {loud:#?}");
    }
}

#[test]
fn all_update_files_without_relationships_stay_at_low() {
    let d = data_dir();
    let mut files = Vec::new();
    for sub in ["bgpdump", "bgpkit", "caida-bgpstream"] {
        for e in std::fs::read_dir(d.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.contains("updates") && !name.starts_with("test_expect") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the RIS/RouteViews update files, found {}",
        files.len()
    );
    for path in files {
        let (n, loud) = max_severity(&[path.to_str().unwrap()]);
        eprintln!("{}: {n} incidents", path.display());
        assert!(loud.is_empty(), "{}: {loud:#?}", path.display());
    }
}
