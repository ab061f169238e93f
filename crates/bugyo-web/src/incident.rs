//! `/incidents/{id}`: one incident as the visitor may see it (the API's
//! audience rules, audited like the API when routes are shown): what
//! happened in one sentence, the timeline of announced prefixes per
//! observing peer, the AS graph of the cause, the affected prefixes with
//! filters, the evidence, the raw routes where allowed, the linked outage
//! reports and every version.

use crate::lang::Lang;
use crate::layout::{asn, kind, page, severity, time, tlp};
use crate::session::Signed;
use crate::svg::{self, CauseGraph, Node, Series};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_store::reports::{Access, ReportReader};
use maud::{html, Markup};
use serde_json::Value;
use std::collections::BTreeMap;

/// Most prefixes listed on the page (the filters find the rest).
const PREFIXES_SHOWN: usize = 500;
/// Most ASes drawn in one column of the graph.
const NODES_SHOWN: usize = 8;

/// `GET /incidents/{id}?prefix=...&victim=...`.
pub async fn incident(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    match render(&state, lang, &c, &id, &q).await {
        Ok(m) => m.into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

async fn render(
    state: &ApiState,
    lang: Lang,
    c: &Caller,
    id: &str,
    q: &[(String, String)],
) -> Result<Markup, ApiError> {
    let id = crate::path_id(id, "id")?;
    let history = bugyo_api::incidents::views(state, c, id, true).await?;
    let Some(latest) = history.last() else {
        return Err(ApiError::not_found(&format!("incident {id}")));
    };
    let inc = &latest["incident"];
    let filter_prefix = q.iter().find(|(k, _)| k == "prefix").map(|(_, v)| v.trim());
    let filter_victim = q
        .iter()
        .find(|(k, _)| k == "victim")
        .map(|(_, v)| v.trim().trim_start_matches("AS"))
        .filter(|v| !v.is_empty());
    let reader = ReportReader {
        role: c.token.role,
        org_id: c.token.org_id,
    };
    let mut reports = Vec::new();
    for rid in state.store.reports_of_incident(id).await? {
        if let Some(r) = state.store.report(rid).await? {
            if Access::of(reader, r.org_id, r.sharing).is_some() {
                reports.push(r);
            }
        }
    }
    let shown_prefixes = visible_prefixes(state, id, inc).await?;
    let s = |k: &str| inc[k].as_str().unwrap_or("");
    let summary = lang.pick(s("summary_ja"), s("summary")).to_string();
    let title = format!("{} #{id}", kind(lang, s("kind")));
    Ok(page(
        lang,
        &title,
        Some(c),
        html! {
            p { (tlp(s("tlp"))) " " (severity(lang, s("severity"))) " "
                strong { (summary) } }
            table {
                tr { th { (lang.pick("状態", "Status")) } td #status { (status_name(lang, s("status"))) } }
                tr { th { (lang.pick("最初の観測", "First seen")) } td { (time_of(&inc["first_seen"])) } }
                tr { th { (lang.pick("最後の観測", "Last seen")) } td { (time_of(&inc["last_seen"])) } }
                @if !inc["resolved_at"].is_null() {
                    tr { th { (lang.pick("解消", "Resolved")) } td { (time_of(&inc["resolved_at"])) } }
                }
                tr { th { (lang.pick("プレフィックス数", "Prefixes")) } td.num { (inc["prefix_count"]) } }
            }
            h2 { (lang.pick("経路数の推移(観測ピア別)", "Announced prefixes per observing peer")) }
            figure #timeline {
                (svg::timeline(lang, lang.pick("経路数の推移", "Timeline"), &series(lang, &inc["timeline"])))
                figcaption { (lang.pick(
                    "異常な経路を広告している観測ピアごとのプレフィックス数。急増がリーク、ゼロへの低下が取り消しです。",
                    "Prefixes each observing peer announced with the anomaly: the spike is the leak, the fall to zero its withdrawal."
                )) }
            }
            h2 { (lang.pick("原因の AS グラフ", "AS graph of the cause")) }
            figure #as-graph {
                (svg::cause_graph(lang, lang.pick("原因の AS グラフ", "AS graph of the cause"), &graph(inc)))
            }
            h2 { (lang.pick("根拠", "Evidence")) }
            (evidence(lang, if lang == Lang::Ja && inc["evidence_ja"].is_array() { &inc["evidence_ja"] } else { &inc["evidence"] }))
            h2 { (lang.pick("影響を受けたプレフィックス", "Affected prefixes")) }
            (prefixes(lang, id, shown_prefixes, filter_prefix, filter_victim))
            h2 { (lang.pick("経路の実例", "Sample routes")) }
            (samples(lang, &inc["samples"]))
            h2 { (lang.pick("関連する障害報告", "Linked outage reports")) }
            @if reports.is_empty() { p { (lang.pick("ありません。", "None.")) } }
            ul { @for r in &reports {
                li { a href={ "/reports/" (r.id) } { "#" (r.id) " " (r.org) ": " (r.situation) } }
            } }
            h2 { (lang.pick("版の履歴", "Version history")) }
            table #versions {
                thead { tr {
                    th { (lang.pick("版", "Version")) }
                    th { (lang.pick("出来事", "Event")) }
                    th { (lang.pick("時刻", "Time")) }
                    th { (lang.pick("深刻度", "Severity")) }
                    th { (lang.pick("プレフィックス数", "Prefixes")) }
                } }
                tbody { @for v in history.iter().rev() {
                    tr {
                        td.num { (v["version"]) }
                        td { (v["event"].as_str().unwrap_or("")) }
                        td { (time_of(&v["event_time"])) }
                        td { (severity(lang, v["incident"]["severity"].as_str().unwrap_or(""))) }
                        td.num { (v["incident"]["prefix_count"]) }
                    }
                } }
            }
        },
    ))
}

fn status_name(lang: Lang, s: &str) -> &str {
    match s {
        "open" => lang.pick("対応中", "open"),
        "resolved" => lang.pick("解消", "resolved"),
        other => other,
    }
}

/// A stored time (RFC 3339 text or Unix microseconds) as a `<time>`.
fn time_of(v: &Value) -> Markup {
    let micros = match v {
        Value::String(s) => bugyo_model::Timestamp::parse_rfc3339(s).map(|t| t.as_micros()),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    match micros {
        Some(m) => time(m),
        None => html! { "—" },
    }
}

/// The timeline's points grouped by peer, each peer's line in time order.
fn series(lang: Lang, timeline: &Value) -> Vec<Series> {
    let mut by_peer: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for p in timeline.as_array().into_iter().flatten() {
        let (Some(t), Some(n)) = (
            p["time"]
                .as_str()
                .and_then(bugyo_model::Timestamp::parse_rfc3339),
            p["routes"].as_u64(),
        ) else {
            continue;
        };
        let peer = p["peer"].as_str().unwrap_or("?");
        let label = if peer == "all" {
            lang.pick("全ピア合計", "all peers").to_string()
        } else {
            peer.to_string()
        };
        by_peer.entry(label).or_default().push((t.as_micros(), n));
    }
    by_peer
        .into_iter()
        .map(|(label, mut points)| {
            points.sort_by_key(|p| p.0);
            Series { label, points }
        })
        .collect()
}

fn node(asn: &Value, name: &Value, count: Option<u64>) -> Option<Node> {
    Some(Node {
        asn: u32::try_from(asn.as_u64()?).ok()?,
        name: name.as_str().map(str::to_string),
        count,
    })
}

/// The cause graph from a view: victims with their prefix counts, the
/// culprit, where it leaked to, and the observing peers (their ASNs where
/// the view has them, else only how many).
fn graph(inc: &Value) -> CauseGraph {
    let victims: Vec<Node> = inc["victims"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| node(&v["asn"], &v["name"], v["prefix_count"].as_u64()))
        .collect();
    let observers: Vec<Node> = inc["peers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| node(p, &Value::Null, None))
        .collect();
    let peer_count = inc["peer_count"].as_u64().unwrap_or(0) as usize;
    let more_observers = if observers.is_empty() {
        peer_count
    } else {
        observers.len().saturating_sub(NODES_SHOWN)
    };
    CauseGraph {
        more_victims: victims.len().saturating_sub(NODES_SHOWN),
        victims: victims.into_iter().take(NODES_SHOWN).collect(),
        culprit: node(&inc["culprit_asn"], &inc["culprit_name"], None),
        leaked_to: node(&inc["leaked_to_asn"], &inc["leaked_to_name"], None),
        more_observers,
        observers: observers.into_iter().take(NODES_SHOWN).collect(),
    }
}

fn evidence(lang: Lang, ev: &Value) -> Markup {
    let lines: Vec<&str> = ev
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    html! {
        @if lines.is_empty() { p { (lang.pick("この表示には根拠の詳細は含まれません。", "This view holds no evidence detail.")) } }
        ul #evidence { @for l in &lines { li { (l) } } }
    }
}

/// The prefixes the view shows (all of them, or a victim's own), with the
/// victim of each from the store.
async fn visible_prefixes(
    state: &ApiState,
    id: i64,
    inc: &Value,
) -> Result<Option<Vec<(String, u32)>>, ApiError> {
    let Some(list) = inc["prefixes"]
        .as_array()
        .or_else(|| inc["own_prefixes"].as_array())
    else {
        return Ok(None);
    };
    let shown: std::collections::BTreeSet<&str> = list.iter().filter_map(Value::as_str).collect();
    Ok(Some(
        state
            .store
            .incident_prefixes(id)
            .await?
            .into_iter()
            .map(|(p, v, _)| (p.to_string(), v))
            .filter(|(p, _)| shown.contains(p.as_str()))
            .collect(),
    ))
}

fn prefixes(
    lang: Lang,
    id: i64,
    all: Option<Vec<(String, u32)>>,
    prefix: Option<&str>,
    victim: Option<&str>,
) -> Markup {
    let Some(all) = all else {
        return html! { p { (lang.pick(
            "この表示ではプレフィックスの一覧は共有されません(件数のみ)。",
            "The prefix list is not shared in this view (counts only)."
        )) } };
    };
    let rows: Vec<(String, u32)> = all
        .into_iter()
        .filter(|(p, _)| prefix.is_none_or(|f| p.contains(f)))
        .filter(|(_, v)| victim.is_none_or(|f| v.to_string() == f))
        .collect();
    html! {
        form method="get" action={ "/incidents/" (id) } {
            label for="f-prefix" { (lang.pick("プレフィックスで絞り込み", "Filter by prefix")) }
            " " input #f-prefix type="text" name="prefix" value=(prefix.unwrap_or("")) style="max-width:14rem";
            " " label for="f-victim" { (lang.pick("被害 AS", "Victim AS")) }
            " " input #f-victim type="text" name="victim" value=(victim.unwrap_or("")) style="max-width:8rem";
            " " button type="submit" { (lang.pick("絞り込む", "Filter")) }
        }
        p #prefix-count { (rows.len()) (lang.pick(" 件", " prefixes")) }
        table #prefixes {
            thead { tr { th { (lang.pick("プレフィックス", "Prefix")) } th { (lang.pick("被害 AS", "Victim")) } } }
            tbody { @for (p, v) in rows.iter().take(PREFIXES_SHOWN) {
                tr { td { code { (p) } } td { (asn(Some(u64::from(*v)), None)) } }
            } }
        }
        @if rows.len() > PREFIXES_SHOWN {
            p { (lang.pick("先頭の 500 件を表示しています。絞り込んでください。", "Showing the first 500; use the filters.")) }
        }
    }
}

fn samples(lang: Lang, samples: &Value) -> Markup {
    let Some(list) = samples.as_array() else {
        return html! { p { (lang.pick(
            "この表示では経路の実例は共有されません。",
            "Raw routes are not shared in this view."
        )) } };
    };
    html! {
        table #samples {
            thead { tr {
                th { (lang.pick("観測ピア", "Peer")) }
                th { (lang.pick("プレフィックス", "Prefix")) }
                th { "AS_PATH" }
                th { (lang.pick("判定", "Verdicts")) }
            } }
            tbody { @for s in list {
                tr {
                    td { "AS" (s["peer_asn"]) " " (s["peer_ip"].as_str().unwrap_or("")) }
                    td { code { (s["prefix"].as_str().unwrap_or("")) } }
                    td { code { (s["as_path"].as_str().unwrap_or("")) } }
                    td { (s["verdicts"].as_array().map(|v| v.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")).unwrap_or_default()) }
                }
            } }
        }
    }
}
