//! The frame every page shares: `<html lang>`, the navigation for the
//! visitor's role, the language switch, one small style sheet and no
//! script; and the little pieces pages repeat (times in JST with UTC on
//! hover, severity and TLP badges).

use crate::lang::Lang;
use bugyo_api::Caller;
use bugyo_model::Timestamp;
use bugyo_store::Role;
use maud::{html, Markup, DOCTYPE};

/// The style sheet, inline: one request per page, nothing to cache-bust.
const STYLE: &str = r#"
body{font-family:system-ui,"Hiragino Sans","Noto Sans CJK JP",sans-serif;margin:0;color:#1b1b1b;background:#fafafa;line-height:1.5}
header{background:#1d3557;color:#fff;padding:.5rem 1rem;display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff}header .brand{font-weight:bold;text-decoration:none;margin-right:1rem}
main{padding:1rem 1.5rem;max-width:80rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev{padding:0 .4rem;border-radius:.3rem;color:#fff;font-size:.9em}
.sev-critical{background:#7b0000}.sev-high{background:#c1121f}.sev-medium{background:#e76f51}.sev-low{background:#6c757d}.sev-info{background:#457b9d}
.tlp{font-family:monospace;background:#000;padding:0 .3rem}.tlp-clear{color:#fff}.tlp-green{color:#33ff00}.tlp-amber{color:#ffc000}
.field{margin:.6rem 0}.field label{display:block;font-weight:600}.field .hint{color:#555;font-size:.9em}
.error{color:#b00020;font-weight:600}.field.invalid input,.field.invalid textarea,.field.invalid select{border:2px solid #b00020}
input[type=text],input[type=number],input[type=datetime-local],textarea,select{width:100%;max-width:40rem;box-sizing:border-box;padding:.3rem}
textarea{min-height:4rem}
.before{background:#fde2e2;text-decoration:line-through}.after{background:#e2f7e2}
.notice{background:#fff3cd;border:1px solid #e0c36c;padding:.5rem 1rem}
figure{margin:1rem 0}figcaption{font-size:.9em;color:#444}
svg text{font-family:system-ui,sans-serif}
pre{white-space:pre-wrap}
"#;

/// A whole page: `title`, the navigation for `who`, then `body`.
pub fn page(lang: Lang, title: &str, who: Option<&Caller>, body: Markup) -> Markup {
    let role = who.map(|c| c.token.role);
    let oversight = matches!(role, Some(Role::Regulator | Role::Analyst | Role::Admin));
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — bugyo" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/" { (lang.pick("経路奉行 bugyo", "bugyo route monitor")) }
                    @if who.is_some() {
                        a href="/" { (lang.pick("ダッシュボード", "Dashboard")) }
                        a href="/reports" { (lang.pick("障害報告", "Outage reports")) }
                        a href="/advisories" { (lang.pick("注意喚起", "Advisories")) }
                        a href="/deadlines" { (lang.pick("報告の期限", "Deadlines")) }
                    }
                    @if role.is_some_and(|r| matches!(r, Role::Member | Role::Admin)) {
                        a href="/reports/new" { (lang.pick("第一報を提出", "File a first report")) }
                    }
                    @if oversight {
                        a href="/picture" { (lang.pick("全体像", "Whole picture")) }
                        a href="/statistics" { (lang.pick("統計", "Statistics")) }
                    }
                    a href="/status" { (lang.pick("公開状況ページ", "Public status")) }
                    a href={ "/lang?to=" (lang.other().code()) } hreflang=(lang.other().code()) {
                        (lang.pick("English", "日本語"))
                    }
                    @if who.is_some() {
                        a href="/account" { (lang.pick("アカウント", "Account")) }
                        form method="post" action="/logout" style="display:inline" {
                            button type="submit" { (lang.pick("ログアウト", "Sign out")) }
                        }
                    } @else {
                        a href="/login" { (lang.pick("ログイン", "Sign in")) }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A time shown in JST, with the UTC time on hover and in `datetime`.
pub fn time(micros: i64) -> Markup {
    let t = Timestamp::from_micros(micros);
    let utc = t.rfc3339();
    let jst = bugyo_report::calendar::jst_rfc3339(Timestamp {
        secs: t.secs,
        micros: 0,
    });
    let shown = format!("{} {} JST", &jst[..10], &jst[11..16]);
    let hover = format!("{} {} UTC", &utc[..10], &utc[11..19]);
    html! { time datetime=(utc) title=(hover) { (shown) } }
}

/// How long ago `micros` was, from `now_micros`, in words.
pub fn age(lang: Lang, micros: i64, now_micros: i64) -> String {
    let secs = (now_micros - micros).max(0) / 1_000_000;
    let (n, ja, en) = if secs < 3_600 {
        (secs / 60, "分", "min")
    } else if secs < 172_800 {
        (secs / 3_600, "時間", "h")
    } else {
        (secs / 86_400, "日", "d")
    };
    match lang {
        Lang::Ja => format!("{n}{ja}前"),
        Lang::En => format!("{n} {en} ago"),
    }
}

/// A severity as a coloured badge.
pub fn severity(lang: Lang, name: &str) -> Markup {
    let label = match (lang, name) {
        (Lang::Ja, "critical") => "緊急",
        (Lang::Ja, "high") => "高",
        (Lang::Ja, "medium") => "中",
        (Lang::Ja, "low") => "低",
        (Lang::Ja, "info") => "情報",
        (_, other) => other,
    };
    html! { span class={ "sev sev-" (name) } { (label) } }
}

/// A TLP 2.0 label as a badge.
pub fn tlp(label: &str) -> Markup {
    let class = if label.contains("AMBER") {
        "tlp tlp-amber"
    } else if label.contains("GREEN") {
        "tlp tlp-green"
    } else {
        "tlp tlp-clear"
    };
    html! { span class=(class) { (label) } }
}

/// An incident kind in words (the detector's own names).
pub fn kind(lang: Lang, name: &str) -> String {
    match bugyo_detect::AnomalyKind::ALL
        .iter()
        .find(|k| k.name() == name)
    {
        Some(k) => lang.pick(k.name_ja(), k.name()).to_string(),
        None => name.to_string(),
    }
}

/// An AS number with its name, if known.
pub fn asn(n: Option<u64>, name: Option<&str>) -> String {
    match (n, name) {
        (Some(n), Some(name)) if !name.is_empty() => format!("AS{n} ({name})"),
        (Some(n), _) => format!("AS{n}"),
        (None, _) => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_jst_and_keep_utc() {
        // 2017-08-25 03:22 UTC is 12:22 JST.
        let m = time(1_503_631_320_000_000).into_string();
        assert!(m.contains("2017-08-25 12:22 JST"), "{m}");
        assert!(m.contains("title=\"2017-08-25 03:22:00 UTC\""), "{m}");
        assert!(m.contains("datetime=\"2017-08-25T03:22:00Z\""), "{m}");
    }

    #[test]
    fn every_page_says_its_language() {
        for lang in [Lang::Ja, Lang::En] {
            let p = page(lang, "t", None, html! {}).into_string();
            assert!(
                p.contains(&format!("<html lang=\"{}\">", lang.code())),
                "{p}"
            );
        }
    }
}
