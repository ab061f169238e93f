//! `/`: the NOC dashboard. What is open now (severity, kind, culprit,
//! victims, age), how the visitor's own prefixes and ASes stand, and the
//! health of the feeds: every collector peer and BMP router for the hub and
//! the regulator, a member's own routers for a member.

use crate::lang::Lang;
use crate::layout::{age, asn, kind, page, severity, time};
use crate::session::Signed;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bugyo_api::{ApiState, Caller};
use bugyo_io::rib_query::PrefixState;
use bugyo_store::{IncidentFilter, Role};
use maud::{html, Markup};

/// How long the dashboard waits for the live RIB's answer.
const RIB_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
/// Most open incidents listed.
const OPEN_SHOWN: u32 = 200;
/// Most of the visitor's prefixes checked one by one.
const PREFIXES_SHOWN: usize = 100;

/// `GET /`.
pub async fn dashboard(State(state): State<ApiState>, lang: Lang, Signed(c): Signed) -> Response {
    match render(&state, lang, &c).await {
        Ok(m) => m.into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

async fn render(
    state: &ApiState,
    lang: Lang,
    c: &Caller,
) -> Result<Markup, bugyo_api::error::ApiError> {
    let now = crate::now_micros();
    let mut open = state
        .store
        .incidents(&IncidentFilter {
            status: Some("open".into()),
            limit: Some(OPEN_SHOWN),
            ..Default::default()
        })
        .await?;
    let rank = |s: &str| s.parse::<bugyo_detect::Severity>().ok();
    open.sort_by(|a, b| {
        rank(&b.severity)
            .cmp(&rank(&a.severity))
            .then(b.first_seen.cmp(&a.first_seen))
    });
    let ids: Vec<i64> = open.iter().map(|i| i.id).collect();
    let mut asns = state.store.incidents_asns(&ids).await?;
    let victims: Vec<Vec<u32>> = open
        .iter()
        .map(|i| {
            asns.remove(&i.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, role, _)| role == "victim")
                .map(|(a, _, _)| a)
                .collect()
        })
        .collect();
    let org = match c.token.org_id {
        Some(id) => state.store.org_by_id(id).await?,
        None => None,
    };
    let mut mine = Vec::new();
    // The live RIB's view of the prefixes, if the loop answers in time.
    let live: Option<Vec<PrefixState>> = match (&org, &state.rib) {
        (Some(o), Some(rib)) if !o.prefixes.is_empty() => {
            let asked: Vec<_> = o.prefixes.iter().take(PREFIXES_SHOWN).copied().collect();
            rib.ask(&asked, RIB_WAIT).await
        }
        _ => None,
    };
    if let Some(o) = &org {
        for p in o.prefixes.iter().take(PREFIXES_SHOWN) {
            let touching = state
                .store
                .incidents(&IncidentFilter {
                    prefix: Some(*p),
                    status: Some("open".into()),
                    limit: Some(10),
                    ..Default::default()
                })
                .await?;
            let seen = live
                .as_ref()
                .and_then(|l| l.iter().find(|s| s.prefix == *p))
                .cloned();
            mine.push((p.to_string(), touching, seen));
        }
        for a in &o.asns {
            let touching = state
                .store
                .incidents(&IncidentFilter {
                    asn: Some(*a),
                    status: Some("open".into()),
                    limit: Some(10),
                    ..Default::default()
                })
                .await?;
            mine.push((format!("AS{a}"), touching, None));
        }
    }
    let advisories = match (c.token.role, c.token.org_id) {
        (Role::Member, Some(_)) => bugyo_api::advisories::readable_list(state, c).await?,
        _ => Vec::new(),
    };
    let recent: Vec<_> = advisories.into_iter().rev().take(5).rev().collect();
    let own_asns: Vec<u32> = org.as_ref().map(|o| o.asns.clone()).unwrap_or_default();
    let title = lang.pick("NOC ダッシュボード", "NOC dashboard");
    Ok(page(
        lang,
        title,
        Some(c),
        html! {
            p { (lang.pick("ログイン中: ", "Signed in as: "))
                @if let Some(o) = &org { (o.name) " (" (o.handle) "), " }
                (role_name(lang, c.token.role)) }
            @if !recent.is_empty() {
                h2 { (lang.pick("最近の注意喚起", "Recent advisories")) }
                (crate::advisories::table(lang, &recent))
            }
            h2 { (lang.pick("対応中のインシデント", "Open incidents")) " (" (open.len()) ")" }
            @if open.is_empty() {
                p { (lang.pick("対応中のインシデントはありません。", "No open incidents.")) }
            } @else {
                table #open-incidents {
                    thead { tr {
                        th { (lang.pick("深刻度", "Severity")) }
                        th { (lang.pick("種類", "Kind")) }
                        th { (lang.pick("原因 AS", "Culprit")) }
                        th { (lang.pick("被害 AS", "Victims")) }
                        th { (lang.pick("プレフィックス数", "Prefixes")) }
                        th { (lang.pick("発生", "Since")) }
                        th { (lang.pick("概要", "Summary")) }
                    } }
                    tbody {
                        @for (i, v) in open.iter().zip(&victims) {
                            tr {
                                td { (severity(lang, &i.severity)) }
                                td { (kind(lang, &i.kind)) }
                                td { (asn(i.culprit_asn.map(u64::from), None)) }
                                td { (victim_list(v)) }
                                td.num { (i.prefix_count) }
                                td { (time(i.first_seen)) br; small { (age(lang, i.first_seen, now)) } }
                                td { a href={ "/incidents/" (i.id) } { (lang.pick(&i.summary_ja, &i.summary)) } }
                            }
                        }
                    }
                }
            }
            @if org.is_some() {
                h2 { (lang.pick("自組織のプレフィックスと AS", "My prefixes and ASes")) }
                @if mine.is_empty() {
                    p { (lang.pick("登録されたプレフィックス・AS はありません。", "No prefixes or ASes registered.")) }
                } @else {
                    table #my-resources {
                        thead { tr {
                            th { (lang.pick("資源", "Resource")) }
                            th { (lang.pick("経路の状態(現在)", "Routes now")) }
                            th { (lang.pick("インシデント", "Incidents")) }
                        } }
                        tbody { @for (what, touching, seen) in &mine {
                            tr {
                                td { code { (what) } }
                                td { @if let Some(s) = seen { (routes_now(lang, s, &own_asns)) } @else { "—" } }
                                td {
                                    @if touching.is_empty() { (lang.pick("異常なし", "No open incident")) }
                                    @for i in touching {
                                        (severity(lang, &i.severity)) " "
                                        a href={ "/incidents/" (i.id) } { (kind(lang, &i.kind)) " #" (i.id) } " "
                                    }
                                }
                            }
                        } }
                    }
                    @if state.rib.is_some() && live.is_none() && org.as_ref().is_some_and(|o| !o.prefixes.is_empty()) {
                        p.notice { (lang.pick("経路表が応答しませんでした(処理中)。現在の経路の状態は表示していません。",
                            "The live RIB did not answer in time (busy); routes now are not shown.")) }
                    }
                }
            }
            h2 { (lang.pick("フィードの状態", "Feed health")) }
            (feeds(state, lang, c))
        },
    ))
}

/// A prefix in the live RIB in words: how many peers carry it, from which
/// origins, RPKI validity; a warning when nobody carries it, when an
/// origin is not the member's own, or when RPKI says invalid.
fn routes_now(lang: Lang, s: &PrefixState, own: &[u32]) -> Markup {
    let foreign: Vec<u32> = s
        .origins
        .iter()
        .map(|o| o.0)
        .filter(|a| !own.contains(a))
        .collect();
    let invalid = s.origins.iter().any(|o| o.1 == "invalid");
    html! {
        @if s.routes == 0 {
            span.error { (lang.pick("どのピアからも見えていません", "Not seen by any peer")) }
        } @else {
            (lang.pick("ピア ", "")) (s.routes) " / " (s.peers) (lang.pick(" が経路を保持", " peers carry it")) "; "
            (lang.pick("オリジン ", "origin "))
            @for (asn, rov) in &s.origins { "AS" (asn) " (RPKI " (rov) ") " }
            @if !foreign.is_empty() {
                br; span.error { (lang.pick("自組織以外のオリジン: ", "Origin not yours: "))
                    (foreign.iter().map(|a| format!("AS{a}")).collect::<Vec<_>>().join(", ")) }
            }
            @if invalid { br; span.error { (lang.pick("RPKI 不正", "RPKI invalid")) } }
        }
    }
}

fn victim_list(v: &[u32]) -> String {
    let mut s: Vec<String> = v.iter().take(5).map(|a| format!("AS{a}")).collect();
    if v.len() > 5 {
        s.push(format!("+{}", v.len() - 5));
    }
    s.join(", ")
}

fn role_name(lang: Lang, r: Role) -> &'static str {
    match r {
        Role::Member => lang.pick("会員", "member"),
        Role::Analyst => lang.pick("分析担当(ハブ)", "analyst (hub)"),
        Role::Regulator => lang.pick("規制当局", "regulator"),
        Role::Admin => lang.pick("管理者", "administrator"),
    }
}

/// The BGP sessions and BMP routers the visitor may see.
fn feeds(state: &ApiState, lang: Lang, c: &Caller) -> Markup {
    let everything = c.token.role != Role::Member;
    let now = crate::now_micros();
    let bgp: Vec<_> = state
        .metrics
        .bgp
        .as_ref()
        .map(|b| b.snapshot())
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _)| everything || c.asns.contains(&p.asn.0))
        .collect();
    let bmp: Vec<_> = if everything {
        state
            .metrics
            .bmp
            .as_ref()
            .map(|b| b.snapshot())
            .unwrap_or_default()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    html! {
        @if bgp.is_empty() && bmp.is_empty() {
            p { (lang.pick("表示できるフィードはありません。", "No feeds to show.")) }
        }
        @if !bgp.is_empty() {
            table #bgp-feeds {
                thead { tr {
                    th { (lang.pick("BGP ピア", "BGP peer")) }
                    th { (lang.pick("状態", "State")) }
                    th { (lang.pick("最終受信", "Last message")) }
                    th { (lang.pick("UPDATE 数", "UPDATEs")) }
                    th { (lang.pick("広告", "Announced")) }
                    th { (lang.pick("取消", "Withdrawn")) }
                } }
                tbody { @for (p, s) in &bgp {
                    tr {
                        td { (p.to_string()) }
                        td { (format!("{:?}", s.state)) }
                        td { @match s.last_message { Some(t) => { (age(lang, t.as_micros(), now)) }, None => { "—" } } }
                        td.num { (s.updates) }
                        td.num { (s.announced) }
                        td.num { (s.withdrawn) }
                    }
                } }
            }
        }
        @if !bmp.is_empty() {
            table #bmp-feeds {
                thead { tr {
                    th { (lang.pick("BMP ルーター", "BMP router")) }
                    th { (lang.pick("接続", "Connected")) }
                    th { (lang.pick("メッセージ", "Messages")) }
                    th { (lang.pick("エラー", "Errors")) }
                } }
                tbody { @for (r, s) in &bmp {
                    tr {
                        td { (r.to_string()) @if let Some(n) = &s.sys_name { " (" (n) ")" } }
                        td { (if s.connected { lang.pick("接続中", "yes") } else { lang.pick("切断", "no") }) }
                        td.num { (s.messages) }
                        td.num { (s.errors) }
                    }
                } }
            }
        }
    }
}
