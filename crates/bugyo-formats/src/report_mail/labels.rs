//! The body of a report mail: `label: value` lines in Japanese or English
//! (a value may go on in indented lines below), read into the store's
//! report fields. Text that is not under a known label — greetings, notes,
//! unknown labels, values that cannot be read — goes into `situation`
//! after the operator's own situation, so nothing the operator wrote is
//! lost. Left out: the signature (after a `-- ` line), quoted lines
//! (`> ...`) and the earlier mail a client appends below a reply
//! (`-----Original Message-----`); the whole message is kept by whoever
//! delivered it.

use super::values::{self, narrow};
use super::{MailProblem, Place, MAX_ESTIMATE, MAX_TEXT};
use serde_json::{Map, Value};

/// The labels operators use, normalised (see [`normalise`]), and the field
/// each fills.
const LABELS: &[(&str, &str)] = &[
    ("発生日時", "occurred_at"),
    ("発生時刻", "occurred_at"),
    ("発生時間", "occurred_at"),
    ("障害発生日時", "occurred_at"),
    ("事故発生日時", "occurred_at"),
    ("occurredat", "occurred_at"),
    ("occurred", "occurred_at"),
    ("timeofoccurrence", "occurred_at"),
    ("startedat", "occurred_at"),
    ("発生場所", "area"),
    ("発生地域", "area"),
    ("発生場所/地域", "area"),
    ("影響地域", "area"),
    ("地域", "area"),
    ("場所", "area"),
    ("area", "area"),
    ("place", "area"),
    ("location", "area"),
    ("影響サービス", "services"),
    ("影響を受けたサービス", "services"),
    ("対象サービス", "services"),
    ("サービス", "services"),
    ("services", "services"),
    ("servicesaffected", "services"),
    ("affectedservices", "services"),
    ("サービス区分", "service_class"),
    ("役務区分", "service_class"),
    ("役務の区分", "service_class"),
    ("serviceclass", "service_class"),
    ("状況", "situation"),
    ("発生状況", "situation"),
    ("障害状況", "situation"),
    ("概要", "situation"),
    ("situation", "situation"),
    ("summary", "situation"),
    ("影響利用者数", "users"),
    ("影響", "users"),
    ("影響ユーザ数", "users"),
    ("影響ユーザー数", "users"),
    ("利用者数", "users"),
    ("usersaffected", "users"),
    ("affectedusers", "users"),
    ("users", "users"),
    ("継続時間", "duration"),
    ("影響時間", "duration"),
    ("障害時間", "duration"),
    ("duration", "duration"),
    ("苦情件数", "complaints"),
    ("苦情・問合せ件数", "complaints"),
    ("問い合わせ件数", "complaints"),
    ("問合せ件数", "complaints"),
    ("complaints", "complaints"),
    ("これまでの対応", "response"),
    ("対応状況", "response"),
    ("対応", "response"),
    ("responsesofar", "response"),
    ("response", "response"),
    ("他事業者への影響", "impact_other_operators"),
    ("他事業者への影響の可能性", "impact_other_operators"),
    ("impactonotheroperators", "impact_other_operators"),
    ("法人顧客への影響", "impact_enterprise"),
    ("法人顧客への影響の可能性", "impact_enterprise"),
    // The JANOG42 slide's one item for both: kept private, with the
    // enterprise impact, since it may name customers.
    ("他事業者・法人顧客への影響", "impact_enterprise"),
    ("impactonenterprisecustomers", "impact_enterprise"),
    ("原因", "cause"),
    ("cause", "cause"),
    ("原因区分", "cause_category"),
    ("原因の区分", "cause_category"),
    ("causecategory", "cause_category"),
    ("故障設備", "failed_equipment"),
    ("故障した設備", "failed_equipment"),
    ("failedequipment", "failed_equipment"),
    ("措置", "measures"),
    ("講じた措置", "measures"),
    ("対策", "measures"),
    ("measures", "measures"),
    ("再発防止策", "recurrence_prevention"),
    ("recurrenceprevention", "recurrence_prevention"),
    ("利用者への周知", "user_communication"),
    ("利用者周知", "user_communication"),
    ("usercommunication", "user_communication"),
    ("公表文", "public_summary_ja"),
    ("利用者向け公表文", "public_summary_ja"),
    ("英文公表文", "public_summary_en"),
    ("公表文英語", "public_summary_en"),
    ("publicsummary", "public_summary_en"),
    ("publicsummaryen", "public_summary_en"),
    ("publicsummaryja", "public_summary_ja"),
    ("担当者", "contact"),
    ("連絡先", "contact"),
    ("報告者", "contact"),
    ("contact", "contact"),
    ("公表可否", "share_public"),
    ("一般への共有", "share_public"),
    ("国民生活センター等への共有", "share_public"),
    ("利用者への共有", "share_public"),
    ("sharewiththepublic", "share_public"),
    ("sharepublic", "share_public"),
    ("他事業者との共有", "share_operators"),
    ("他事業者への共有", "share_operators"),
    ("事業者間共有", "share_operators"),
    ("sharewithotheroperators", "share_operators"),
    ("shareoperators", "share_operators"),
    ("報告区分", "stage"),
    ("報告種別", "stage"),
    ("stage", "stage"),
];

/// A label as looked up: full-width forms narrowed, lower case, without
/// spaces, bullets, brackets around it or a bracketed remark after it
/// (`■影響利用者数（概数）` → `影響利用者数`).
fn normalise(label: &str) -> String {
    let l = narrow(label).to_lowercase();
    let l = l
        .trim()
        .trim_start_matches(['■', '□', '●', '・', '-', '*', '•', '[', '【']);
    let l = l.trim_end_matches([']', '】']);
    let l = match l.find(['(', '（']) {
        Some(i) if i > 0 => &l[..i],
        _ => l,
    };
    l.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The field of a label, if it is one of [`LABELS`].
fn field_of(label: &str) -> Option<&'static str> {
    let n = normalise(label);
    LABELS.iter().find(|(l, _)| *l == n).map(|(_, f)| *f)
}

/// A `label: value` (or `【label】value`) line split, if the label is
/// known: the label as written, its field, the value.
fn labelled(line: &str) -> Option<(String, &'static str, String)> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix('【') {
        if let Some((label, value)) = rest.split_once('】') {
            let field = field_of(label)?;
            let value = value.trim_start_matches([':', '：']).trim();
            return Some((label.trim().to_string(), field, value.to_string()));
        }
    }
    let at = trimmed.find([':', '：'])?;
    let (label, value) = trimmed.split_at(at);
    if label.chars().count() > 40 {
        return None;
    }
    let field = field_of(label)?;
    let value = value
        .strip_prefix(':')
        .or_else(|| value.strip_prefix('：'))
        .unwrap_or(value);
    Some((label.trim().to_string(), field, value.trim().to_string()))
}

/// Whether `line` opens the earlier mail a mail client appends below a
/// reply (`-----Original Message-----`, `----- 元のメッセージ -----`).
fn forwarded_below(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("-----")
        && (t.to_ascii_lowercase().contains("original message") || t.contains("元のメッセージ"))
}

/// One labelled value as gathered: where it began and its lines.
struct Entry {
    label: String,
    field: &'static str,
    line: usize,
    value: String,
}

/// Reads the report text (the mail's text parts, joined) into fields;
/// problems name the label and its line in the text.
pub(super) fn read(text: &str, problems: &mut Vec<MailProblem>) -> Map<String, Value> {
    let mut entries: Vec<Entry> = Vec::new();
    // Free text and unknown labels, in order.
    let mut extra: Vec<String> = Vec::new();
    // A label is open while its value may go on: in indented lines, and,
    // when nothing followed the label on its line (`状況:` then the text
    // below), in the lines up to the next blank line or label. (A blank
    // line right after an empty label closes it: a template's empty item
    // does not swallow the text below.)
    let mut open = false;
    let mut block = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches('\r');
        if line == "-- " || forwarded_below(line) {
            break;
        }
        // Quoted text of an earlier mail is not this report's.
        if line.starts_with('>') {
            continue;
        }
        let clean: String = line
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .collect();
        let indented = clean.starts_with([' ', '\t', '\u{3000}']);
        if clean.trim().is_empty() {
            open = false;
            block = false;
            extra.push(String::new());
            continue;
        }
        let label = labelled(&clean);
        if open && (indented || (block && label.is_none())) {
            if let Some(e) = entries.last_mut() {
                if !e.value.is_empty() {
                    e.value.push('\n');
                }
                e.value.push_str(clean.trim());
            }
            continue;
        }
        match label {
            Some((label, field, value)) => {
                block = value.is_empty();
                entries.push(Entry {
                    label,
                    field,
                    line: i + 1,
                    value,
                });
                open = true;
            }
            None => {
                extra.push(clean.trim_end().to_string());
                open = false;
                block = false;
            }
        }
    }
    let mut map = Map::new();
    let mut situation: Vec<String> = Vec::new();
    // Lines whose value could not be read, kept after the situation.
    let mut unread: Vec<String> = Vec::new();
    for e in entries {
        if e.value.trim().is_empty() {
            continue;
        }
        let problem = |en: String, ja: String| {
            MailProblem::new(Place::Label(e.label.clone()), e.line, en, ja).for_field(e.field)
        };
        let verbatim = format!("{}: {}", e.label, e.value);
        let read: Result<Option<Value>, values::Trouble> = match e.field {
            "occurred_at" => values::time(&e.value).map(|t| Some(t.into())),
            "duration" => values::duration(&e.value).map(|d| Some(d.into())),
            "service_class" => values::service_class(&e.value).map(|c| Some(c.into())),
            "stage" => values::stage(&e.value).map(|s| Some(s.into())),
            "cause_category" => values::cause_category(&e.value).map(|c| Some(c.into())),
            "share_public" | "share_operators" => values::flag(&e.value).map(|b| Some(b.into())),
            "complaints" => values::count(&e.value)
                .filter(|n| *n <= super::MAX_COUNT)
                .map(|n| Some(n.into()))
                .ok_or_else(|| {
                    (
                        format!("{:?}: expected a number of complaints", e.value),
                        format!("{:?}: 件数を数字で書いてください", e.value),
                    )
                }),
            "users" => {
                if let Some(n) = values::count(&e.value).filter(|n| *n <= super::MAX_COUNT) {
                    if !map.contains_key("users") {
                        map.insert("users".into(), n.into());
                    }
                }
                if e.value.chars().count() > MAX_ESTIMATE || map.contains_key("users_estimate") {
                    Err((
                        format!("longer than {MAX_ESTIMATE} characters, or given twice, for the estimate"),
                        format!("概数として {MAX_ESTIMATE} 文字を超えているか、2回書かれています"),
                    ))
                } else {
                    put_text(&mut map, "users_estimate", &e.value);
                    Ok(None)
                }
            }
            "situation" => {
                situation.push(e.value.clone());
                Ok(None)
            }
            text => {
                put_text(&mut map, text, &e.value);
                Ok(None)
            }
        };
        match read {
            Ok(Some(v)) => {
                if map.contains_key(e.field) {
                    problems.push(problem(
                        format!(
                            "given twice; the first value is kept and this one goes into {}",
                            "situation"
                        ),
                        "2回書かれています。最初の値を使い、この値は状況に残します".into(),
                    ));
                    unread.push(verbatim);
                } else {
                    map.insert(e.field.into(), v);
                }
            }
            Ok(None) => {}
            Err((en, ja)) => {
                problems.push(problem(
                    format!("{en}; the line is kept in situation"),
                    format!("{ja}。この行は状況に残します"),
                ));
                unread.push(verbatim);
            }
        }
    }
    situation.extend(unread);
    let free = paragraphs(&extra);
    if !free.is_empty() {
        situation.push(free);
    }
    let situation = situation.join("\n\n");
    if !situation.trim().is_empty() {
        let line = 0;
        let e = Entry {
            label: "situation".into(),
            field: "situation",
            line,
            value: String::new(),
        };
        let s = clip(&situation, MAX_TEXT, &e, problems);
        map.insert("situation".into(), s.into());
    }
    for key in [
        "area",
        "services",
        "response",
        "impact_other_operators",
        "impact_enterprise",
        "cause",
        "failed_equipment",
        "measures",
        "recurrence_prevention",
        "user_communication",
        "public_summary_ja",
        "public_summary_en",
        "contact",
    ] {
        if let Some(Value::String(s)) = map.get(key) {
            if s.chars().count() > MAX_TEXT {
                let e = Entry {
                    label: key.into(),
                    field: field_name(key),
                    line: 0,
                    value: String::new(),
                };
                let clipped = clip(s, MAX_TEXT, &e, problems);
                map.insert(key.into(), clipped.into());
            }
        }
    }
    map
}

/// The `&'static` name of a field key.
fn field_name(key: &str) -> &'static str {
    LABELS
        .iter()
        .map(|(_, f)| *f)
        .find(|f| *f == key)
        .unwrap_or("situation")
}

/// Appends text to a text field (a label given twice keeps both values).
fn put_text(map: &mut Map<String, Value>, field: &str, value: &str) {
    let value = value.trim();
    match map.get_mut(field) {
        Some(Value::String(s)) => {
            s.push('\n');
            s.push_str(value);
        }
        _ => {
            map.insert(field.into(), value.into());
        }
    }
}

/// `s` cut to `max` characters, with a problem if it was longer.
fn clip(s: &str, max: usize, e: &Entry, problems: &mut Vec<MailProblem>) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    problems.push(
        MailProblem::new(
            Place::Label(e.label.clone()),
            e.line,
            format!("longer than {max} characters: cut"),
            format!("{max} 文字を超えたので切り詰めました"),
        )
        .for_field(e.field),
    );
    s.chars().take(max).collect()
}

/// Lines joined, blank lines at either end dropped and runs of blank lines
/// made one.
fn paragraphs(lines: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for l in lines {
        if l.is_empty() && out.last().is_none_or(|p| p.is_empty()) {
            continue;
        }
        out.push(l);
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(field_of("発生日時"), Some("occurred_at"));
        assert_eq!(field_of("■影響利用者数（概数）"), Some("users"));
        assert_eq!(field_of("【公表可否】"), Some("share_public"));
        assert_eq!(
            field_of("Impact on other operators"),
            Some("impact_other_operators")
        );
        assert_eq!(field_of("Users affected"), Some("users"));
        assert_eq!(field_of("お世話になっております"), None);
        assert_eq!(field_of("【公表文】"), Some("public_summary_ja"));
        assert_eq!(field_of("英文公表文"), Some("public_summary_en"));
        assert_eq!(field_of("Public summary"), Some("public_summary_en"));
        // Every field named is one of the parser's fields.
        for (_, f) in LABELS {
            assert!(super::super::FIELDS.contains(f), "{f}");
        }
    }

    #[test]
    fn value_below_its_label() {
        let mut problems = Vec::new();
        let map = read(
            "【発生日時】\n2021年10月9日 7時56分\n\nこれまでの対応:\n迂回を実施\n監視を継続\n\n原因:\n\nご確認ください\n",
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(map["occurred_at"], "2021-10-09T07:56:00+09:00");
        assert_eq!(map["response"], "迂回を実施\n監視を継続");
        assert_eq!(map["situation"], "ご確認ください");
    }

    #[test]
    fn quoted_and_forwarded_text_is_not_the_report() {
        let mut problems = Vec::new();
        let map = read(
            "継続時間: 2時間\n\n> 状況: 古い状況\n> 発生日時: 2000年1月1日 0時\n\n-----Original Message-----\n状況: 古い\n",
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(map.len(), 1, "{map:?}");
        assert_eq!(map["duration"], "2h");
    }

    #[test]
    fn body() {
        let mut problems = Vec::new();
        let map = read(
            "総務省 御中\n\n発生日時: 2021年10月9日 7時56分\n状況: 音声通話が\n  つながりにくい\n備考: 調査中\n影響利用者数: 約3万 (調査中)\n継続時間: そのうち\n公表可否：可\n【他事業者との共有】否\n-- \n署名\n",
            &mut problems,
        );
        assert_eq!(map["occurred_at"], "2021-10-09T07:56:00+09:00");
        assert_eq!(map["users"], 30_000);
        assert_eq!(map["users_estimate"], "約3万 (調査中)");
        assert_eq!(map["share_public"], true);
        assert_eq!(map["share_operators"], false);
        assert!(map.get("duration").is_none());
        let s = map["situation"].as_str().unwrap();
        assert!(s.starts_with("音声通話が\nつながりにくい"), "{s}");
        assert!(s.contains("継続時間: そのうち"), "{s}");
        assert!(
            s.contains("総務省 御中") && s.contains("備考: 調査中"),
            "{s}"
        );
        assert!(!s.contains("署名"), "{s}");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 8);
        assert_eq!(problems[0].field, Some("duration"));
    }
}
