//! The watch list: the member organisations bugyo watches routes for and
//! sends notices to, as a TOML file (TOML 1.0/1.1, UTF-8, plain or
//! compressed). An annotated example is in `docs/watch.example.toml`.
//!
//! ```toml
//! [[member]]
//! id = "example-isp"                  # unique, letters/digits/-/_/.
//! name = "Example ISP 株式会社"         # display name
//! asns = [64496, "AS64497"]           # numbers or "AS…" strings
//! prefixes = ["192.0.2.0/24", "2001:db8::/32"]
//! contacts = ["noc@example.net"]      # e-mail, RFC 2142 mailboxes
//! language = "ja"                     # "ja" (default) or "en"
//! ```
//!
//! Each `[[member]]` table has:
//!
//! | key | type | |
//! |---|---|---|
//! | `id` | string, required | unique in the file; `[A-Za-z0-9._-]`, at most 64 characters |
//! | `name` | string, required | |
//! | `asns` | array of integers or `"AS…"` strings | AS0 is refused |
//! | `prefixes` | array of `"address/length"` strings | host bits must be zero |
//! | `contacts` | array of e-mail addresses | e.g. `noc@` (RFC 2142) |
//! | `language` | `"ja"` or `"en"` | default `"ja"` |
//!
//! A member needs at least one ASN or prefix. Unknown keys are refused, so a
//! misspelt `contact =` is caught rather than silently leaving a member
//! without contacts. A member with any error is skipped as a whole; every
//! error is reported with the member's line, index, id and the field (e.g.
//! `line 12, member[2] "ocn".prefixes[1]: host bits set in …`). A TOML
//! syntax error stops the loading and is the report's fatal error. Callers
//! that must not run with a partial list check [`ParseReport::is_clean`].

use crate::input;
use crate::report::{parse_asn, parse_prefix_strict, ParseReport, Position};
use bugyo_model::{Asn, Member};
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// The keys a `[[member]]` table may have.
pub const MEMBER_KEYS: [&str; 6] = ["id", "name", "asns", "prefixes", "contacts", "language"];

/// The languages notices can be written in.
pub const LANGUAGES: [&str; 2] = ["ja", "en"];

/// Loads a watch list. Fails only if the file cannot be read; problems in
/// the content are in the report.
pub fn load(path: &Path) -> io::Result<(Vec<Member>, ParseReport)> {
    let bytes = input::read_all(path)?;
    Ok(parse_bytes(&bytes))
}

/// Parses a watch list held in memory.
pub fn parse_bytes(bytes: &[u8]) -> (Vec<Member>, ParseReport) {
    match std::str::from_utf8(bytes) {
        Ok(s) => parse_str(s),
        Err(e) => {
            let mut report = ParseReport::new("watch list TOML");
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            report.fail(Position::line(line), "the watch list is not UTF-8 text");
            (Vec::new(), report)
        }
    }
}

#[derive(serde::Deserialize)]
struct Doc {
    #[serde(default)]
    member: Vec<toml::Spanned<toml::Table>>,
}

/// Parses a watch list held in a string.
pub fn parse_str(text: &str) -> (Vec<Member>, ParseReport) {
    let mut report = ParseReport::new("watch list TOML");
    let line_of = |offset: usize| {
        text.as_bytes()[..offset.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1
    };
    let toml_error = |e: toml::de::Error, report: &mut ParseReport| {
        let pos = e
            .span()
            .map(|s| Position::line(line_of(s.start)))
            .unwrap_or_default();
        report.fail(pos, format!("TOML: {}", e.message()));
    };
    let top: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => {
            toml_error(e, &mut report);
            return (Vec::new(), report);
        }
    };
    for key in top.keys().filter(|k| k.as_str() != "member") {
        let hint = if key == "members" {
            " (write [[member]] tables)"
        } else {
            ""
        };
        report.problem(
            Position::path(key.clone()),
            format!("unknown top-level key `{key}`{hint}"),
        );
    }
    let doc: Doc = match toml::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            toml_error(e, &mut report);
            return (Vec::new(), report);
        }
    };
    let mut members = Vec::with_capacity(doc.member.len());
    let mut ids: HashMap<String, u64> = HashMap::new();
    for (i, spanned) in doc.member.iter().enumerate() {
        report.record();
        let line = line_of(spanned.span().start);
        let table = spanned.get_ref();
        let mut errors = Vec::new();
        let member = member(table, &mut errors);
        let id = table.get("id").and_then(toml::Value::as_str).unwrap_or("");
        if let Some(m) = &member {
            if let Some(first) = ids.get(&m.id) {
                errors.push((
                    "id".to_string(),
                    format!("duplicate id {:?} (first defined on line {first})", m.id),
                ));
            }
        }
        if errors.is_empty() {
            if let Some(m) = member {
                ids.insert(m.id.clone(), line);
                members.push(m);
            }
            continue;
        }
        for (k, (field, reason)) in errors.into_iter().enumerate() {
            let pos = Position::line(line).with_path(format!("member[{i}] {id:?}.{field}"));
            if k == 0 {
                report.skip(pos, reason);
            } else {
                report.problem(pos, reason);
            }
        }
    }
    (members, report)
}

type FieldErrors = Vec<(String, String)>;

/// Validates one member table; errors are `(field, reason)`.
fn member(t: &toml::Table, errors: &mut FieldErrors) -> Option<Member> {
    for k in t.keys().filter(|k| !MEMBER_KEYS.contains(&k.as_str())) {
        errors.push((
            k.clone(),
            format!(
                "unknown field `{k}` (expected one of {})",
                MEMBER_KEYS.join(", ")
            ),
        ));
    }
    let id = string(t, "id", true, errors).unwrap_or_default();
    let id_ok = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
    if !id.is_empty() && (id.len() > 64 || !id.bytes().all(id_ok)) {
        errors.push((
            "id".into(),
            format!("{id:?} must be 1-64 letters, digits, '-', '_' or '.'"),
        ));
    }
    let name = string(t, "name", true, errors).unwrap_or_default();
    let language = string(t, "language", false, errors).unwrap_or_else(|| "ja".to_string());
    if !LANGUAGES.contains(&language.as_str()) {
        errors.push((
            "language".into(),
            format!("{language:?} is not \"ja\" or \"en\""),
        ));
    }
    let mut asns = Vec::new();
    for (i, v) in array(t, "asns", errors).iter().enumerate() {
        let field = format!("asns[{i}]");
        let asn = match v {
            toml::Value::Integer(n) => u32::try_from(*n)
                .map(Asn)
                .map_err(|_| format!("{n} is not an AS number")),
            toml::Value::String(s) => parse_asn(s),
            other => Err(format!(
                "expected a number or \"AS…\" string, found {}",
                other.type_str()
            )),
        };
        match asn {
            Ok(Asn(0)) => errors.push((field, "AS0 cannot be a member's AS (RFC 7607)".into())),
            Ok(a) => asns.push(a),
            Err(e) => errors.push((field, e)),
        }
    }
    let mut prefixes = Vec::new();
    for (i, v) in array(t, "prefixes", errors).iter().enumerate() {
        match v
            .as_str()
            .ok_or_else(|| format!("expected a string, found {}", v.type_str()))
            .and_then(parse_prefix_strict)
        {
            Ok(p) => prefixes.push(p),
            Err(e) => errors.push((format!("prefixes[{i}]"), e)),
        }
    }
    let mut contacts = Vec::new();
    for (i, v) in array(t, "contacts", errors).iter().enumerate() {
        match v
            .as_str()
            .ok_or_else(|| format!("expected a string, found {}", v.type_str()))
            .and_then(email)
        {
            Ok(c) => contacts.push(c),
            Err(e) => errors.push((format!("contacts[{i}]"), e)),
        }
    }
    if asns.is_empty() && prefixes.is_empty() && t.contains_key("id") {
        errors.push((
            "asns".into(),
            "a member needs at least one ASN or prefix".into(),
        ));
    }
    asns.sort_unstable();
    asns.dedup();
    prefixes.sort_unstable();
    prefixes.dedup();
    contacts.dedup();
    errors.is_empty().then_some(Member {
        id,
        name,
        asns,
        prefixes,
        contacts,
        language,
    })
}

fn string(t: &toml::Table, key: &str, required: bool, errors: &mut FieldErrors) -> Option<String> {
    match t.get(key) {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(toml::Value::String(_)) => {
            errors.push((key.into(), "must not be empty".into()));
            None
        }
        Some(other) => {
            errors.push((
                key.into(),
                format!("expected a string, found {}", other.type_str()),
            ));
            None
        }
        None if required => {
            errors.push((key.into(), "is missing".into()));
            None
        }
        None => None,
    }
}

fn array<'t>(t: &'t toml::Table, key: &str, errors: &mut FieldErrors) -> &'t [toml::Value] {
    match t.get(key) {
        Some(toml::Value::Array(a)) => a,
        Some(other) => {
            errors.push((
                key.into(),
                format!("expected an array, found {}", other.type_str()),
            ));
            &[]
        }
        None => &[],
    }
}

/// Checks an e-mail address (`local@domain`, RFC 5321 syntax without
/// quoted local parts or address literals) and returns it with the domain
/// in lower case.
fn email(s: &str) -> Result<String, String> {
    let s = s.trim();
    let bad = |why: &str| Err(format!("{s:?} is not an e-mail address: {why}"));
    let Some((local, domain)) = s.rsplit_once('@') else {
        return bad("no @");
    };
    if local.is_empty() || local.len() > 64 {
        return bad("the part before @ must be 1-64 characters");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("misplaced dot before @");
    }
    if !local
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
    {
        return bad("character not allowed before @");
    }
    if domain.len() > 253 || !domain.contains('.') {
        return bad("the domain needs at least two labels");
    }
    for label in domain.split('.') {
        if label.is_empty()
            || label.len() > 63
            || label.starts_with('-')
            || label.ends_with('-')
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return bad("bad domain label");
        }
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_list() {
        let s = r#"
[[member]]
id = "ocn"
name = "NTT Communications (OCN)"
asns = [4713, "AS7515", "as4713"]
prefixes = ["192.0.2.0/24", "2001:db8::/32"]
contacts = ["noc@Example.NET"]

[[member]]
id = "kddi"
name = "KDDI"
asns = [2516]
language = "en"
"#;
        let (m, r) = parse_str(s);
        assert!(r.is_clean(), "{r:?}");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].asns, vec![Asn(4713), Asn(7515)]);
        assert_eq!(m[0].contacts, vec!["noc@example.net".to_string()]);
        assert_eq!(m[0].language, "ja");
        assert_eq!(m[1].language, "en");
        assert!(m[1].contacts.is_empty());
    }

    #[test]
    fn errors_name_member_and_field() {
        let s = r#"
[[member]]
id = "a"
name = "A"
asns = [1]

[[member]]
id = "a"
name = "A again"
asns = [2]

[[member]]
id = "b"
name = "B"
asns = ["ASX", 0, -1]
prefixes = ["192.0.2.1/24", 5]
contacts = ["noc@", "noc@example..net", "n o c@example.net"]
language = "fr"
contact = "x@example.net"

[[member]]
id = "c"
name = "C"

[members]
x = 1
"#;
        let (m, r) = parse_str(s);
        assert_eq!(m.len(), 1);
        assert_eq!((r.records, r.skipped), (4, 3));
        let all: Vec<String> = r.errors.iter().map(|e| e.to_string()).collect();
        let has = |needle: &str| all.iter().any(|e| e.contains(needle));
        assert!(has("members"), "{all:#?}");
        assert!(
            has("line 7, member[1] \"a\".id: duplicate id \"a\" (first defined on line 2)"),
            "{all:#?}"
        );
        assert!(has("member[2] \"b\".asns[0]: not an AS number"), "{all:#?}");
        assert!(has("member[2] \"b\".asns[1]: AS0"), "{all:#?}");
        assert!(has("member[2] \"b\".asns[2]"), "{all:#?}");
        assert!(
            has("member[2] \"b\".prefixes[0]: host bits set"),
            "{all:#?}"
        );
        assert!(
            has("member[2] \"b\".prefixes[1]: expected a string"),
            "{all:#?}"
        );
        assert!(has("member[2] \"b\".contacts[0]"), "{all:#?}");
        assert!(has("member[2] \"b\".contacts[1]"), "{all:#?}");
        assert!(has("member[2] \"b\".contacts[2]"), "{all:#?}");
        assert!(has("member[2] \"b\".language"), "{all:#?}");
        assert!(
            has("member[2] \"b\".contact: unknown field `contact`"),
            "{all:#?}"
        );
        assert!(
            has("member[3] \"c\".asns: a member needs at least one ASN or prefix"),
            "{all:#?}"
        );
    }

    #[test]
    fn syntax_error_is_fatal_with_line() {
        let (m, r) = parse_str("[[member]]\nid = \"a\"\nname = \n");
        assert!(m.is_empty());
        let f = r.fatal.expect("fatal");
        assert_eq!(f.position.line, Some(3), "{f}");
        let (_, r) = parse_str("member = 5\n");
        assert!(r.fatal.is_some());
        let (_, r) = parse_bytes(b"id = \"\xff\"");
        assert!(r.fatal.is_some());
    }

    #[test]
    fn emails() {
        assert!(email("noc@example.net").is_ok());
        assert!(email("first.last+tag@sub.example.co.jp").is_ok());
        assert!(email("noc@localhost").is_err());
        assert!(email("@example.net").is_err());
        assert!(email("noc@-example.net").is_err());
        assert!(email(".noc@example.net").is_err());
    }
}
