//! RPKI reference data: Validated ROA Payloads (VRPs) and ASPA records, as
//! relying-party software exports them.
//!
//! Accepted formats, recognised from the content (first non-space byte `{`
//! means JSON, anything else CSV), whatever the file's compression:
//!
//! * **rpki-client JSON** (`-j`, `output-json.c`): `"roas":[{"asn":13335,
//!   "prefix":"1.0.0.0/24","maxLength":24,"ta":"apnic","expires":…}]`, and
//!   ASPA as `"aspas":[{"customer_asid":N,"expires":…,"providers":[N,…]}]`
//!   (rpki-client 8.5 and later), the older
//!   `"providers":[{"asid":N,"afi_limit":"ipv4"}]` shape, and the 8.x
//!   `"provider_authorizations":{"ipv4":[…],"ipv6":[…]}` shape;
//! * **Routinator `json` / `jsonext`** and the **RIPE NCC validator JSON**:
//!   `"roas":[{"asn":"AS13335","prefix":…,"maxLength":…,"ta":…}]` (jsonext
//!   has `source` arrays instead of `ta`), ASPA as
//!   `"aspas":[{"customer":"AS1","providers":["AS2",…]}]`, also with an
//!   `afi` field (Routinator 0.13) or `AS2(v4)` provider strings;
//! * **CSV** from Routinator (`csv`, `csvcompat`, `csvext`), rpki-client
//!   and the RIPE NCC validator: `ASN,IP Prefix,Max Length,Trust
//!   Anchor[,Expires]`, with or without a header, quoted or not, ASNs as
//!   `AS13335` or `13335`. A header may put the columns in any order;
//!   without one a line starting with an `rsync://` URI is read as
//!   `csvext` (`URI,ASN,IP Prefix,Max Length,…`). CSV carries no ASPA.
//!
//! ASNs may be numbers or `AS…` strings everywhere. A VRP must have
//! `prefix length <= maxLength <= 32 (IPv4) or 128 (IPv6)` and no host bits
//! set; a missing maxLength means the prefix length. Bad VRPs and ASPAs are
//! skipped and reported with their JSON path (`roas[17]`) or line number.
//! The result is sorted and deduplicated (the same VRP under two trust
//! anchors is one VRP; ASPA records of one customer, e.g. one per address
//! family, are merged). With [`RpkiOptions::now`], records whose `expires`
//! time has passed are dropped and counted in [`RpkiData::expired`].

pub(crate) mod json;

use crate::input;
use crate::report::{
    excerpt, parse_asn, parse_prefix_strict, trim_bytes, LineReader, ParseReport, Position,
};
use bugyo_model::{Afi, Asn, Aspa, Vrp};
use json::J;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// The RPKI data loaded from one or more exports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpkiData {
    /// VRPs, sorted and deduplicated.
    pub vrps: Vec<Vrp>,
    /// ASPA records, one per customer AS, sorted by customer, providers sorted.
    pub aspas: Vec<Aspa>,
    /// VRPs and ASPAs dropped because their `expires` time had passed
    /// (only with [`RpkiOptions::now`]).
    pub expired: u64,
}

/// How to load RPKI data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RpkiOptions {
    /// The current time in Unix seconds. When set, records with an
    /// `expires` time before it are dropped (rpki-client's `expires` says
    /// when a VRP stops being valid if the cache is not refreshed).
    pub now: Option<i64>,
}

/// Loads a VRP/ASPA export, detecting compression and format from the
/// content. Fails only if the file cannot be opened or read; problems in the
/// content are in the report.
pub fn load(path: &Path) -> io::Result<(RpkiData, ParseReport)> {
    load_with(path, &RpkiOptions::default())
}

/// [`load`] with options (e.g. dropping expired records).
pub fn load_with(path: &Path, opts: &RpkiOptions) -> io::Result<(RpkiData, ParseReport)> {
    let bytes = input::read_all(path)?;
    Ok(parse_bytes_with(&bytes, opts))
}

/// Parses an export held in a string.
pub fn parse_str(s: &str) -> (RpkiData, ParseReport) {
    parse_bytes(s.as_bytes())
}

/// Parses an export held in memory (already decompressed).
pub fn parse_bytes(bytes: &[u8]) -> (RpkiData, ParseReport) {
    parse_bytes_with(bytes, &RpkiOptions::default())
}

/// [`parse_bytes`] with options.
pub fn parse_bytes_with(bytes: &[u8], opts: &RpkiOptions) -> (RpkiData, ParseReport) {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut b = Builder::new(*opts);
    let mut report = if trim_bytes(bytes).first() == Some(&b'{') {
        parse_json(bytes, &mut b)
    } else {
        parse_csv(bytes, &mut b)
    };
    let data = b.finish(&mut report);
    (data, report)
}

/// Collects records, drops expired ones, merges ASPAs.
struct Builder {
    opts: RpkiOptions,
    vrps: Vec<Vrp>,
    aspas: BTreeMap<Asn, Vec<Asn>>,
    expired: u64,
}

impl Builder {
    fn new(opts: RpkiOptions) -> Self {
        Builder {
            opts,
            vrps: Vec::new(),
            aspas: BTreeMap::new(),
            expired: 0,
        }
    }

    fn is_expired(&mut self, expires: Option<i64>) -> bool {
        match (self.opts.now, expires) {
            (Some(now), Some(e)) if e < now => {
                self.expired += 1;
                true
            }
            _ => false,
        }
    }

    fn finish(mut self, report: &mut ParseReport) -> RpkiData {
        let before = self.vrps.len();
        self.vrps.sort_unstable();
        self.vrps.dedup();
        report.ignored += (before - self.vrps.len()) as u64 + self.expired;
        let aspas = self
            .aspas
            .into_iter()
            .map(|(customer, mut providers)| {
                providers.sort_unstable();
                providers.dedup();
                Aspa {
                    customer,
                    providers,
                }
            })
            .collect();
        RpkiData {
            vrps: self.vrps,
            aspas,
            expired: self.expired,
        }
    }
}

/// Checks the maxLength rule and builds the VRP.
fn make_vrp(asn: Asn, prefix: bugyo_model::Prefix, max_len: Option<u64>) -> Result<Vrp, String> {
    let family_max: u64 = match prefix.afi() {
        Afi::Ipv4 => 32,
        Afi::Ipv6 => 128,
    };
    let max = max_len.unwrap_or(u64::from(prefix.len()));
    if max < u64::from(prefix.len()) {
        return Err(format!(
            "maxLength {max} is shorter than the prefix {prefix}"
        ));
    }
    if max > family_max {
        return Err(format!(
            "maxLength {max} is longer than {family_max} for {prefix}"
        ));
    }
    // max <= 128 here, so the cast is exact.
    Ok(Vrp {
        prefix,
        max_len: max as u8,
        asn,
    })
}

// ---------------------------------------------------------------- JSON

fn parse_json(bytes: &[u8], b: &mut Builder) -> ParseReport {
    let mut report = ParseReport::new("RPKI JSON");
    let mut flavour = Flavour::default();
    let mut saw_array = false;
    let want = |p: &[String]| {
        matches!(p, [k] if k == "roas" || k == "aspas")
            || matches!(p, [k, f] if k == "provider_authorizations" && (f == "ipv4" || f == "ipv6"))
    };
    let res = json::walk_arrays(bytes, &want, &mut |path, i, v| {
        saw_array = true;
        let where_ = || Position::path(format!("{}[{i}]", path.join(".")));
        if path[0] == "roas" {
            report.record();
            flavour.note_roa(&v);
            match json_vrp(&v) {
                Ok((vrp, expires)) => {
                    if !b.is_expired(expires) {
                        b.vrps.push(vrp);
                    }
                }
                Err(e) => report.skip(where_(), e),
            }
        } else {
            report.record();
            flavour.note_aspa(&v);
            match json_aspa(&v) {
                Ok((customer, providers, expires)) => {
                    if !b.is_expired(expires) {
                        b.aspas.entry(customer).or_default().extend(providers);
                    }
                }
                Err(e) => report.skip(where_(), e),
            }
        }
    });
    match res {
        Ok("object") if !saw_array => report.fail(
            Position::default(),
            "JSON object without a \"roas\" or \"aspas\" array",
        ),
        Ok("object") => {}
        Ok(kind) => report.fail(
            Position::default(),
            format!("expected a JSON object, found {kind}"),
        ),
        Err(e) => report.fail(
            Position::line_column(e.line() as u64, e.column() as u64),
            format!("JSON: {e}"),
        ),
    }
    report.format = flavour.name();
    report
}

/// Which tool's JSON this looks like, from the first records.
#[derive(Default)]
struct Flavour {
    numeric_asn: bool,
    string_asn: bool,
    source: bool,
}

impl Flavour {
    fn note_roa(&mut self, v: &J) {
        match v.get("asn") {
            Some(J::U(_)) => self.numeric_asn = true,
            Some(J::S(_)) => self.string_asn = true,
            _ => {}
        }
        if v.get("source").is_some() {
            self.source = true;
        }
    }
    fn note_aspa(&mut self, v: &J) {
        if v.get("customer_asid").is_some() {
            self.numeric_asn = true;
        }
        if v.get("source").is_some() {
            self.source = true;
        }
    }
    fn name(&self) -> &'static str {
        if self.source {
            "Routinator jsonext"
        } else if self.numeric_asn && !self.string_asn {
            "rpki-client JSON"
        } else if self.string_asn {
            "Routinator/RIPE validator JSON"
        } else {
            "RPKI JSON"
        }
    }
}

fn json_asn(v: &J) -> Result<Asn, String> {
    match v {
        J::U(n) => u32::try_from(*n)
            .map(Asn)
            .map_err(|_| format!("AS number {n} is out of range")),
        J::S(s) => parse_asn(s),
        other => Err(format!("AS number is {}", other.kind())),
    }
}

fn json_u64(v: &J, what: &str) -> Result<u64, String> {
    match v {
        J::U(n) => Ok(*n),
        J::S(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("{what} is not a number: {s:?}")),
        other => Err(format!("{what} is {}", other.kind())),
    }
}

fn json_expires(v: &J) -> Result<Option<i64>, String> {
    match v.get("expires") {
        None | Some(J::Null) => Ok(None),
        Some(J::U(n)) => Ok(Some(i64::try_from(*n).unwrap_or(i64::MAX))),
        Some(J::I(n)) => Ok(Some(*n)),
        Some(other) => Err(format!("expires is {}", other.kind())),
    }
}

fn json_vrp(v: &J) -> Result<(Vrp, Option<i64>), String> {
    if !matches!(v, J::O(_)) {
        return Err(format!("a ROA entry must be an object, not {}", v.kind()));
    }
    let asn = json_asn(v.get("asn").ok_or("no \"asn\"")?)?;
    let prefix = match v.get("prefix") {
        Some(J::S(s)) => parse_prefix_strict(s)?,
        Some(other) => return Err(format!("prefix is {}", other.kind())),
        None => return Err("no \"prefix\"".into()),
    };
    let max_len = match v.get_any(&["maxLength", "max_length", "maxlength"]) {
        None | Some(J::Null) => None,
        Some(m) => Some(json_u64(m, "maxLength")?),
    };
    let vrp = make_vrp(asn, prefix, max_len)?;
    Ok((vrp, json_expires(v)?))
}

/// One provider: a number, `"AS1"`, `"AS1(v4)"` or `{"asid":1,"afi_limit":…}`.
fn json_provider(v: &J) -> Result<Asn, String> {
    match v {
        J::S(s) => {
            let s = s.trim();
            let s = s
                .strip_suffix("(v4)")
                .or_else(|| s.strip_suffix("(v6)"))
                .unwrap_or(s);
            parse_asn(s)
        }
        J::O(_) => json_asn(
            v.get_any(&["asid", "asn", "provider"])
                .ok_or("provider object without \"asid\"")?,
        ),
        other => json_asn(other),
    }
}

type AspaParts = (Asn, Vec<Asn>, Option<i64>);

fn json_aspa(v: &J) -> Result<AspaParts, String> {
    if !matches!(v, J::O(_)) {
        return Err(format!("an ASPA entry must be an object, not {}", v.kind()));
    }
    let customer = json_asn(
        v.get_any(&["customer_asid", "customer", "customer_asn"])
            .ok_or("no \"customer_asid\" or \"customer\"")?,
    )?;
    let providers = match v.get_any(&["providers", "provider_asids"]) {
        Some(J::A(list)) => list
            .iter()
            .enumerate()
            .map(|(i, p)| json_provider(p).map_err(|e| format!("providers[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?,
        Some(other) => return Err(format!("providers is {}", other.kind())),
        None => return Err("no \"providers\"".into()),
    };
    Ok((customer, providers, json_expires(v)?))
}

// ---------------------------------------------------------------- CSV

/// Column numbers of the fields a VRP needs.
#[derive(Clone, Copy)]
struct Columns {
    asn: usize,
    prefix: usize,
    max_len: Option<usize>,
    expires: Option<usize>,
}

const PLAIN: Columns = Columns {
    asn: 0,
    prefix: 1,
    max_len: Some(2),
    expires: None,
};
const EXT: Columns = Columns {
    asn: 1,
    prefix: 2,
    max_len: Some(3),
    expires: None,
};

fn unquote(f: &str) -> &str {
    let f = f.trim();
    f.strip_prefix('"')
        .and_then(|g| g.strip_suffix('"'))
        .unwrap_or(f)
        .trim()
}

/// Reads a header line into columns, if it is one.
fn header_columns(fields: &[&str]) -> Option<Result<Columns, String>> {
    let names: Vec<String> = fields
        .iter()
        .map(|f| unquote(f).to_ascii_lowercase())
        .collect();
    if !names.iter().any(|n| n.contains("prefix")) {
        return None;
    }
    let find = |cands: &[&str]| names.iter().position(|n| cands.contains(&n.as_str()));
    let asn = find(&[
        "asn",
        "as",
        "origin",
        "origin as",
        "origin_as",
        "autonomous system",
    ]);
    let prefix = find(&["ip prefix", "prefix", "ip_prefix"]);
    let max_len = find(&[
        "max length",
        "maxlength",
        "max_length",
        "max prefix length",
        "maxlen",
    ]);
    let expires = find(&["expires"]);
    Some(match (asn, prefix) {
        (Some(asn), Some(prefix)) => Ok(Columns {
            asn,
            prefix,
            max_len,
            expires,
        }),
        _ => Err(format!(
            "CSV header without ASN and prefix columns: {:?}",
            fields.join(",")
        )),
    })
}

/// Columns beyond this many are ignored.
const MAX_FIELDS: usize = 16;

fn parse_csv(bytes: &[u8], b: &mut Builder) -> ParseReport {
    let mut report = ParseReport::new("RPKI CSV");
    let mut cols: Option<Columns> = None;
    let mut first = true;
    let mut lines = LineReader::new(bytes);
    while let Some((n, raw)) = lines.next_line(&mut report) {
        let line = trim_bytes(raw);
        if line.is_empty() || line[0] == b'#' {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            report.record();
            report.skip(
                Position::line(n),
                format!("not UTF-8 text: {}", excerpt(line)),
            );
            continue;
        };
        let mut arr = [""; MAX_FIELDS];
        let mut k = 0;
        for f in text.split(',').take(MAX_FIELDS) {
            arr[k] = f;
            k += 1;
        }
        let fields = &arr[..k];
        if first {
            first = false;
            match header_columns(fields) {
                Some(Ok(c)) => {
                    cols = Some(c);
                    continue;
                }
                Some(Err(e)) => {
                    report.fail(Position::line(n), e);
                    break;
                }
                None => {}
            }
        }
        report.record();
        let c = cols.unwrap_or(if unquote(fields[0]).starts_with("rsync://") {
            EXT
        } else {
            PLAIN
        });
        match csv_vrp(fields, c) {
            Ok((vrp, expires)) => {
                if !b.is_expired(expires) {
                    b.vrps.push(vrp);
                }
            }
            Err(e) => report.skip(Position::line(n), e),
        }
    }
    report
}

fn csv_vrp(fields: &[&str], c: Columns) -> Result<(Vrp, Option<i64>), String> {
    let get = |i: usize, what: &str| {
        fields
            .get(i)
            .map(|f| unquote(f))
            .ok_or_else(|| format!("no {what} column"))
    };
    let asn = parse_asn(get(c.asn, "ASN")?)?;
    let prefix = parse_prefix_strict(get(c.prefix, "prefix")?)?;
    let max_len = match c.max_len.and_then(|i| fields.get(i)).map(|f| unquote(f)) {
        None | Some("") => None,
        Some(m) => Some(
            m.parse::<u64>()
                .map_err(|_| format!("max length is not a number: {m:?}"))?,
        ),
    };
    let expires = match c.expires.and_then(|i| fields.get(i)).map(|f| unquote(f)) {
        None | Some("") => None,
        Some(e) => Some(
            e.parse::<i64>()
                .map_err(|_| format!("expires is not a number: {e:?}"))?,
        ),
    };
    Ok((make_vrp(asn, prefix, max_len)?, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vrp(asn: u32, p: &str, max: u8) -> Vrp {
        Vrp {
            prefix: p.parse().unwrap(),
            max_len: max,
            asn: Asn(asn),
        }
    }

    #[test]
    fn rpki_client_json_with_aspa() {
        let doc = r#"{"metadata":{"buildmachine":"x","roas":2},
          "roas":[{"asn":13335,"prefix":"1.0.0.0/24","maxLength":24,"ta":"apnic","expires":100},
                  {"asn":13335,"prefix":"2606:4700::/32","maxLength":48,"ta":"arin","expires":300}],
          "bgpsec_keys":[],
          "aspas":[{"customer_asid":64496,"expires":200,"providers":[64499,64497]}]}"#;
        let (d, r) = parse_str(doc);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.format, "rpki-client JSON");
        assert_eq!(
            d.vrps,
            vec![
                vrp(13335, "1.0.0.0/24", 24),
                vrp(13335, "2606:4700::/32", 48)
            ]
        );
        assert_eq!(
            d.aspas,
            vec![Aspa {
                customer: Asn(64496),
                providers: vec![Asn(64497), Asn(64499)]
            }]
        );

        let (d, r) = parse_bytes_with(doc.as_bytes(), &RpkiOptions { now: Some(250) });
        assert_eq!((d.vrps.len(), d.aspas.len(), d.expired), (1, 0, 2));
        assert_eq!(r.ignored, 2);
    }

    #[test]
    fn rpki_client_old_aspa_shapes() {
        let doc = r#"{"roas":[],"aspas":[{"customer_asid":1,"expires":5,
            "providers":[{"asid":2,"afi_limit":"ipv4"},{"asid":3}]}]}"#;
        let (d, r) = parse_str(doc);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(d.aspas[0].providers, vec![Asn(2), Asn(3)]);

        let doc = r#"{"roas":[],"provider_authorizations":{
            "ipv4":[{"customer_asid":1,"providers":[2]}],
            "ipv6":[{"customer_asid":1,"providers":[4]}]}}"#;
        let (d, r) = parse_str(doc);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(
            d.aspas,
            vec![Aspa {
                customer: Asn(1),
                providers: vec![Asn(2), Asn(4)]
            }]
        );
    }

    #[test]
    fn routinator_json_and_jsonext() {
        let doc = r#"{"metadata":{"generated":0},
          "roas":[{"asn":"AS1234","prefix":"12.34.56.0/24","maxLength":24,"ta":"N/A"}],
          "aspas":[{"customer":"AS1234","afi":"ipv4","providers":["AS1","AS2(v4)"],"ta":"ripe"},
                   {"customer":"AS1234","afi":"ipv6","providers":["AS3"],"ta":"ripe"}]}"#;
        let (d, r) = parse_str(doc);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.format, "Routinator/RIPE validator JSON");
        assert_eq!(d.vrps, vec![vrp(1234, "12.34.56.0/24", 24)]);
        assert_eq!(d.aspas[0].providers, vec![Asn(1), Asn(2), Asn(3)]);

        let ext = r#"{"roas":[{"asn":"AS1234","prefix":"12.34.56.0/24","maxLength":24,
            "source":[{"type":"roa","uri":"rsync://x/y.roa","validity":{"notBefore":"a","notAfter":"b"}}]}],
            "aspas":[{"customer":"AS1234","providers":["AS1"],"source":[{"type":"exception","path":null}]}]}"#;
        let (d, r) = parse_str(ext);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.format, "Routinator jsonext");
        assert_eq!((d.vrps.len(), d.aspas.len()), (1, 1));
    }

    #[test]
    fn bad_json_records_are_skipped_with_their_path() {
        let doc = r#"{"roas":[
            {"asn":"AS1","prefix":"10.0.0.0/8","maxLength":7},
            {"asn":"AS1","prefix":"10.0.0.0/8","maxLength":33},
            {"asn":"ASX","prefix":"10.0.0.0/8","maxLength":8},
            {"asn":4294967296,"prefix":"10.0.0.0/8","maxLength":8},
            {"asn":1,"prefix":"10.0.0.1/8","maxLength":8},
            {"asn":1,"prefix":"2001:db8::/32","maxLength":129},
            [1,2],
            {"asn":1,"prefix":"10.0.0.0/8"},
            {"asn":1,"prefix":"10.0.0.0/8","maxLength":"16"}],
          "aspas":[{"customer_asid":1,"providers":["x"]},{"customer_asid":1,"providers":[2]}]}"#;
        let (d, r) = parse_str(doc);
        assert_eq!(r.records, 11);
        assert_eq!(r.skipped, 8);
        assert_eq!(r.errors[0].position.path.as_deref(), Some("roas[0]"));
        assert!(
            r.errors[0].reason.contains("maxLength 7"),
            "{}",
            r.errors[0]
        );
        assert_eq!(r.errors[6].position.path.as_deref(), Some("roas[6]"));
        assert_eq!(r.errors[7].position.path.as_deref(), Some("aspas[0]"));
        assert_eq!(
            d.vrps,
            vec![vrp(1, "10.0.0.0/8", 8), vrp(1, "10.0.0.0/8", 16)]
        );
        assert_eq!(d.aspas.len(), 1);
    }

    #[test]
    fn truncated_json_keeps_what_came_before() {
        let doc = r#"{"roas":[{"asn":1,"prefix":"10.0.0.0/8","maxLength":8},{"asn":2,"pre"#;
        let (d, r) = parse_str(doc);
        assert_eq!(d.vrps.len(), 1);
        assert!(r.fatal.is_some());
        let (_, r) = parse_str(r#"{"foo":1}"#);
        assert!(r.fatal.is_some());
        let (_, r) = parse_str("{");
        assert!(r.fatal.is_some());
    }

    #[test]
    fn csv_flavours() {
        let routinator = "ASN,IP Prefix,Max Length,Trust Anchor\nAS196615,2001:7fb:fd03::/48,48,ripe\r\nAS196615,93.175.147.0/24,24,ripe\n";
        let (d, r) = parse_str(routinator);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(r.records, 2);
        assert_eq!(d.vrps.len(), 2);

        let compat = "\"ASN\",\"IP Prefix\",\"Max Length\",\"Trust Anchor\"\n\"196615\",\"93.175.147.0/24\",\"24\",\"ripe\"\n";
        let (d, r) = parse_str(compat);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(d.vrps, vec![vrp(196615, "93.175.147.0/24", 24)]);

        let rpki_client = "ASN,IP Prefix,Max Length,Trust Anchor,Expires\nAS13335,1.0.0.0/24,24,apnic,100\nAS13335,1.1.1.0/24,24,apnic,900\n";
        let (d, _) = parse_bytes_with(rpki_client.as_bytes(), &RpkiOptions { now: Some(500) });
        assert_eq!(d.vrps, vec![vrp(13335, "1.1.1.0/24", 24)]);

        let no_header = "# comment\n13335,1.0.0.0/24,24,apnic\nAS13335,1.0.4.0/22,22\n\n";
        let (d, r) = parse_str(no_header);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(d.vrps.len(), 2);

        let ext = "rsync://rpki.example/repo/a.roa,AS65000,192.0.2.0/24,24,2020-01-01,2030-01-01\n";
        let (d, r) = parse_str(ext);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(d.vrps, vec![vrp(65000, "192.0.2.0/24", 24)]);

        let reordered = "prefix,maxLength,asn\n192.0.2.0/24,24,AS65001\n";
        let (d, _) = parse_str(reordered);
        assert_eq!(d.vrps, vec![vrp(65001, "192.0.2.0/24", 24)]);
    }

    #[test]
    fn bad_csv_lines_are_skipped_with_their_line() {
        let csv: &[u8] = b"ASN,IP Prefix,Max Length,Trust Anchor\nAS1,10.0.0.0/8,8,x\nAS1,10.0.0.0/8,4,x\nAS1\nAS1,10.0.0.0/8,abc,x\n\xff\xfe,1\nAS2,10.0.0.0/8,9,x\n";
        let (d, r) = parse_bytes(csv);
        assert_eq!((r.records, r.skipped), (6, 4));
        let lines: Vec<_> = r.errors.iter().map(|e| e.position.line.unwrap()).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        assert_eq!(d.vrps.len(), 2);
    }
}
