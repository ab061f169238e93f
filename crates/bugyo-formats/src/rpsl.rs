//! IRR data: RPSL dumps (RFC 2622, RFC 4012) such as `radb.db.gz`,
//! `ripe.db.route.gz` or `jpirr.db.gz`, and ARIN's origin-AS JSON dump.
//!
//! **RPSL.** Objects are separated by blank (or all-blank) lines; an attribute is
//! `name: value`, continued on lines that start with a space, a tab or `+`.
//! Lines starting with `#` or `%` are comments, and `#` ends a value's text.
//! Attribute names are case-insensitive. One file may hold objects of many
//! registries: an object's `source:` attribute names its registry, and the
//! caller's default source (e.g. from the file name, see
//! [`source_from_path`]) is used when it has none. Extracted classes:
//!
//! * `route` / `route6`: prefix and `origin` → [`RouteObject`];
//! * `aut-num`: AS number and `as-name` → [`AutNum`];
//! * `as-set`: `members` and `mp-members` (ASNs and set names, separated by
//!   commas or spaces, over any number of lines and attributes) → [`AsSet`].
//!
//! Every other class is passed over after its first line, without looking
//! at its attributes. A malformed object (a line that is not an attribute, a
//! bad prefix or ASN, a missing or repeated `origin`, an IPv6 prefix in a
//! `route`) is skipped and reported with the line it starts on; a bad member
//! of an as-set is dropped and reported, and the rest of the set is kept.
//! Lines are read as bytes into one reused buffer (remarks in Latin-1 do no
//! harm). Routes are returned sorted and deduplicated.
//!
//! **ARIN origin-AS.** ARIN publishes the `originas` of its registered
//! networks as JSON (`{"source":"ARIN-WHOIS","whois_records":{"v4":[{"prefix":
//! "3.0.0.0/15","originas":"AS38895",…}],"v6":[…]}}`); [`load_arin_originas`]
//! turns it into route objects with source `ARIN-WHOIS`.
//!
//! [`AsSetIndex`] resolves an as-set to its ASNs recursively, safe against
//! cycles and bounded in depth.

use crate::input;
use crate::report::{
    parse_asn, parse_prefix_strict, trim_bytes, LineReader, ParseReport, Position,
};
use crate::rpki::json::{self, J};
use bugyo_model::{Afi, AsSet, Asn, AutNum, RouteObject};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, BufRead};
use std::path::Path;

/// What an IRR dump holds that bugyo uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IrrData {
    /// `route` and `route6` objects, sorted and deduplicated.
    pub routes: Vec<RouteObject>,
    /// `aut-num` objects, in file order.
    pub aut_nums: Vec<AutNum>,
    /// `as-set` objects, in file order; names are upper case.
    pub as_sets: Vec<AsSet>,
}

impl IrrData {
    /// Adds another dump's data (several IRRs loaded into one set).
    pub fn merge(&mut self, other: IrrData) {
        self.routes.extend(other.routes);
        self.routes.sort_unstable_by(route_order);
        self.routes.dedup();
        self.aut_nums.extend(other.aut_nums);
        self.as_sets.extend(other.as_sets);
    }
}

fn route_order(a: &RouteObject, b: &RouteObject) -> std::cmp::Ordering {
    (a.prefix, a.origin, &a.source).cmp(&(b.prefix, b.origin, &b.source))
}

/// Guesses a registry name from a dump's file name: `radb.db.gz` → `RADB`,
/// `ripe.db.route6.gz` → `RIPE`, `/data/JPIRR.db` → `JPIRR`.
pub fn source_from_path(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("");
    if stem.is_empty() {
        "UNKNOWN".to_string()
    } else {
        stem.to_ascii_uppercase()
    }
}

/// Loads an RPSL dump (plain or compressed). `default_source` names the
/// registry of objects that have no `source:` attribute.
pub fn load(path: &Path, default_source: &str) -> io::Result<(IrrData, ParseReport)> {
    Ok(parse_reader(input::open(path)?, default_source))
}

/// Parses RPSL text held in a string.
pub fn parse_str(s: &str, default_source: &str) -> (IrrData, ParseReport) {
    parse_reader(s.as_bytes(), default_source)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    /// Between objects.
    None,
    Route,
    Route6,
    AutNum,
    AsSet,
    /// A class we do not extract.
    Other,
    /// An object whose first line is not an attribute.
    Garbage,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Route => "route",
            Class::Route6 => "route6",
            Class::AutNum => "aut-num",
            Class::AsSet => "as-set",
            Class::None | Class::Other | Class::Garbage => "object",
        }
    }
}

/// Which buffer a (continued) attribute value goes to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attr {
    Key,
    Origin,
    Source,
    AsName,
    Members,
    Ignore,
}

/// The object being read; its buffers are reused from object to object.
struct Obj {
    class: Class,
    start: u64,
    attr: Attr,
    key: String,
    origin: String,
    origins: u32,
    source: String,
    as_name: String,
    members: String,
    broken: Option<(u64, String)>,
}

impl Obj {
    fn new() -> Self {
        Obj {
            class: Class::None,
            start: 0,
            attr: Attr::Ignore,
            key: String::new(),
            origin: String::new(),
            origins: 0,
            source: String::new(),
            as_name: String::new(),
            members: String::new(),
            broken: None,
        }
    }

    fn reset(&mut self) {
        self.class = Class::None;
        self.attr = Attr::Ignore;
        self.key.clear();
        self.origin.clear();
        self.origins = 0;
        self.source.clear();
        self.as_name.clear();
        self.members.clear();
        self.broken = None;
    }

    fn break_at(&mut self, line: u64, reason: String) {
        if self.broken.is_none() {
            self.broken = Some((line, reason));
        }
    }

    fn append(&mut self, value: &[u8]) {
        let buf = match self.attr {
            Attr::Key => &mut self.key,
            Attr::Origin => &mut self.origin,
            Attr::Source => &mut self.source,
            Attr::AsName => &mut self.as_name,
            Attr::Members => &mut self.members,
            Attr::Ignore => return,
        };
        let v = trim_bytes(strip_comment(value));
        if v.is_empty() {
            return;
        }
        if !buf.is_empty() {
            buf.push(if self.attr == Attr::Members { ',' } else { ' ' });
        }
        match std::str::from_utf8(v) {
            Ok(s) => buf.push_str(s),
            Err(_) => buf.push_str(&String::from_utf8_lossy(v)),
        }
    }
}

fn strip_comment(v: &[u8]) -> &[u8] {
    match v.iter().position(|&b| b == b'#') {
        Some(i) => &v[..i],
        None => v,
    }
}

fn valid_attr_name(n: &[u8]) -> bool {
    !n.is_empty()
        && n.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses RPSL from a (decompressed) reader.
pub fn parse_reader<R: BufRead>(reader: R, default_source: &str) -> (IrrData, ParseReport) {
    let mut report = ParseReport::new("RPSL");
    let mut data = IrrData::default();
    let default_source = default_source.trim().to_ascii_uppercase();
    let mut obj = Obj::new();
    let mut lines = LineReader::new(reader);
    while let Some((n, line)) = lines.next_line(&mut report) {
        let first = match line.iter().position(|b| !b.is_ascii_whitespace()) {
            None => {
                finish(&mut obj, &default_source, &mut data, &mut report);
                continue;
            }
            Some(i) => line[i],
        };
        if obj.class == Class::Other || obj.class == Class::Garbage {
            continue;
        }
        let lead = line[0];
        if lead == b'#' || lead == b'%' || (first == b'#' && obj.class == Class::None) {
            continue;
        }
        if lead == b' ' || lead == b'\t' || lead == b'+' {
            if obj.class == Class::None {
                obj.class = Class::Garbage;
                obj.start = n;
                obj.break_at(n, "continuation line outside an object".into());
            } else {
                obj.append(&line[1..]);
            }
            continue;
        }
        let Some(colon) = line
            .iter()
            .position(|&b| b == b':')
            .filter(|&i| valid_attr_name(&line[..i]))
        else {
            if obj.class == Class::None {
                obj.class = Class::Garbage;
                obj.start = n;
            }
            obj.break_at(n, format!("line {n} is not an RPSL attribute"));
            continue;
        };
        let name = &line[..colon];
        let value = &line[colon + 1..];
        if obj.class == Class::None {
            obj.start = n;
            obj.class = match name.to_ascii_lowercase().as_slice() {
                b"route" => Class::Route,
                b"route6" => Class::Route6,
                b"aut-num" => Class::AutNum,
                b"as-set" => Class::AsSet,
                _ => Class::Other,
            };
            if obj.class == Class::Other {
                continue;
            }
            obj.attr = Attr::Key;
            obj.append(value);
            continue;
        }
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        obj.attr = if is(obj.class.name()) {
            obj.break_at(
                n,
                format!(
                    "a second {}: attribute on line {n} (missing blank line?)",
                    obj.class.name()
                ),
            );
            Attr::Ignore
        } else if is("source") {
            if !obj.source.is_empty() {
                obj.break_at(n, format!("a second source: attribute on line {n}"));
            }
            Attr::Source
        } else {
            match obj.class {
                Class::Route | Class::Route6 if is("origin") => {
                    obj.origins += 1;
                    Attr::Origin
                }
                Class::AutNum if is("as-name") => Attr::AsName,
                Class::AsSet if is("members") || is("mp-members") => Attr::Members,
                _ => Attr::Ignore,
            }
        };
        obj.append(value);
    }
    finish(&mut obj, &default_source, &mut data, &mut report);
    let before = data.routes.len();
    data.routes.sort_unstable_by(route_order);
    data.routes.dedup();
    report.ignored += (before - data.routes.len()) as u64;
    (data, report)
}

/// Ends the current object: builds it, or skips and reports it.
fn finish(obj: &mut Obj, default_source: &str, data: &mut IrrData, report: &mut ParseReport) {
    match obj.class {
        Class::None => return,
        Class::Other => report.ignored += 1,
        Class::Garbage => {
            report.record();
            let reason = obj
                .broken
                .take()
                .map(|(_, r)| r)
                .unwrap_or_else(|| "not an RPSL object".into());
            report.skip(Position::line(obj.start), reason);
        }
        class => {
            report.record();
            let pos =
                || Position::line(obj.start).with_path(format!("{} {}", class.name(), obj.key));
            if let Some((_, reason)) = &obj.broken {
                report.skip(pos(), reason.clone());
            } else {
                let source = if obj.source.trim().is_empty() {
                    default_source.to_string()
                } else {
                    obj.source.trim().to_ascii_uppercase()
                };
                match build(obj, class, source, data, report) {
                    Ok(()) => {}
                    Err(e) => report.skip(pos(), e),
                }
            }
        }
    }
    obj.reset();
}

fn build(
    obj: &Obj,
    class: Class,
    source: String,
    data: &mut IrrData,
    report: &mut ParseReport,
) -> Result<(), String> {
    match class {
        Class::Route | Class::Route6 => {
            let prefix = parse_prefix_strict(&obj.key)?;
            let want = if class == Class::Route {
                Afi::Ipv4
            } else {
                Afi::Ipv6
            };
            if prefix.afi() != want {
                return Err(format!(
                    "{prefix} is not an {} prefix",
                    if want == Afi::Ipv4 { "IPv4" } else { "IPv6" }
                ));
            }
            let origin = match obj.origins {
                0 => return Err("no origin: attribute".into()),
                1 => parse_asn(&obj.origin)?,
                k => return Err(format!("{k} origin: attributes")),
            };
            data.routes.push(RouteObject {
                prefix,
                origin,
                source,
            });
        }
        Class::AutNum => {
            let asn = parse_asn(&obj.key)?;
            data.aut_nums.push(AutNum {
                asn,
                name: obj.as_name.trim().to_string(),
                source,
            });
        }
        Class::AsSet => {
            let name = obj.key.trim().to_ascii_uppercase();
            if !valid_set_name(&name) {
                return Err(format!("not an as-set name: {:?}", obj.key));
            }
            let mut asns = Vec::new();
            let mut sets = Vec::new();
            for tok in obj
                .members
                .split(|c: char| c == ',' || c.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
            {
                let t = tok.to_ascii_uppercase();
                if is_asn_token(&t) {
                    match parse_asn(&t) {
                        Ok(a) => asns.push(a),
                        Err(e) => report.problem(
                            Position::line(obj.start).with_path(format!("as-set {name}")),
                            e,
                        ),
                    }
                } else if valid_set_name(&t) {
                    sets.push(t);
                } else {
                    report.problem(
                        Position::line(obj.start).with_path(format!("as-set {name}")),
                        format!(
                            "member {tok:?} is neither an AS number nor an as-set name; dropped"
                        ),
                    );
                }
            }
            asns.sort_unstable();
            asns.dedup();
            sets.sort_unstable();
            sets.dedup();
            data.as_sets.push(AsSet {
                name,
                asns,
                sets,
                source,
            });
        }
        Class::None | Class::Other | Class::Garbage => {}
    }
    Ok(())
}

/// `AS` followed by digits (or asdot `AS1.10`), upper case.
fn is_asn_token(t: &str) -> bool {
    t.strip_prefix("AS").is_some_and(|d| {
        !d.is_empty()
            && d.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && d.as_bytes()[0] != b'.'
    })
}

/// An as-set name (RFC 2622 §5.1, hierarchical names §5.6): colon-separated
/// components, each an ASN or `AS-…`, at least one of them `AS-…`. Upper case.
fn valid_set_name(n: &str) -> bool {
    let mut has_set = false;
    for c in n.split(':') {
        if let Some(rest) = c.strip_prefix("AS-") {
            if rest.is_empty()
                || !rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return false;
            }
            has_set = true;
        } else if !is_asn_token(c) {
            return false;
        }
    }
    has_set
}

// ---------------------------------------------------------------- as-set resolution

/// The default bound on as-set nesting for [`AsSetIndex::resolve`].
pub const DEFAULT_MAX_DEPTH: usize = 20;

/// The ASNs an as-set stands for, and what got in the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsSetResolution {
    /// All member ASNs, directly or through nested sets, sorted.
    pub asns: Vec<Asn>,
    /// How many distinct sets were expanded (the root included).
    pub sets_expanded: usize,
    /// Set names that are referenced but not in the index, sorted.
    pub missing: Vec<String>,
    /// True if some sets lay deeper than the depth bound and were not
    /// expanded.
    pub depth_exceeded: bool,
}

/// as-sets by name, for recursive resolution. A name defined by several
/// registries resolves to the union of their definitions.
#[derive(Clone, Debug, Default)]
pub struct AsSetIndex<'a> {
    by_name: HashMap<String, Vec<&'a AsSet>>,
}

impl<'a> AsSetIndex<'a> {
    /// Indexes the given sets by (upper-case) name.
    pub fn new(sets: &'a [AsSet]) -> Self {
        let mut by_name: HashMap<String, Vec<&'a AsSet>> = HashMap::with_capacity(sets.len());
        for s in sets {
            by_name
                .entry(s.name.to_ascii_uppercase())
                .or_default()
                .push(s);
        }
        AsSetIndex { by_name }
    }

    /// The definitions of a set (one per registry that has it).
    pub fn get(&self, name: &str) -> &[&'a AsSet] {
        self.by_name
            .get(&name.trim().to_ascii_uppercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Resolves a set to its ASNs, breadth first: each set is expanded at
    /// most once (so cycles end), and sets more than `max_depth` levels
    /// below the root are not expanded (`depth_exceeded` says so).
    pub fn resolve(&self, name: &str, max_depth: usize) -> AsSetResolution {
        let mut out = AsSetResolution::default();
        let mut asns = HashSet::new();
        let mut seen = HashSet::new();
        let mut missing = HashSet::new();
        let mut queue = VecDeque::new();
        let root = name.trim().to_ascii_uppercase();
        seen.insert(root.clone());
        queue.push_back((root, 0usize));
        while let Some((set, depth)) = queue.pop_front() {
            let defs = self.get(&set);
            if defs.is_empty() {
                missing.insert(set);
                continue;
            }
            if depth > max_depth {
                out.depth_exceeded = true;
                continue;
            }
            out.sets_expanded += 1;
            for d in defs {
                asns.extend(d.asns.iter().copied());
                for m in &d.sets {
                    if seen.insert(m.clone()) {
                        queue.push_back((m.clone(), depth + 1));
                    }
                }
            }
        }
        out.asns = asns.into_iter().collect();
        out.asns.sort_unstable();
        out.missing = missing.into_iter().collect();
        out.missing.sort_unstable();
        out
    }
}

// ---------------------------------------------------------------- ARIN origin-AS

/// The source given to routes from ARIN's origin-AS dump.
pub const ARIN_WHOIS_SOURCE: &str = "ARIN-WHOIS";

/// Loads ARIN's origin-AS JSON dump (plain or compressed) as route objects
/// with source `ARIN-WHOIS`. A record whose `originas` lists several ASes
/// gives one route per AS. Routes are sorted and deduplicated; the report
/// counts records (networks) read.
pub fn load_arin_originas(path: &Path) -> io::Result<(Vec<RouteObject>, ParseReport)> {
    let bytes = input::read_all(path)?;
    Ok(parse_arin_originas(&bytes))
}

/// Parses ARIN's origin-AS JSON dump held in memory.
pub fn parse_arin_originas(bytes: &[u8]) -> (Vec<RouteObject>, ParseReport) {
    let mut report = ParseReport::new("ARIN origin-AS JSON");
    let mut routes = Vec::new();
    let want =
        |p: &[String]| matches!(p, [w, f] if w == "whois_records" && (f == "v4" || f == "v6"));
    let mut saw = false;
    let res = json::walk_arrays(bytes, &want, &mut |path, i, v| {
        saw = true;
        report.record();
        let v6 = path[1] == "v6";
        if let Err(e) = arin_record(&v, v6, &mut routes) {
            report.skip(Position::path(format!("whois_records.{}[{i}]", path[1])), e);
        }
    });
    match res {
        Ok(_) if !saw => report.fail(Position::default(), "no whois_records.v4 or .v6 array"),
        Ok(_) => {}
        Err(e) => report.fail(
            Position::line_column(e.line() as u64, e.column() as u64),
            format!("JSON: {e}"),
        ),
    }
    let before = routes.len();
    routes.sort_unstable_by(route_order);
    routes.dedup();
    report.ignored += (before - routes.len()) as u64;
    (routes, report)
}

fn arin_record(v: &J, v6: bool, routes: &mut Vec<RouteObject>) -> Result<(), String> {
    let prefix = match v.get("prefix") {
        Some(J::S(s)) => parse_prefix_strict(s)?,
        Some(other) => return Err(format!("prefix is {}", other.kind())),
        None => return Err("no \"prefix\"".into()),
    };
    if (prefix.afi() == Afi::Ipv6) != v6 {
        return Err(format!("{prefix} is in the wrong list"));
    }
    let origins = match v.get("originas") {
        Some(J::S(s)) => s
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|t| !t.is_empty())
            .map(parse_asn)
            .collect::<Result<Vec<_>, _>>()?,
        Some(J::U(n)) => vec![Asn(
            u32::try_from(*n).map_err(|_| format!("AS number {n} is out of range"))?
        )],
        Some(other) => return Err(format!("originas is {}", other.kind())),
        None => return Err("no \"originas\"".into()),
    };
    if origins.is_empty() {
        return Err("empty originas".into());
    }
    for origin in origins {
        routes.push(RouteObject {
            prefix,
            origin,
            source: ARIN_WHOIS_SOURCE.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
% comment from a whois server
# a comment

route:          192.0.2.0/24
descr:          Example # with a comment
origin:         AS64500   # trailing comment
mnt-by:         MAINT-EX
source:         RADB

route6:         2001:DB8::/32
origin:         as64501
remarks:        no source: uses the default

ROUTE:          198.51.100.0/24
Origin:         AS64502
source:         ripe # Filtered

as-set:         AS-EXAMPLE
descr:          continuation lines
members:        AS64500, AS64501
                AS-OTHER,
+               AS65000:AS-CUSTOMERS AS64502
\tAS64503  # tab continuation
mp-members:     AS64504
members:        bogus!, AS-
source:         JPIRR

aut-num:        AS3257
as-name:        GTT-BACKBONE
import:         from AS12 accept AS12
source:         RIPE

mntner:         MAINT-EX
auth:           CRYPT-PW xxx
source:         RADB

route:          203.0.113.0/24
source:         RADB

route:          203.0.113.0/33
origin:         AS1

route:          2001:db8::/48
origin:         AS1

route:          203.0.113.0/24
origin:         AS1
origin:         AS2

route:          203.0.113.0/24
origin:         AS1
this is not an attribute

route:          203.0.113.0/24
origin:         AS1
route:          203.0.112.0/24
origin:         AS2

   indented garbage

route:          10.0.0.0/8
origin:         ASX

route:          10.0.0.0/8
origin:         AS64510";

    #[test]
    fn extracts_routes_sets_and_aut_nums_and_reports_broken_objects() {
        let (d, r) = parse_str(SAMPLE, "test");
        let routes: Vec<String> = d
            .routes
            .iter()
            .map(|r| format!("{} {} {}", r.prefix, r.origin, r.source))
            .collect();
        assert_eq!(
            routes,
            vec![
                "10.0.0.0/8 AS64510 TEST",
                "192.0.2.0/24 AS64500 RADB",
                "198.51.100.0/24 AS64502 RIPE",
                "2001:db8::/32 AS64501 TEST",
            ]
        );
        assert_eq!(
            d.aut_nums,
            vec![AutNum {
                asn: Asn(3257),
                name: "GTT-BACKBONE".into(),
                source: "RIPE".into()
            }]
        );
        assert_eq!(d.as_sets.len(), 1);
        let s = &d.as_sets[0];
        assert_eq!(s.name, "AS-EXAMPLE");
        assert_eq!(s.source, "JPIRR");
        assert_eq!(s.asns, (64500..=64504).map(Asn).collect::<Vec<_>>());
        assert_eq!(
            s.sets,
            vec!["AS-OTHER".to_string(), "AS65000:AS-CUSTOMERS".to_string()]
        );
        // 12 extracted-class objects + 1 garbage object; 1 mntner ignored.
        assert_eq!(r.records, 14);
        assert_eq!(r.skipped, 8, "{:#?}", r.errors);
        assert_eq!(r.ignored, 1);
        // two bad as-set members reported, set kept
        assert_eq!(r.error_count, 10);
        let skipped_at: Vec<u64> = r
            .errors
            .iter()
            .filter(|e| !e.reason.contains("member"))
            .map(|e| e.position.line.unwrap())
            .collect();
        assert_eq!(skipped_at, vec![37, 40, 43, 46, 50, 54, 59, 61]);
        assert!(r.errors.iter().any(|e| e.reason.contains("no origin")));
        assert!(r.errors.iter().any(|e| e.reason.contains("2 origin")));
        assert!(r.errors.iter().any(|e| e.reason.contains("not an IPv4")));
        assert!(r
            .errors
            .iter()
            .any(|e| e.reason.contains("missing blank line")));
    }

    #[test]
    fn set_names() {
        assert!(valid_set_name("AS-FOO"));
        assert!(valid_set_name("AS65000:AS-CUSTOMERS"));
        assert!(valid_set_name("AS-ROGERS:AS-CUSTOMERS"));
        assert!(!valid_set_name("AS65000"));
        assert!(!valid_set_name("AS-"));
        assert!(!valid_set_name("FOO"));
        assert!(!valid_set_name("AS65000:FOO:AS-X"));
        assert!(is_asn_token("AS1.10"));
        assert!(!is_asn_token("AS"));
    }

    fn set(name: &str, asns: &[u32], sets: &[&str], source: &str) -> AsSet {
        AsSet {
            name: name.into(),
            asns: asns.iter().map(|&a| Asn(a)).collect(),
            sets: sets.iter().map(|s| s.to_string()).collect(),
            source: source.into(),
        }
    }

    #[test]
    fn resolves_recursively_with_cycles_and_depth_bound() {
        let sets = vec![
            set("AS-A", &[1], &["AS-B", "AS-C"], "RADB"),
            set("AS-B", &[2], &["AS-A", "AS-MISSING"], "RADB"),
            set("AS-C", &[3], &["AS-D"], "RADB"),
            set("AS-C", &[4], &[], "RIPE"),
            set("AS-D", &[5], &["AS-D"], "RADB"),
        ];
        let idx = AsSetIndex::new(&sets);
        let r = idx.resolve("as-a", DEFAULT_MAX_DEPTH);
        assert_eq!(r.asns, [1, 2, 3, 4, 5].map(Asn).to_vec());
        assert_eq!(r.missing, vec!["AS-MISSING".to_string()]);
        assert_eq!(r.sets_expanded, 4);
        assert!(!r.depth_exceeded);
        let r = idx.resolve("AS-A", 1);
        assert_eq!(r.asns, [1, 2, 3, 4].map(Asn).to_vec());
        assert!(r.depth_exceeded);
        assert_eq!(
            idx.resolve("AS-NONE", 5).missing,
            vec!["AS-NONE".to_string()]
        );
    }

    #[test]
    fn arin_originas_shape() {
        let doc = br#"{"source":"ARIN-WHOIS","whois_records":{
            "v4":[{"prefix":"3.0.0.0/15","originas":"AS38895","name":"N"},
                  {"prefix":"3.1.0.0/24","originas":"AS1 AS2"},
                  {"prefix":"2001:db8::/32","originas":"AS1"},
                  {"prefix":"3.2.0.0/24","originas":"ASX"}],
            "v6":[{"prefix":"2620:1fe::/36","originas":"AS14924"}]}}"#;
        let (routes, r) = parse_arin_originas(doc);
        assert_eq!((r.records, r.skipped), (5, 2));
        assert_eq!(routes.len(), 4);
        assert!(routes.iter().all(|r| r.source == ARIN_WHOIS_SOURCE));
        assert_eq!(
            r.errors[0].position.path.as_deref(),
            Some("whois_records.v4[2]")
        );
    }

    #[test]
    fn source_names() {
        assert_eq!(source_from_path(Path::new("/x/radb.db.gz")), "RADB");
        assert_eq!(source_from_path(Path::new("ripe.db.route6.gz")), "RIPE");
    }
}
