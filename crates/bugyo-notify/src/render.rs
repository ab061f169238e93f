//! The words of a notice, in the recipient's language, from one template:
//! a message is one notice or a digest of several, each rendered from the
//! recipient's own view of the incident (see `bugyo_store::audience`), so a
//! message never holds more than the recipient may see. The message carries
//! the strictest TLP label of its notices on its first line. Report
//! reminders and advisories are rendered here too, for the same channels.

use crate::policy::NoticeKind;
use bugyo_detect::{AnomalyKind, Severity};
use bugyo_store::advisories::Advisory;
use bugyo_store::Role;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The recipient's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// 日本語.
    Ja,
    /// English.
    En,
}

impl Language {
    /// From an organisation's `language` field (`ja` unless `en`).
    pub fn of(code: &str) -> Language {
        if code == "en" {
            Language::En
        } else {
            Language::Ja
        }
    }
}

/// One notice to put in a message.
#[derive(Clone, Debug)]
pub struct Item {
    /// What it says.
    pub kind: NoticeKind,
    /// The recipient's view of the incident version.
    pub view: Value,
}

/// The strictest of the items' TLP labels.
pub fn tlp(items: &[Item]) -> &'static str {
    let rank = |t: &str| match t {
        "TLP:AMBER+STRICT" => 3,
        "TLP:AMBER" => 2,
        "TLP:GREEN" => 1,
        _ => 3,
    };
    items
        .iter()
        .map(|i| i.view["tlp"].as_str().unwrap_or("TLP:AMBER+STRICT"))
        .max_by_key(|t| rank(t))
        .map(|t| match rank(t) {
            1 => "TLP:GREEN",
            2 => "TLP:AMBER",
            _ => "TLP:AMBER+STRICT",
        })
        .unwrap_or("TLP:AMBER+STRICT")
}

fn kind_name(kind: &str, lang: Language) -> String {
    match lang {
        Language::En => kind.to_string(),
        Language::Ja => AnomalyKind::ALL
            .iter()
            .find(|k| k.name() == kind)
            .map_or(kind.to_string(), |k| k.name_ja().to_string()),
    }
}

fn severity_name(s: &str, lang: Language) -> String {
    match (lang, s.parse::<Severity>()) {
        (Language::Ja, Ok(sev)) => sev.name_ja().to_string(),
        _ => s.to_string(),
    }
}

fn heading(kind: NoticeKind, lang: Language) -> &'static str {
    match (kind, lang) {
        (NoticeKind::Opened, Language::En) => "New incident",
        (NoticeKind::Grown, Language::En) => "Incident grew",
        (NoticeKind::Resolved, Language::En) => "Incident resolved",
        (NoticeKind::Opened, Language::Ja) => "新しいインシデント",
        (NoticeKind::Grown, Language::Ja) => "インシデントが拡大",
        (NoticeKind::Resolved, Language::Ja) => "インシデントが解消",
    }
}

/// Most prefixes and sample routes listed per notice.
const LISTED_PREFIXES: usize = 20;
const LISTED_ROUTES: usize = 5;

/// The subject line.
pub fn subject(items: &[Item], lang: Language) -> String {
    match items {
        [one] => {
            let v = &one.view;
            let summary = match lang {
                Language::En => v["summary"].as_str(),
                Language::Ja => v["summary_ja"].as_str(),
            }
            .unwrap_or_default();
            let sev = severity_name(v["severity"].as_str().unwrap_or_default(), lang);
            match lang {
                Language::En => format!("[bugyo] {} ({sev}): {summary}", heading(one.kind, lang)),
                Language::Ja => format!(
                    "[bugyo] {} (重大度 {sev}): {summary}",
                    heading(one.kind, lang)
                ),
            }
        }
        many => match lang {
            Language::En => format!("[bugyo] {} incident notices", many.len()),
            Language::Ja => format!("[bugyo] インシデントのお知らせ {} 件", many.len()),
        },
    }
}

/// The text of one notice.
fn item_text(item: &Item, lang: Language, out: &mut String) {
    let v = &item.view;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    let id = &v["id"];
    let kind = kind_name(&s("kind"), lang);
    let sev = severity_name(&s("severity"), lang);
    let own = v["own_prefixes"].as_array().map_or(0, Vec::len);
    let rel = &v["relation"];
    let yes = |k: &str| rel[k].as_bool().unwrap_or(false);
    match lang {
        Language::En => {
            let _ = writeln!(
                out,
                "[{}] {kind}, severity {sev}, incident {id}",
                heading(item.kind, lang)
            );
            let _ = writeln!(out, "{}", s("summary"));
            let _ = writeln!(
                out,
                "First seen {}, last seen {}, status {}; {} prefixes in all.",
                s("first_seen"),
                s("last_seen"),
                s("status"),
                n("prefix_count")
            );
            if yes("victim") {
                let _ = writeln!(out, "Your prefixes affected: {own}.");
            }
            if yes("observer") {
                let _ = writeln!(out, "Your routers saw these routes.");
            }
            if yes("culprit") {
                let _ = writeln!(
                    out,
                    "Your AS is named as the cause: the routes below left your network."
                );
            }
        }
        Language::Ja => {
            let _ = writeln!(
                out,
                "【{}】{kind}、重大度 {sev}、インシデント {id}",
                heading(item.kind, lang)
            );
            let _ = writeln!(out, "{}", s("summary_ja"));
            let _ = writeln!(
                out,
                "初観測 {}、最終観測 {}、状態 {}。影響プレフィックス 全 {} 件。",
                s("first_seen"),
                s("last_seen"),
                s("status"),
                n("prefix_count")
            );
            if yes("victim") {
                let _ = writeln!(out, "貴組織のプレフィックスで影響を受けたもの: {own} 件。");
            }
            if yes("observer") {
                let _ = writeln!(out, "貴組織のルーターがこれらの経路を受信しました。");
            }
            if yes("culprit") {
                let _ = writeln!(
                    out,
                    "貴組織の AS が原因とされています。以下の経路が貴組織から広報されました。"
                );
            }
        }
    }
    let listed: Vec<&str> = v["own_prefixes"]
        .as_array()
        .or_else(|| v["prefixes"].as_array())
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .take(LISTED_PREFIXES)
                .collect()
        })
        .unwrap_or_default();
    if !listed.is_empty() {
        let _ = writeln!(out, "  {}", listed.join(" "));
    }
    if let Some(samples) = v["samples"].as_array() {
        for r in samples.iter().take(LISTED_ROUTES) {
            let _ = writeln!(
                out,
                "  {} AS{} {}: {}",
                r["prefix"].as_str().unwrap_or_default(),
                r["peer_asn"],
                r["peer_ip"].as_str().unwrap_or_default(),
                r["as_path"].as_str().unwrap_or_default()
            );
        }
    }
    match lang {
        Language::En => {
            let _ = writeln!(out, "Details: GET /api/v1/incidents/{id} (with your token)");
        }
        Language::Ja => {
            let _ = writeln!(out, "詳細: GET /api/v1/incidents/{id} (トークンが必要です)");
        }
    }
}

/// The plain-text body: the TLP label, then each notice.
pub fn text(items: &[Item], lang: Language) -> String {
    let mut out = String::new();
    let label = tlp(items);
    let _ = writeln!(out, "{label}");
    let _ = match lang {
        Language::En => writeln!(
            out,
            "(Share according to {label}: https://www.first.org/tlp/)\n"
        ),
        Language::Ja => writeln!(
            out,
            "({label} に従って共有してください: https://www.first.org/tlp/)\n"
        ),
    };
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        item_text(item, lang, &mut out);
    }
    out
}

/// One message as the channels send it: a subject and a text (e-mail,
/// Slack), the JSON a webhook receives, and syslog entries.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing {
    /// The e-mail subject (and Slack's first line).
    pub subject: String,
    /// The text, TLP label first.
    pub text: String,
    /// The webhook's JSON body.
    pub json: Value,
    /// One syslog entry per notice or reminder.
    pub syslog: Vec<SyslogEntry>,
    /// The Message-ID (with angle brackets) this answers, if it is a reply
    /// (to a report mail): the e-mail's In-Reply-To and References.
    pub in_reply_to: Option<String>,
}

/// One RFC 5424 syslog message without its header (time and host are the
/// sender's): facility local0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogEntry {
    /// 4 (warning) or 5 (notice).
    pub severity: u8,
    /// MSGID: what it is (`opened`, `resolved`, `detailed-week`...).
    pub msgid: String,
    /// The structured data, `[bugyo@32473 ...]`.
    pub data: String,
    /// The message.
    pub text: String,
}

impl SyslogEntry {
    /// The whole line, as sent from `host` at `at` (RFC 3339).
    pub fn line(&self, host: &str, at: &str) -> String {
        format!(
            "<{}>1 {at} {host} bugyo - {} {} {}",
            16 * 8 + u32::from(self.severity),
            self.msgid,
            self.data,
            self.text
        )
    }
}

/// The message carrying `items` (one notice or a digest) as delivery
/// `delivery`.
pub fn notices(delivery: &str, items: &[Item], lang: Language) -> Outgoing {
    Outgoing {
        subject: subject(items, lang),
        text: text(items, lang),
        json: webhook(delivery, items, lang),
        syslog: syslog(items),
        in_reply_to: None,
    }
}

/// The JSON a webhook receives.
pub fn webhook(delivery: &str, items: &[Item], lang: Language) -> Value {
    json!({
        "delivery": delivery,
        "tlp": tlp(items),
        "language": match lang { Language::En => "en", Language::Ja => "ja" },
        "notices": items.iter().map(|i| json!({
            "notice": i.kind.name(),
            "incident": i.view,
        })).collect::<Vec<_>>(),
    })
}

/// The JSON a Slack-compatible incoming webhook receives.
pub fn slack(out: &Outgoing) -> Value {
    json!({ "text": format!("*{}*\n```\n{}```", out.subject, out.text) })
}

/// One syslog entry per notice (severity warning for high and critical
/// incidents, notice otherwise).
pub fn syslog(items: &[Item]) -> Vec<SyslogEntry> {
    items
        .iter()
        .map(|i| {
            let v = &i.view;
            let sev = v["severity"].as_str().unwrap_or_default();
            SyslogEntry {
                severity: if matches!(sev, "high" | "critical") {
                    4
                } else {
                    5
                },
                msgid: i.kind.name().to_string(),
                data: format!(
                    "[bugyo@32473 incident=\"{}\" kind=\"{}\" severity=\"{sev}\" tlp=\"{}\"]",
                    v["id"],
                    v["kind"].as_str().unwrap_or_default(),
                    v["tlp"].as_str().unwrap_or_default(),
                ),
                text: v["summary"].as_str().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// Which reminder of a report deadline: the same three for the detailed
/// report of a major accident and for the quarterly report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReminderKind {
    /// The report is due within a week.
    DetailedWeek,
    /// The report is due tomorrow or today.
    DetailedDay,
    /// The report is overdue.
    DetailedOverdue,
}

/// The report a reminder is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline<'a> {
    /// The detailed report of report `report_id`, a major accident.
    Detailed {
        /// The report.
        report_id: i64,
    },
    /// The quarterly report of `quarter` (e.g. `FY2021Q3`), listing
    /// `reports`.
    Quarterly {
        /// The fiscal quarter.
        quarter: &'a str,
        /// The organisation's reports of the quarter it lists.
        reports: &'a [i64],
    },
}

impl ReminderKind {
    /// Every kind.
    pub const ALL: [ReminderKind; 3] = [
        ReminderKind::DetailedWeek,
        ReminderKind::DetailedDay,
        ReminderKind::DetailedOverdue,
    ];

    /// The name used in the store and in messages (of the detailed report).
    pub fn name(self) -> &'static str {
        match self {
            ReminderKind::DetailedWeek => "detailed-week",
            ReminderKind::DetailedDay => "detailed-day",
            ReminderKind::DetailedOverdue => "detailed-overdue",
        }
    }

    /// The name of this reminder of `deadline`: `detailed-week`...,
    /// `quarterly-week`, `quarterly-day`, `quarterly-overdue`.
    pub fn name_for(self, deadline: &Deadline<'_>) -> &'static str {
        match (deadline, self) {
            (Deadline::Detailed { .. }, _) => self.name(),
            (Deadline::Quarterly { .. }, ReminderKind::DetailedWeek) => "quarterly-week",
            (Deadline::Quarterly { .. }, ReminderKind::DetailedDay) => "quarterly-day",
            (Deadline::Quarterly { .. }, ReminderKind::DetailedOverdue) => "quarterly-overdue",
        }
    }

    /// The kind named `name` (of either deadline).
    pub fn parse(name: &str) -> Option<ReminderKind> {
        let timing = name
            .strip_prefix("detailed-")
            .or_else(|| name.strip_prefix("quarterly-"))?;
        ReminderKind::ALL
            .into_iter()
            .find(|k| k.name().strip_prefix("detailed-") == Some(timing))
    }

    /// The reminder owed when the report is due in `days_left` days (0:
    /// today; negative: overdue), if any.
    /// A deadline that passed more than [`OVERDUE_REMINDER_DAYS`] ago owes
    /// none: the deadlines page still lists it, but a first deployment (or
    /// a report entered long after the fact) does not mail every contact
    /// about every old quarter and accident.
    pub fn for_days_left(days_left: i64) -> Option<ReminderKind> {
        match days_left {
            i64::MIN..OVERDUE_FLOOR => None,
            OVERDUE_FLOOR..=-1 => Some(ReminderKind::DetailedOverdue),
            0..=1 => Some(ReminderKind::DetailedDay),
            2..=7 => Some(ReminderKind::DetailedWeek),
            _ => None,
        }
    }
}

/// Days after a deadline during which its overdue reminder is still owed.
pub const OVERDUE_REMINDER_DAYS: i64 = 90;
const OVERDUE_FLOOR: i64 = -OVERDUE_REMINDER_DAYS;

/// A reminder of `deadline`, due by `due` (`YYYY-MM-DD`, JST), `days_left`
/// days from today: the detailed report of a major accident, or the
/// quarterly report of a quarter.
pub fn reminder(
    delivery: &str,
    kind: ReminderKind,
    deadline: Deadline<'_>,
    due: &str,
    days_left: i64,
    lang: Language,
) -> Outgoing {
    match deadline {
        Deadline::Detailed { report_id } => {
            detailed_reminder(delivery, kind, report_id, due, days_left, lang)
        }
        Deadline::Quarterly { quarter, reports } => {
            quarterly_reminder(delivery, kind, quarter, reports, due, days_left, lang)
        }
    }
}

fn language_code(lang: Language) -> &'static str {
    match lang {
        Language::En => "en",
        Language::Ja => "ja",
    }
}

/// A reminder that report `report_id` owes its detailed report.
fn detailed_reminder(
    delivery: &str,
    kind: ReminderKind,
    report_id: i64,
    due: &str,
    days_left: i64,
    lang: Language,
) -> Outgoing {
    let (subject, body) = match (lang, days_left) {
        (Language::Ja, d) if d < 0 => (
            format!("[bugyo] 詳細報告の期限を過ぎています: 報告 {report_id} ({due} まで)"),
            format!("報告 {report_id} は重大な事故に当たり、詳細報告の期限 {due} を {} 日過ぎています。速やかに詳細報告 (段階 detailed) を提出してください。", -d),
        ),
        (Language::Ja, d) => (
            format!("[bugyo] 詳細報告の期限が近づいています: 報告 {report_id} ({due} まで、あと {d} 日)"),
            format!("報告 {report_id} は重大な事故に当たり、詳細報告 (発生から30日以内) の期限は {due} です (あと {d} 日)。原因、対策、再発防止策、利用者への周知を含めて提出してください。"),
        ),
        (Language::En, d) if d < 0 => (
            format!("[bugyo] Detailed report overdue: report {report_id} (due {due})"),
            format!("Report {report_id} is a major accident and its detailed report was due on {due}, {} days ago. Please file it (stage detailed) now.", -d),
        ),
        (Language::En, d) => (
            format!("[bugyo] Detailed report due soon: report {report_id} (due {due}, {d} days left)"),
            format!("Report {report_id} is a major accident: its detailed report (within 30 days of the accident) is due on {due}, in {d} days. Include the cause, the measures, recurrence prevention and how users were told."),
        ),
    };
    let text = format!("{REMINDER_TLP}\n\n{body}\n\nGET /api/v1/reports/{report_id}\n");
    reminder_message(
        delivery,
        lang,
        kind.name(),
        (subject, body, text),
        (due, days_left),
        ("report", json!(report_id)),
        format!("report=\"{report_id}\""),
    )
}

/// The label of every reminder: for the organisation only.
const REMINDER_TLP: &str = "TLP:AMBER+STRICT";

/// A reminder's message on every channel: its `subject`, `body` and mail
/// `text`, the deadline `due` with `days_left`, and what it is about
/// (`about`: the JSON key and value, `sd`: the syslog structured data).
fn reminder_message(
    delivery: &str,
    lang: Language,
    name: &str,
    (subject, body, text): (String, String, String),
    (due, days_left): (&str, i64),
    about: (&str, serde_json::Value),
    sd: String,
) -> Outgoing {
    let tlp = REMINDER_TLP;
    let mut json = json!({
        "delivery": delivery,
        "tlp": tlp,
        "language": language_code(lang),
        "reminder": name,
        "due": due,
        "days_left": days_left,
        "text": body,
    });
    json[about.0] = about.1;
    Outgoing {
        text,
        json,
        syslog: vec![SyslogEntry {
            severity: if days_left < 0 { 4 } else { 5 },
            msgid: name.to_string(),
            data: format!("[bugyo@32473 {sd} due=\"{due}\" tlp=\"{tlp}\"]"),
            text: body,
        }],
        subject,
        in_reply_to: None,
    }
}

/// A reminder that the quarterly report of `quarter`, listing `reports`,
/// is owed.
fn quarterly_reminder(
    delivery: &str,
    kind: ReminderKind,
    quarter: &str,
    reports: &[i64],
    due: &str,
    days_left: i64,
    lang: Language,
) -> Outgoing {
    let name = kind.name_for(&Deadline::Quarterly { quarter, reports });
    let ids = reports
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (subject, body) = match (lang, days_left) {
        (Language::Ja, d) if d < 0 => (
            format!("[bugyo] 四半期報告の期限を過ぎています: {quarter} ({due} まで)"),
            format!("{quarter} の四半期報告 (電気通信事業報告規則第7条の3) の期限 {due} を {} 日過ぎています。速やかに提出し、提出したことを bugyo に記録してください (POST /api/v1/quarterly-reports)。対象の報告: {ids}", -d),
        ),
        (Language::Ja, d) => (
            format!("[bugyo] 四半期報告の期限が近づいています: {quarter} ({due} まで、あと {d} 日)"),
            format!("{quarter} の四半期報告 (四半期経過後2か月以内、電気通信事業報告規則第7条の3) の期限は {due} です (あと {d} 日)。四半期報告事故と重大な事故を報告し、提出したことを bugyo に記録してください (POST /api/v1/quarterly-reports)。対象の報告: {ids}"),
        ),
        (Language::En, d) if d < 0 => (
            format!("[bugyo] Quarterly report overdue: {quarter} (due {due})"),
            format!("The quarterly report of {quarter} (Telecommunications Business Reporting Regulations, art. 7-3) was due on {due}, {} days ago. Please file it now and record the filing in bugyo (POST /api/v1/quarterly-reports). Reports it lists: {ids}", -d),
        ),
        (Language::En, d) => (
            format!("[bugyo] Quarterly report due soon: {quarter} (due {due}, {d} days left)"),
            format!("The quarterly report of {quarter} (within two months after the quarter) is due on {due}, in {d} days. Report its quarterly-report accidents and major accidents, and record the filing in bugyo (POST /api/v1/quarterly-reports). Reports it lists: {ids}"),
        ),
    };
    let mut text = format!("{REMINDER_TLP}\n\n{body}\n\n");
    for id in reports {
        text.push_str(&format!("GET /api/v1/reports/{id}\n"));
    }
    let mut m = reminder_message(
        delivery,
        lang,
        name,
        (subject, body, text),
        (due, days_left),
        ("quarter", json!(quarter)),
        format!("quarter=\"{quarter}\""),
    );
    m.json["reports"] = json!(reports);
    m
}

/// Who an advisory is from, in `lang`: the issuing organisation's name,
/// or, for a token without one, the regulator (総務省) or the hub by role.
pub fn advisory_issuer(a: &Advisory, lang: Language) -> String {
    match (&a.issuer_name, a.issuer_role, lang) {
        (Some(name), _, _) => name.clone(),
        (None, Role::Regulator, Language::Ja) => "総務省".into(),
        (None, Role::Regulator, Language::En) => "the regulator".into(),
        (None, _, Language::Ja) => "情報共有ハブ".into(),
        (None, _, Language::En) => "the information-sharing hub".into(),
    }
}

/// An advisory as delivery `delivery`, in `lang`: the subject names who
/// it is from; the text carries its TLP label first, the related incidents
/// and reports as API paths; the webhook gets both languages' fields of
/// the recipient's language; syslog one entry.
pub fn advisory(delivery: &str, a: &Advisory, lang: Language) -> Outgoing {
    let from = advisory_issuer(a, lang);
    let tlp = a.tlp.label();
    let (title, body) = match lang {
        Language::Ja => (&a.title_ja, &a.body_ja),
        Language::En => (&a.title_en, &a.body_en),
    };
    let subject = match lang {
        Language::Ja => format!("[bugyo] {from}からの注意喚起: {title}"),
        Language::En => format!("[bugyo] Advisory from {from}: {title}"),
    };
    let mut text = String::new();
    let _ = writeln!(text, "{tlp}");
    let _ = match lang {
        Language::En => writeln!(
            text,
            "(Share according to {tlp}: https://www.first.org/tlp/)\n"
        ),
        Language::Ja => writeln!(
            text,
            "({tlp} に従って共有してください: https://www.first.org/tlp/)\n"
        ),
    };
    let _ = match lang {
        Language::En => writeln!(text, "Advisory {} from {from}: {title}\n", a.id),
        Language::Ja => writeln!(text, "{from}からの注意喚起 {}: {title}\n", a.id),
    };
    let _ = writeln!(text, "{body}\n");
    let (incidents, reports) = match lang {
        Language::En => ("Related incidents", "Related reports"),
        Language::Ja => ("関連インシデント", "関連する報告"),
    };
    for id in &a.incidents {
        let _ = writeln!(text, "{incidents}: GET /api/v1/incidents/{id}");
    }
    for id in &a.reports {
        let _ = writeln!(text, "{reports}: GET /api/v1/reports/{id}");
    }
    let _ = writeln!(text, "GET /api/v1/advisories/{}", a.id);
    let language = match lang {
        Language::En => "en",
        Language::Ja => "ja",
    };
    Outgoing {
        json: json!({
            "delivery": delivery,
            "tlp": tlp,
            "language": language,
            "advisory": {
                "id": a.id,
                "from": from,
                "title": title,
                "body": body,
                "incidents": a.incidents,
                "reports": a.reports,
                "created_at": a.created_at,
            },
        }),
        syslog: vec![SyslogEntry {
            severity: 5,
            msgid: "advisory".into(),
            data: format!("[bugyo@32473 advisory=\"{}\" tlp=\"{tlp}\"]", a.id),
            text: format!("{from}: {}", a.title_en),
        }],
        subject,
        text,
        in_reply_to: None,
    }
}

/// The name of a statutory classification (`major`, `quarterly`, `none`,
/// `pending`) in `lang`.
fn classification_name(class: &str, lang: Language) -> &str {
    match (class, lang) {
        ("major", Language::En) => "major accident (重大な事故)",
        ("major", Language::Ja) => "重大な事故",
        ("quarterly", Language::En) => "quarterly-report accident (四半期報告事故)",
        ("quarterly", Language::Ja) => "四半期報告事故",
        ("none", Language::En) => "neither a major nor a quarterly-report accident",
        ("none", Language::Ja) => "重大な事故・四半期報告事故のいずれにも当たりません",
        (other, _) => other,
    }
}

/// The reply to a report mail (see `bugyo_store::report_mail`), as
/// delivery `delivery`, in `lang`, answering `in_reply_to`. `what` is the
/// reply's record: `outcome` (`filed`, `amended`, `rejected`), `report`,
/// `version`, `subject`, `refused` and `problems` (lists of texts), and
/// for a refusal `why_text` (the `.why` file's text). `report` is the
/// report's state now, for its classification and due date. The subject
/// of a filing carries the tag `[bugyo report N]`, so answering it
/// follows the report up.
pub fn mail_reply(
    delivery: &str,
    what: &Value,
    report: Option<&bugyo_store::reports::StoredReport>,
    lang: Language,
    in_reply_to: Option<&str>,
) -> Outgoing {
    let s = |k: &str| what[k].as_str().unwrap_or_default();
    let list = |k: &str| -> Vec<String> {
        what[k]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let id = what["report"].as_i64();
    let version = what["version"].as_i64().unwrap_or(1);
    let outcome = s("outcome");
    let original = s("subject");
    let mut text = String::new();
    let tlp = "TLP:AMBER+STRICT";
    let _ = writeln!(text, "{tlp}\n");
    let subject = match (id, outcome, lang) {
        (Some(n), "amended", Language::En) => {
            let _ = writeln!(text, "Your mail was filed as version {version} of report {n} (a follow-up or correction).");
            format!("[bugyo report {n}] Report {n} updated (version {version})")
        }
        (Some(n), "amended", Language::Ja) => {
            let _ = writeln!(text, "お送りいただいたメールを報告 {n} の第 {version} 版 (続報・訂正) として受け付けました。");
            format!("[bugyo report {n}] 報告 {n} を更新しました (第 {version} 版)")
        }
        (Some(n), _, Language::En) => {
            let _ = writeln!(text, "Your mail was filed as report {n}.");
            format!("[bugyo report {n}] Report received: report {n}")
        }
        (Some(n), _, Language::Ja) => {
            let _ = writeln!(
                text,
                "お送りいただいたメールを報告 {n} として受け付けました。"
            );
            format!("[bugyo report {n}] 報告を受け付けました (報告 {n})")
        }
        (None, _, Language::En) => {
            let _ = writeln!(
                text,
                "Your report mail was not filed. Please correct it and send it again."
            );
            format!("[bugyo] Report mail not filed: {original}")
        }
        (None, _, Language::Ja) => {
            let _ = writeln!(text, "お送りいただいた報告メールは受理されませんでした。内容を直して再度お送りください。");
            format!("[bugyo] 報告メールを受理できませんでした: {original}")
        }
    };
    if let Some(n) = id {
        let _ = match lang {
            Language::En => writeln!(text, "To follow it up or correct it, reply to this message, or send a mail whose Subject carries [bugyo report {n}]."),
            Language::Ja => writeln!(text, "続報・訂正は、このメールに返信するか、件名に [bugyo report {n}] を含めてお送りください。"),
        };
        if let Some(r) = report {
            let class = classification_name(&r.classification, lang);
            let _ = match (r.classification.as_str(), lang) {
                ("pending", Language::En) => writeln!(text, "\nClassification: not yet known: give the service class, the users affected and the duration."),
                ("pending", Language::Ja) => writeln!(text, "\n区分: 未判定です。サービス区分、影響利用者数、継続時間をお知らせください。"),
                (_, Language::En) => writeln!(text, "\nClassification: {class}."),
                (_, Language::Ja) => writeln!(text, "\n区分: {class}"),
            };
            if let Some(due) = &r.detailed_report_due {
                let _ = match lang {
                    Language::En => writeln!(
                        text,
                        "The detailed report is due on {due} (within 30 days of the accident)."
                    ),
                    Language::Ja => {
                        writeln!(text, "詳細報告の期限は {due} です (発生から30日以内)。")
                    }
                };
            }
        }
        let refused = list("refused");
        if !refused.is_empty() {
            let _ = match lang {
                Language::En => writeln!(
                    text,
                    "\nFields refused and left out (send them again, corrected):"
                ),
                Language::Ja => writeln!(
                    text,
                    "\n受け付けられず除いた項目 (訂正して再度お送りください):"
                ),
            };
            for r in refused {
                let _ = writeln!(text, "- {r}");
            }
        }
        let problems = list("problems");
        if !problems.is_empty() {
            let _ = match lang {
                Language::En => writeln!(text, "\nWhat could not be read:"),
                Language::Ja => writeln!(text, "\n読み取れなかった箇所:"),
            };
            for p in problems {
                let _ = writeln!(text, "- {p}");
            }
        }
        let _ = writeln!(text, "\nGET /api/v1/reports/{n}");
    } else {
        let _ = writeln!(text, "\n{}", s("why_text").trim_end());
    }
    let language = match lang {
        Language::En => "en",
        Language::Ja => "ja",
    };
    Outgoing {
        json: json!({
            "delivery": delivery,
            "tlp": tlp,
            "language": language,
            "report_mail": what,
            "in_reply_to": in_reply_to,
        }),
        syslog: vec![SyslogEntry {
            severity: if id.is_some() { 5 } else { 4 },
            msgid: "report-mail".into(),
            data: format!(
                "[bugyo@32473 outcome=\"{outcome}\" report=\"{}\"]",
                id.map(|n| n.to_string()).unwrap_or_default()
            ),
            text: subject.clone(),
        }],
        subject,
        text,
        in_reply_to: in_reply_to.map(str::to_string),
    }
}

#[cfg(test)]
mod mail_reply_tests {
    use super::*;

    #[test]
    fn a_filing_gives_the_number_and_the_tag_a_refusal_the_reason() {
        let what = json!({
            "outcome": "filed", "report": 12, "version": 1, "subject": "障害報告",
            "refused": ["field stage: no (left out / この項目は除きました)"],
            "problems": ["label Duration, line 7 of the report text: bad"],
        });
        let ja = mail_reply("d", &what, None, Language::Ja, Some("<a@b>"));
        assert_eq!(
            ja.subject,
            "[bugyo report 12] 報告を受け付けました (報告 12)"
        );
        assert!(
            ja.text.contains("報告 12 として受け付けました"),
            "{}",
            ja.text
        );
        assert!(
            ja.text.contains("件名に [bugyo report 12] を含めて"),
            "{}",
            ja.text
        );
        assert!(ja.text.contains("- field stage: no"), "{}", ja.text);
        assert!(ja.text.contains("- label Duration"), "{}", ja.text);
        assert_eq!(ja.in_reply_to.as_deref(), Some("<a@b>"));
        let en = mail_reply("d", &what, None, Language::En, None);
        assert!(
            en.text.contains("Fields refused and left out"),
            "{}",
            en.text
        );
        let refused = json!({
            "outcome": "rejected", "subject": "outage",
            "why_text": "This report mail was not filed: no situation\nこの報告メールは受理されませんでした: 状況がありません\n",
        });
        let en = mail_reply("d", &refused, None, Language::En, None);
        assert_eq!(en.subject, "[bugyo] Report mail not filed: outage");
        assert!(
            en.text
                .contains("This report mail was not filed: no situation\nこの報告メール"),
            "{}",
            en.text
        );
        assert_eq!(en.syslog[0].severity, 4);
    }
}

#[cfg(test)]
mod advisory_tests {
    use super::*;
    use bugyo_store::audience::Tlp;

    fn sample(issuer: Option<&str>, role: Role) -> Advisory {
        Advisory {
            id: 4,
            created_at: 0,
            issuer_role: role,
            issuer_org_id: issuer.map(|_| 1),
            issuer_org: issuer.map(|_| "mic".to_string()),
            issuer_name: issuer.map(str::to_string),
            token_id: Some(1),
            user_id: None,
            title_ja: "経路リーク".into(),
            title_en: "Route leak".into(),
            body_ja: "フィルターを確認してください。".into(),
            body_en: "Check your filters.".into(),
            tlp: Tlp::Green,
            incidents: vec![12],
            reports: vec![3],
            recipients: vec![(2, "ocn".into())],
        }
    }

    #[test]
    fn advisories_in_both_languages_on_every_channel() {
        let a = sample(Some("総務省 総合通信基盤局"), Role::Regulator);
        let ja = advisory("d1", &a, Language::Ja);
        assert_eq!(
            ja.subject,
            "[bugyo] 総務省 総合通信基盤局からの注意喚起: 経路リーク"
        );
        assert!(ja.text.starts_with("TLP:GREEN\n"), "{}", ja.text);
        assert!(ja.text.contains("フィルターを確認してください。"));
        assert!(ja.text.contains("GET /api/v1/incidents/12"));
        assert!(ja.text.contains("GET /api/v1/reports/3"));
        assert_eq!(ja.json["advisory"]["title"], "経路リーク");
        assert_eq!(ja.json["language"], "ja");
        let line = ja.syslog[0].line("h", "t");
        assert!(
            line.starts_with("<133>1 t h bugyo - advisory [bugyo@32473 advisory=\"4\""),
            "{line}"
        );
        let en = advisory("d2", &sample(None, Role::Regulator), Language::En);
        assert_eq!(
            en.subject,
            "[bugyo] Advisory from the regulator: Route leak"
        );
        assert_eq!(en.json["advisory"]["body"], "Check your filters.");
        let ja = advisory("d3", &sample(None, Role::Regulator), Language::Ja);
        assert_eq!(ja.subject, "[bugyo] 総務省からの注意喚起: 経路リーク");
        let hub = advisory("d4", &sample(None, Role::Analyst), Language::En);
        assert!(hub.subject.contains("the information-sharing hub"));
        assert!(
            !hub.text.contains("ocn"),
            "a recipient is not told who else got it"
        );
    }
}

#[cfg(test)]
mod reminder_tests {
    use super::*;

    #[test]
    fn the_reminder_owed_by_days_left() {
        let k = ReminderKind::for_days_left;
        assert_eq!(k(30), None);
        assert_eq!(k(8), None);
        assert_eq!(k(7), Some(ReminderKind::DetailedWeek));
        assert_eq!(k(2), Some(ReminderKind::DetailedWeek));
        assert_eq!(k(1), Some(ReminderKind::DetailedDay));
        assert_eq!(k(0), Some(ReminderKind::DetailedDay));
        assert_eq!(k(-1), Some(ReminderKind::DetailedOverdue));
        assert_eq!(k(-90), Some(ReminderKind::DetailedOverdue));
        assert_eq!(k(-91), None, "too old to remind");
        assert_eq!(k(i64::MIN), None);
    }

    #[test]
    fn reminders_in_both_languages_on_every_channel() {
        let en = reminder(
            "d1",
            ReminderKind::DetailedWeek,
            Deadline::Detailed { report_id: 7 },
            "2024-02-29",
            5,
            Language::En,
        );
        assert!(en.subject.contains("report 7") && en.subject.contains("2024-02-29"));
        assert!(en.text.starts_with("TLP:AMBER+STRICT\n"), "{}", en.text);
        assert_eq!(en.json["reminder"], "detailed-week");
        assert_eq!(en.json["days_left"], 5);
        let line = en.syslog[0].line("host", "2024-02-24T00:00:00Z");
        assert!(
            line.starts_with(
                "<133>1 2024-02-24T00:00:00Z host bugyo - detailed-week [bugyo@32473 report=\"7\""
            ),
            "{line}"
        );
        let ja = reminder(
            "d2",
            ReminderKind::DetailedOverdue,
            Deadline::Detailed { report_id: 7 },
            "2024-02-29",
            -3,
            Language::Ja,
        );
        assert!(ja.subject.contains("期限を過ぎています"), "{}", ja.subject);
        assert!(ja.text.contains("3 日過ぎています"), "{}", ja.text);
        assert!(
            ja.syslog[0].line("h", "t").starts_with("<132>"),
            "overdue is a warning"
        );
    }

    #[test]
    fn quarterly_reminders_in_both_languages_on_every_channel() {
        let q = Deadline::Quarterly {
            quarter: "FY2021Q3",
            reports: &[3, 9],
        };
        assert_eq!(ReminderKind::DetailedWeek.name_for(&q), "quarterly-week");
        for k in ReminderKind::ALL {
            assert_eq!(ReminderKind::parse(k.name_for(&q)), Some(k));
            assert_eq!(ReminderKind::parse(k.name()), Some(k));
        }
        assert_eq!(ReminderKind::parse("quarterly-soon"), None);
        let ja = reminder(
            "d3",
            ReminderKind::DetailedWeek,
            q,
            "2022-02-28",
            5,
            Language::Ja,
        );
        assert!(
            ja.subject.contains("四半期報告の期限が近づいています")
                && ja.subject.contains("FY2021Q3")
                && ja.subject.contains("あと 5 日"),
            "{}",
            ja.subject
        );
        assert!(ja.text.contains("GET /api/v1/reports/9"), "{}", ja.text);
        assert_eq!(ja.json["reminder"], "quarterly-week");
        assert_eq!(ja.json["quarter"], "FY2021Q3");
        assert_eq!(ja.json["reports"], json!([3, 9]));
        let en = reminder(
            "d4",
            ReminderKind::DetailedOverdue,
            q,
            "2022-02-28",
            -2,
            Language::En,
        );
        assert!(en
            .subject
            .starts_with("[bugyo] Quarterly report overdue: FY2021Q3"));
        let line = en.syslog[0].line("h", "t");
        assert!(
            line.starts_with(
                "<132>1 t h bugyo - quarterly-overdue [bugyo@32473 quarter=\"FY2021Q3\""
            ),
            "{line}"
        );
    }
}
