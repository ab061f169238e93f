//! CAIDA AS-to-Organization mapping (AS2Org, `*.as-org2info.*`), plain or
//! compressed (recognised from the content).
//!
//! Accepted formats, recognised line by line:
//!
//! * **JSONL** (2008 to now, `*.as-org2info.jsonl.gz`): one JSON object a
//!   line, `{"type":"ASN","asn":"4713","name":"OCN","organizationId":…,
//!   "source":…}` and `{"type":"Organization","organizationId":…,
//!   "name":…,"country":"JP",…}`; `asn` may be a string or a number, `name`
//!   and `country` may be missing;
//! * **pipe-separated text** (`*.as-org2info.txt.gz`): sections introduced
//!   by `# format:aut|changed|aut_name|org_id|opaque_id|source` and
//!   `# format:org_id|changed|org_name|country|source` (the older files lack
//!   `opaque_id`; columns are found by their names in the header, and an
//!   unquoted `|` inside a name is put back into the name).
//!
//! Each ASN is joined to its organisation by `organizationId`, whatever the
//! order of the records. The result has one [`AsOrg`] per ASN record, in file
//! order; CAIDA files occasionally list an ASN twice (from two registries),
//! and both records are kept. An ASN whose organisation is missing keeps an
//! empty organisation name and country and is reported.

use crate::input;
use crate::report::{excerpt, parse_asn, trim_bytes, LineReader, ParseReport, Position};
use crate::rpki::json::{self, J};
use bugyo_model::{AsOrg, Asn};
use std::collections::HashMap;
use std::io::{self, BufRead};
use std::path::Path;

/// Loads a CAIDA AS2Org file (JSONL or pipe-separated text).
pub fn load(path: &Path) -> io::Result<(Vec<AsOrg>, ParseReport)> {
    Ok(parse_reader(input::open(path)?))
}

/// Parses AS2Org data from a string.
pub fn parse_str(s: &str) -> (Vec<AsOrg>, ParseReport) {
    parse_reader(s.as_bytes())
}

/// An ASN record waiting for its organisation.
struct PendingAsn {
    asn: Asn,
    name: String,
    org_id: String,
    line: u64,
}

/// The columns of the current pipe-format section.
enum Section {
    None,
    Aut {
        aut: usize,
        name: usize,
        org: usize,
        width: usize,
    },
    Org {
        org: usize,
        name: usize,
        country: Option<usize>,
        width: usize,
    },
}

/// Parses AS2Org data from a (decompressed) reader.
pub fn parse_reader<R: BufRead>(reader: R) -> (Vec<AsOrg>, ParseReport) {
    let mut report = ParseReport::new("CAIDA AS2Org");
    let (mut jsonl, mut pipes) = (false, false);
    let mut asns: Vec<PendingAsn> = Vec::new();
    let mut orgs: HashMap<String, (String, String)> = HashMap::new();
    let mut section = Section::None;
    let mut lines = LineReader::new(reader);
    while let Some((n, raw)) = lines.next_line(&mut report) {
        let line = trim_bytes(raw);
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix(b"#") {
            if let Some(s) = format_header(c) {
                match s {
                    Ok(s) => section = s,
                    Err(e) => {
                        report.problem(Position::line(n), e);
                        section = Section::None;
                    }
                }
            }
            continue;
        }
        report.record();
        let res = if line[0] == b'{' || line[0] == b'[' {
            jsonl = true;
            json_line(line, n, &mut asns, &mut orgs)
        } else {
            pipes = true;
            pipe_line(line, n, &section, &mut asns, &mut orgs)
        };
        match res {
            Ok(true) => {}
            Ok(false) => report.ignored += 1,
            Err(e) => report.skip(Position::line(n), e),
        }
    }
    report.format = match (jsonl, pipes) {
        (true, false) => "CAIDA AS2Org JSONL",
        (false, true) => "CAIDA AS2Org text",
        _ => "CAIDA AS2Org",
    };
    let out = asns
        .into_iter()
        .map(|p| {
            let (org_name, country) = match orgs.get(&p.org_id) {
                Some((name, country)) => (name.clone(), country.clone()),
                None => {
                    report.problem(
                        Position::line(p.line),
                        format!("{}: organisation {:?} is not in the file", p.asn, p.org_id),
                    );
                    (String::new(), String::new())
                }
            };
            AsOrg {
                asn: p.asn,
                name: p.name,
                org_name,
                country,
            }
        })
        .collect();
    (out, report)
}

/// Reads `# format:a|b|c` into a section; `None` for other comments.
fn format_header(comment: &[u8]) -> Option<Result<Section, String>> {
    let c = std::str::from_utf8(trim_bytes(comment)).ok()?;
    let rest = c.strip_prefix("format:")?;
    let names: Vec<&str> = rest.split('|').map(str::trim).collect();
    let find = |n: &str| names.iter().position(|x| *x == n);
    let width = names.len();
    Some(if let Some(aut) = find("aut") {
        match (find("aut_name"), find("org_id")) {
            (Some(name), Some(org)) => Ok(Section::Aut {
                aut,
                name,
                org,
                width,
            }),
            _ => Err(format!(
                "ASN section header without aut_name and org_id: {c:?}"
            )),
        }
    } else if let Some(org) = find("org_id") {
        match find("org_name") {
            Some(name) => Ok(Section::Org {
                org,
                name,
                country: find("country"),
                width,
            }),
            None => Err(format!(
                "organisation section header without org_name: {c:?}"
            )),
        }
    } else {
        Err(format!("unknown section format: {c:?}"))
    })
}

/// Splits a pipe line into `width` fields, folding surplus `|`s into the
/// field `name` (the only free-text field).
fn pipe_fields(line: &str, width: usize, name: usize) -> Result<Vec<&str>, String> {
    let parts: Vec<&str> = line.split('|').collect();
    if parts.len() < width {
        return Err(format!(
            "{} fields where the header has {width}",
            parts.len()
        ));
    }
    if parts.len() == width {
        return Ok(parts);
    }
    let extra = parts.len() - width;
    let start = parts[..name].iter().map(|p| p.len() + 1).sum::<usize>();
    let len = parts[name..=name + extra]
        .iter()
        .map(|p| p.len())
        .sum::<usize>()
        + extra;
    let mut out: Vec<&str> = parts[..name].to_vec();
    out.push(line.get(start..start + len).unwrap_or(""));
    out.extend_from_slice(&parts[name + extra + 1..]);
    Ok(out)
}

fn pipe_line(
    line: &[u8],
    n: u64,
    section: &Section,
    asns: &mut Vec<PendingAsn>,
    orgs: &mut HashMap<String, (String, String)>,
) -> Result<bool, String> {
    let text = String::from_utf8_lossy(line);
    match *section {
        Section::None => Err(format!(
            "data line before any '# format:' header: {}",
            excerpt(line)
        )),
        Section::Aut {
            aut,
            name,
            org,
            width,
        } => {
            let f = pipe_fields(&text, width, name)?;
            let asn = parse_asn(f[aut])?;
            asns.push(PendingAsn {
                asn,
                name: f[name].trim().to_string(),
                org_id: f[org].trim().to_string(),
                line: n,
            });
            Ok(true)
        }
        Section::Org {
            org,
            name,
            country,
            width,
        } => {
            let f = pipe_fields(&text, width, name)?;
            let id = f[org].trim();
            if id.is_empty() {
                return Err("empty org_id".into());
            }
            let c = country.map(|i| f[i].trim()).unwrap_or("");
            orgs.insert(id.to_string(), (f[name].trim().to_string(), c.to_string()));
            Ok(true)
        }
    }
}

fn json_str(v: &J, key: &str) -> Result<String, String> {
    match v.get(key) {
        None | Some(J::Null) => Ok(String::new()),
        Some(J::S(s)) => Ok(s.trim().to_string()),
        Some(other) => Err(format!("{key} is {}", other.kind())),
    }
}

fn json_line(
    line: &[u8],
    n: u64,
    asns: &mut Vec<PendingAsn>,
    orgs: &mut HashMap<String, (String, String)>,
) -> Result<bool, String> {
    let v = json::parse_value(line).map_err(|e| format!("JSON: {e}"))?;
    if !matches!(v, J::O(_)) {
        return Err(format!("a record must be an object, not {}", v.kind()));
    }
    let org_id = json_str(&v, "organizationId")?;
    if org_id.is_empty() {
        return Err("no organizationId".into());
    }
    match v.get("type").and_then(J::as_str) {
        Some("ASN") => {
            let asn = match v.get("asn") {
                Some(J::S(s)) => parse_asn(s)?,
                Some(J::U(a)) => {
                    Asn(u32::try_from(*a).map_err(|_| format!("AS number {a} is out of range"))?)
                }
                Some(other) => return Err(format!("asn is {}", other.kind())),
                None => return Err("ASN record without \"asn\"".into()),
            };
            asns.push(PendingAsn {
                asn,
                name: json_str(&v, "name")?,
                org_id,
                line: n,
            });
            Ok(true)
        }
        Some("Organization") => {
            orgs.insert(org_id, (json_str(&v, "name")?, json_str(&v, "country")?));
            Ok(true)
        }
        Some(_) => Ok(false),
        None => Err("no \"type\"".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipe_format_in_either_order() {
        let s = "# name: AS Org\n\
# format:aut|changed|aut_name|org_id|opaque_id|source\n\
4713|20200101|OCN|@family-20767|x_APNIC|JPNIC\n\
2516|20200101|KDDI|@aut-2516-JPNIC|x_APNIC|JPNIC\n\
15169|20120224|GOOGLE|GOGL-ARIN|y_ARIN|ARIN\n\
bad|20120224|X|GOGL-ARIN|y_ARIN|ARIN\n\
# format:org_id|changed|org_name|country|source\n\
@family-20767|20200101|NTT Communications Corporation|JP|JPNIC\n\
@aut-2516-JPNIC|20200101|KDDI|CORPORATION|JP|JPNIC\n\
GOGL-ARIN|20191031|Google LLC|US|ARIN\n\
short|x\n";
        let (v, r) = parse_str(s);
        assert_eq!(r.format, "CAIDA AS2Org text");
        assert_eq!((r.records, r.skipped), (8, 2), "{r:?}");
        assert_eq!(v.len(), 3);
        assert_eq!(
            v[0],
            AsOrg {
                asn: Asn(4713),
                name: "OCN".into(),
                org_name: "NTT Communications Corporation".into(),
                country: "JP".into()
            }
        );
        assert_eq!(v[1].org_name, "KDDI|CORPORATION");
        assert_eq!(v[1].country, "JP");
        assert_eq!(v[2].org_name, "Google LLC");
    }

    #[test]
    fn old_pipe_format_and_missing_org() {
        let s = "# format:aut|changed|aut_name|org_id|source\n1|20040604|LVLT-1|LVLT-ARIN|ARIN\n";
        let (v, r) = parse_str(s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].org_name, "");
        assert_eq!((r.skipped, r.error_count), (0, 1));
    }

    #[test]
    fn jsonl() {
        let s = r#"{"asn":"4713","name":"OCN","organizationId":"@family-20767","source":"JPNIC","type":"ASN"}
{"asn":2516,"organizationId":"K","type":"ASN"}
{"country":"JP","name":"NTT Communications Corporation","organizationId":"@family-20767","source":"JPNIC","type":"Organization"}
{"name":"KDDI CORPORATION","organizationId":"K","type":"Organization"}
{"asn":"x","organizationId":"K","type":"ASN"}
{"asn":"1","organizationId":"K","type":"Something"}
{"asn":"1",
[]
"#;
        let (v, r) = parse_str(s);
        assert_eq!(r.format, "CAIDA AS2Org JSONL");
        assert_eq!((r.records, r.skipped, r.ignored), (8, 3, 1));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].country, "JP");
        assert_eq!(
            v[1],
            AsOrg {
                asn: Asn(2516),
                name: String::new(),
                org_name: "KDDI CORPORATION".into(),
                country: String::new()
            }
        );
    }
}
