//! The words of a notice, in the recipient's language, from one template:
//! a message is one notice or a digest of several, each rendered from the
//! recipient's own view of the incident (see `bugyo_store::audience`), so a
//! message never holds more than the recipient may see. The message carries
//! the strictest TLP label of its notices on its first line.

use crate::policy::NoticeKind;
use bugyo_detect::{AnomalyKind, Severity};
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
pub fn slack(items: &[Item], lang: Language) -> Value {
    json!({ "text": format!("*{}*\n```\n{}```", subject(items, lang), text(items, lang)) })
}

/// One RFC 5424 syslog line per notice (facility local0; severity warning
/// for high and critical incidents, notice otherwise).
pub fn syslog(items: &[Item], host: &str, at: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            let v = &i.view;
            let sev = v["severity"].as_str().unwrap_or_default();
            let pri = 16 * 8 + if matches!(sev, "high" | "critical") { 4 } else { 5 };
            format!(
                "<{pri}>1 {at} {host} bugyo - {} [bugyo@32473 incident=\"{}\" kind=\"{}\" severity=\"{sev}\" tlp=\"{}\"] {}",
                i.kind.name(),
                v["id"],
                v["kind"].as_str().unwrap_or_default(),
                v["tlp"].as_str().unwrap_or_default(),
                v["summary"].as_str().unwrap_or_default()
            )
        })
        .collect()
}
