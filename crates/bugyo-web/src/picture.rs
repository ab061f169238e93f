//! `/picture`: the regulator's whole picture. Outage reports and detected
//! incidents of a time window in one view, grouped by common cause
//! (`bugyo_store::picture`): linked by the reporter, a shared upstream
//! (the leaker or where it leaked to), the same time and victim, or the
//! same area; each group says why it is one. For the regulator and the hub;
//! reading reports not shared with operators is audited, as in the API.

use crate::lang::Lang;
use crate::layout::{kind, page, severity, time};
use crate::session::Signed;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_store::picture::{Member, WholePicture};
use bugyo_store::Role;
use maud::{html, Markup};

const OVERSIGHT: &[Role] = &[Role::Regulator, Role::Analyst, Role::Admin];
/// The window shown when none is asked for.
const DEFAULT_DAYS: i64 = 7;
/// The longest window.
const MAX_DAYS: i64 = 400;

/// A JST date `YYYY-MM-DD` as Unix microseconds of its midnight.
fn jst_midnight(field: &str, v: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::bad_field(
            field,
            format!("{v:?}: a date such as 2017-08-25 / 2017-08-25 のような日付"),
        )
    };
    let mut parts = v.trim().splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let date = bugyo_report::calendar::Date::new(
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    Ok((date.days() * 86_400 - 9 * 3_600) * 1_000_000)
}

fn window(q: &[(String, String)]) -> Result<(i64, i64), ApiError> {
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let until = match get("until") {
        Some(v) => jst_midnight("until", v)? + 86_400 * 1_000_000,
        None => crate::now_micros(),
    };
    let since = match get("since") {
        Some(v) => jst_midnight("since", v)?,
        None => until - DEFAULT_DAYS * 86_400 * 1_000_000,
    };
    if since >= until || until - since > MAX_DAYS * 86_400 * 1_000_000 {
        return Err(ApiError::bad_field(
            "since",
            "the window must be 1 to 400 days / 期間は1〜400日",
        ));
    }
    Ok((since, until))
}

async fn load(
    state: &ApiState,
    c: &Caller,
    q: &[(String, String)],
) -> Result<WholePicture, ApiError> {
    c.require(OVERSIGHT)?;
    let (since, until) = window(q)?;
    let p = state.store.whole_picture(since, until).await?;
    let mut unshared = Vec::new();
    for g in &p.groups {
        for r in &g.reports {
            if let Some(s) = state.store.report(r.id).await? {
                if !s.sharing.operators {
                    unshared.push(r.id.to_string());
                }
            }
        }
    }
    if !unshared.is_empty() {
        c.audit_with(state, "read-report", "picture".into(), unshared.join(","))
            .await?;
    }
    Ok(p)
}

fn member(lang: Lang, m: &Member) -> Markup {
    match m {
        Member::Incident(id) => {
            html! { a href={ "/incidents/" (id) } { (lang.pick("インシデント #", "incident #")) (id) } }
        }
        Member::Report(id) => {
            html! { a href={ "/reports/" (id) } { (lang.pick("報告 #", "report #")) (id) } }
        }
    }
}

fn rule(lang: Lang, kind: &str, rule: &str) -> String {
    match (lang, kind) {
        (Lang::Ja, "linked") => "報告者が関連付け".into(),
        (Lang::Ja, "shared-upstream") => {
            format!("共通の上流 {}", rule.trim_start_matches("shared-upstream "))
        }
        (Lang::Ja, "same-time-and-victim") => "同時刻・同じ被害 AS".into(),
        (Lang::Ja, "same-area") => format!("同じ地域 {}", rule.trim_start_matches("same area ")),
        _ => rule.into(),
    }
}

/// The advisory form, filled with a group's members, incidents and reports.
fn advise_link(g: &bugyo_store::picture::CauseGroup) -> String {
    let mut q: Vec<String> = g
        .orgs
        .iter()
        .map(|o| format!("org={}", enc(&o.handle)))
        .collect();
    q.extend(
        g.incidents
            .iter()
            .map(|i| format!("incident={}", i.incident.id)),
    );
    q.extend(g.reports.iter().map(|r| format!("report={}", r.id)));
    format!("/advisories/new?{}", q.join("&"))
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `GET /picture?since=YYYY-MM-DD&until=YYYY-MM-DD` (JST dates).
pub async fn picture(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let p = match load(&state, &c, &q).await {
        Ok(p) => p,
        Err(e) => return crate::error_page(lang, Some(&c), &e),
    };
    let date = |micros: i64| {
        bugyo_report::calendar::Date::jst(bugyo_model::Timestamp::from_micros(micros)).to_string()
    };
    page(
        lang,
        lang.pick("全体像: 障害報告と検知インシデント", "Whole picture: outage reports and detected incidents"),
        Some(&c),
        html! {
            form method="get" action="/picture" {
                label for="since" { (lang.pick("開始日", "From")) } " "
                input #since type="text" name="since" value=(date(p.since)) style="max-width:9rem";
                " " label for="until" { (lang.pick("終了日", "To")) } " "
                input #until type="text" name="until" value=(date(p.until - 1)) style="max-width:9rem";
                " " button type="submit" { (lang.pick("表示", "Show")) }
            }
            p { (lang.pick("報告 ", "Reports: ")) (p.report_count) ", " (lang.pick("インシデント ", "incidents: ")) (p.incident_count)
                ", " (lang.pick("まとまり ", "groups: ")) (p.groups.len()) }
            @for (n, g) in p.groups.iter().enumerate() {
                section.group id={ "group-" (n + 1) } {
                    h2 { (lang.pick("まとまり ", "Group ")) (n + 1) ": " (time(g.start)) " – " (time(g.end)) }
                    @if !g.upstream_asns.is_empty() {
                        p { (lang.pick("共通の上流 AS: ", "Upstream ASes: "))
                            (g.upstream_asns.iter().map(|a| format!("AS{a}")).collect::<Vec<_>>().join(", ")) }
                    }
                    @if !g.areas.is_empty() { p { (lang.pick("地域: ", "Areas: ")) (g.areas.join(", ")) } }
                    @if !g.orgs.is_empty() {
                        p { (lang.pick("関係する会員: ", "Members concerned: "))
                            @for o in &g.orgs {
                                (o.handle) @if o.reported { (lang.pick("(報告済み)", " (reported)")) } " "
                            }
                        }
                    }
                    @if !g.orgs.is_empty() {
                        p { a.advise href=(advise_link(g)) { (lang.pick("関係する会員に注意喚起を送る", "Send an advisory to the members concerned")) } }
                    }
                    @if !g.reasons.is_empty() {
                        h3 { (lang.pick("まとめた理由", "Why these belong together")) }
                        ul.reasons { @for r in &g.reasons {
                            li { (member(lang, &r.a)) " — " (member(lang, &r.b)) ": " (rule(lang, r.kind, &r.rule)) }
                        } }
                    }
                    @if !g.incidents.is_empty() {
                        table.incidents {
                            thead { tr { th { "#" } th { (lang.pick("深刻度", "Severity")) } th { (lang.pick("種類", "Kind")) } th { (lang.pick("概要", "Summary")) } } }
                            tbody { @for i in &g.incidents {
                                tr {
                                    td { a href={ "/incidents/" (i.incident.id) } { (i.incident.id) } }
                                    td { (severity(lang, &i.incident.severity)) }
                                    td { (kind(lang, &i.incident.kind)) }
                                    td { (lang.pick(&i.incident.summary_ja, &i.incident.summary)) }
                                }
                            } }
                        }
                    }
                    @if !g.reports.is_empty() {
                        table.reports {
                            thead { tr {
                                th { "#" } th { (lang.pick("事業者", "Operator")) } th { (lang.pick("発生", "Occurred")) }
                                th { (lang.pick("地域", "Area")) } th { (lang.pick("影響利用者数", "Users")) } th { (lang.pick("状況", "Situation")) }
                            } }
                            tbody { @for r in &g.reports {
                                tr {
                                    td { a href={ "/reports/" (r.id) } { (r.id) } }
                                    td { (r.org) }
                                    td { (time(r.occurred_at)) }
                                    td { (r.area.as_deref().unwrap_or("—")) }
                                    td { (r.users.map(|u| u.to_string()).or_else(|| r.users_estimate.clone()).unwrap_or_else(|| "—".into())) }
                                    td { (r.situation) }
                                }
                            } }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}
