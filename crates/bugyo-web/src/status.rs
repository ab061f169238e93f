//! The public status page: for each operator and service, the outage
//! reports its operator marked `share_public`, each version an update in
//! Japanese and English, every correction shown as what it said before and
//! what it says now with the time of the change; an Atom feed of the same
//! updates; and a short text for SNS and the press that matches the page.
//!
//! Nobody signs in here. Only reports whose latest version is marked for
//! the public appear, without the private fields
//! ([`bugyo_store::reports::fields::PRIVATE_FIELDS`]) and without who
//! submitted them.

use crate::lang::Lang;
use crate::layout::{page, time};
use crate::session::Visitor;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use bugyo_api::error::ApiError;
use bugyo_api::ApiState;
use bugyo_store::reports::{Access, ReportFilter, ReportVersion, Stage, StoredReport};
use maud::{html, Markup, PreEscaped};
use serde_json::{Map, Value};

/// How far back the page and the feed look (reports updated since).
const WINDOW_DAYS: i64 = 90;
/// Longest SNS text, in characters (fits a post with its link).
pub const SNS_MAX_CHARS: usize = 140;

/// The fields the public sees change (corrections shown before/after).
const PUBLIC_FIELDS: &[&str] = &[
    "public_summary_ja",
    "public_summary_en",
    "area",
    "services",
    "users_estimate",
    "users",
    "duration",
    "occurred_at",
    "situation",
    "user_communication",
];

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// The public reports of the window, newest first, of `org` if given.
async fn public_reports(
    state: &ApiState,
    org: Option<&str>,
) -> Result<Vec<StoredReport>, ApiError> {
    let org_id = match org {
        Some(h) => Some(
            state
                .store
                .org(h)
                .await?
                .ok_or_else(|| ApiError::not_found(&format!("operator {h}")))?
                .id,
        ),
        None => None,
    };
    let mut items = state
        .store
        .reports(&ReportFilter {
            public: true,
            org_id,
            ..Default::default()
        })
        .await?;
    let horizon = crate::now_micros() - WINDOW_DAYS * 86_400 * 1_000_000;
    items.retain(|r| r.updated_at >= horizon);
    items.sort_by_key(|r| std::cmp::Reverse(r.updated_at));
    Ok(items)
}

/// Operators' names by handle (the public sees names, not handles).
async fn operator_names(
    state: &ApiState,
) -> Result<std::collections::BTreeMap<String, String>, ApiError> {
    Ok(state
        .store
        .orgs()
        .await?
        .into_iter()
        .map(|o| (o.handle, o.name))
        .collect())
}

/// The versions of a public report as the public may see them.
async fn public_versions(
    state: &ApiState,
    id: i64,
) -> Result<(StoredReport, Vec<ReportVersion>), ApiError> {
    let not_found = || ApiError::not_found(&format!("report {id}"));
    let r = state.store.report(id).await?.ok_or_else(not_found)?;
    if !r.sharing.public {
        return Err(not_found());
    }
    let mut versions = state.store.report_history(id).await?;
    for v in &mut versions {
        v.body = Access::Operator.redact(&v.body);
        v.changes.retain(|c| Access::Operator.sees_field(&c.field));
        v.token_id = None;
        v.user_id = None;
    }
    Ok((r, versions))
}

/// What the operator tells the public at this version, in `lang`: its
/// public text in that language, else in the other, else the situation.
pub fn public_text(lang: Lang, body: &Map<String, Value>) -> String {
    let get = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (mine, other) = match lang {
        Lang::Ja => ("public_summary_ja", "public_summary_en"),
        Lang::En => ("public_summary_en", "public_summary_ja"),
    };
    get(mine)
        .or_else(|| get(other))
        .or_else(|| get("situation"))
        .unwrap_or("")
        .to_string()
}

fn ongoing(stage: Stage) -> bool {
    matches!(stage, Stage::First | Stage::FollowUp)
}

fn state_word(lang: Lang, stage: Stage) -> &'static str {
    if ongoing(stage) {
        lang.pick("発生中・調査中", "Ongoing")
    } else {
        lang.pick("復旧済み", "Resolved")
    }
}

/// The short text for SNS and the press, the same words as the page: the
/// operator, the service, the state and the public text, cut to
/// [`SNS_MAX_CHARS`] with an ellipsis.
pub fn sns_text(lang: Lang, operator: &str, r: &StoredReport, latest: &ReportVersion) -> String {
    let service = r.services.clone().unwrap_or_default();
    let head = match lang {
        Lang::Ja => format!("【{}】{} {}:", state_word(lang, r.stage), operator, service),
        Lang::En => format!("[{}] {} {}:", state_word(lang, r.stage), operator, service),
    };
    let text = format!(
        "{} {}",
        head.replace("  ", " "),
        public_text(lang, &latest.body)
    );
    if text.chars().count() <= SNS_MAX_CHARS {
        text
    } else {
        text.chars().take(SNS_MAX_CHARS - 1).collect::<String>() + "…"
    }
}

/// `GET /status?org=HANDLE`.
pub async fn status(
    State(state): State<ApiState>,
    lang: Lang,
    Visitor(who): Visitor,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let org = param(&q, "org");
    let r = async {
        let items = public_reports(&state, org).await?;
        let names = operator_names(&state).await?;
        let name = |h: &String| names.get(h).cloned().unwrap_or_else(|| h.clone());
        let mut latest = Vec::with_capacity(items.len());
        for r in &items {
            let (_, versions) = public_versions(&state, r.id).await?;
            latest.push(versions.last().map(|v| public_text(lang, &v.body)).unwrap_or_default());
        }
        // The operators with public reports, to look at one at a time.
        let mut operators: Vec<&String> = items.iter().map(|r| &r.org).collect();
        operators.sort();
        operators.dedup();
        let feed = match org {
            Some(o) => format!("/status/feed.atom?lang={}&org={o}", lang.code()),
            None => format!("/status/feed.atom?lang={}", lang.code()),
        };
        Ok::<_, ApiError>(page(
            lang,
            lang.pick("通信サービスの障害状況", "Service status"),
            who.as_ref(),
            html! {
                p { (lang.pick("各事業者が公表を認めた障害情報です。訂正は訂正前と訂正後を示します。",
                    "Outages their operators chose to make public. Corrections show what was said before and what is said now.")) }
                p { a href=(feed) type="application/atom+xml" { (lang.pick("Atom フィード", "Atom feed")) } }
                @if operators.len() > 1 || org.is_some() {
                    nav #operators { (lang.pick("事業者: ", "Operators: "))
                        @if org.is_some() { a href="/status" { (lang.pick("すべて", "all")) } " " }
                        @for h in &operators { a href={ "/status?org=" (h) } { (name(h)) } " " }
                    }
                }
                @if items.is_empty() { p #no-outages { (lang.pick("公表中の障害はありません。", "No outages reported.")) } }
                @for (r, text) in items.iter().zip(&latest) {
                    article.outage id={ "report-" (r.id) } {
                        h2 { a href={ "/status/reports/" (r.id) } { (name(&r.org)) " — " (r.services.as_deref().unwrap_or("")) } }
                        p { strong { (state_word(lang, r.stage)) } " · "
                            (lang.pick("発生 ", "since ")) (time(r.occurred_at)) " · "
                            (lang.pick("更新 ", "updated ")) (time(r.updated_at)) }
                        @if let Some(a) = &r.area { p { (lang.pick("地域: ", "Area: ")) (a) } }
                        p.public-text { (text) }
                    }
                }
            },
        )
        .into_response())
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, who.as_ref(), &e))
}

/// `GET /status/reports/{id}`: every update of one outage, corrections as
/// before and after.
pub async fn report(
    State(state): State<ApiState>,
    lang: Lang,
    Visitor(who): Visitor,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let id = crate::path_id(&id, "id")?;
        let (r, versions) = public_versions(&state, id).await?;
        let latest = versions.last().ok_or_else(|| ApiError::not_found("report"))?;
        let operator = operator_names(&state).await?.remove(&r.org).unwrap_or_else(|| r.org.clone());
        let sns = sns_text(lang, &operator, &r, latest);
        Ok::<_, ApiError>(page(
            lang,
            &format!("{operator} — {}", r.services.as_deref().unwrap_or("")),
            who.as_ref(),
            html! {
                p { strong #state { (state_word(lang, r.stage)) } " · " (lang.pick("発生 ", "since ")) (time(r.occurred_at)) }
                p.public-text #current { (public_text(lang, &latest.body)) }
                h2 { (lang.pick("SNS・報道向けの短文", "Short text for SNS and the press")) }
                pre #sns { (sns) }
                p { a href={ "/status/reports/" (id) "/sns.txt?lang=" (lang.code()) } { (lang.pick("テキストで取得", "As plain text")) } }
                h2 { (lang.pick("更新と訂正の履歴", "Updates and corrections")) }
                @for v in versions.iter().rev() {
                    section.update id={ "update-" (v.version) } {
                        h3 { (time(v.recorded_at)) " — " (lang.pick(v.stage.ja(), v.stage.name())) }
                        p { (public_text(lang, &v.body)) }
                        @let corrected: Vec<_> = v.changes.iter().filter(|c| v.version > 1 && PUBLIC_FIELDS.contains(&c.field.as_str())).collect();
                        @if !corrected.is_empty() {
                            table.correction {
                                caption { (lang.pick("この時刻の訂正・更新", "Changed at this time")) }
                                thead { tr { th { (lang.pick("項目", "Item")) } th { (lang.pick("訂正前", "Before")) } th { (lang.pick("訂正後", "Now")) } } }
                                tbody { @for c in corrected {
                                    tr data-field=(c.field) {
                                        td { (field_name(lang, &c.field)) }
                                        td.before { (plain(&c.before)) }
                                        td.after { (plain(&c.after)) }
                                    }
                                } }
                            }
                        }
                    }
                }
            },
        )
        .into_response())
    }
    .await;
    r.unwrap_or_else(|e| crate::error_page(lang, who.as_ref(), &e))
}

fn field_name(lang: Lang, f: &str) -> &str {
    match f {
        "public_summary_ja" => lang.pick("公表文(日本語)", "Public text (Japanese)"),
        "public_summary_en" => lang.pick("公表文(英語)", "Public text (English)"),
        "area" => lang.pick("地域", "Area"),
        "services" => lang.pick("サービス", "Services"),
        "users_estimate" | "users" => lang.pick("影響利用者数", "Users affected"),
        "duration" => lang.pick("継続時間", "Duration"),
        "occurred_at" => lang.pick("発生日時", "Occurred at"),
        "situation" => lang.pick("状況", "Situation"),
        "user_communication" => lang.pick("利用者への周知", "User communication"),
        other => other,
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `GET /status/reports/{id}/sns.txt`.
pub async fn sns(State(state): State<ApiState>, lang: Lang, Path(id): Path<String>) -> Response {
    let r = async {
        let id = crate::path_id(&id, "id")?;
        let (r, versions) = public_versions(&state, id).await?;
        let latest = versions
            .last()
            .ok_or_else(|| ApiError::not_found("report"))?;
        let operator = operator_names(&state)
            .await?
            .remove(&r.org)
            .unwrap_or_else(|| r.org.clone());
        Ok::<_, ApiError>(
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                sns_text(lang, &operator, &r, latest) + "\n",
            )
                .into_response(),
        )
    }
    .await;
    r.unwrap_or_else(|e| e.into_response())
}

/// `GET /status/feed.atom?org=HANDLE&lang=ja|en`: one entry per update.
pub async fn feed(
    State(state): State<ApiState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let base = format!(
        "http://{}",
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| h
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c)))
            .unwrap_or("localhost")
    );
    let r = async {
        let items = public_reports(&state, param(&q, "org")).await?;
        let names = operator_names(&state).await?;
        let mut entries: Vec<(StoredReport, ReportVersion)> = Vec::new();
        for r in items {
            let (r, versions) = public_versions(&state, r.id).await?;
            entries.extend(versions.into_iter().map(|v| (r.clone(), v)));
        }
        entries.sort_by_key(|e| std::cmp::Reverse(e.1.recorded_at));
        entries.truncate(200);
        let updated = entries.first().map_or(0, |e| e.1.recorded_at);
        Ok::<_, ApiError>(
            (
                [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
                atom(lang, &base, updated, &entries, &names).into_string(),
            )
                .into_response(),
        )
    }
    .await;
    r.unwrap_or_else(|e| e.into_response())
}

fn rfc3339(micros: i64) -> String {
    bugyo_model::Timestamp::from_micros(micros - micros.rem_euclid(1_000_000)).rfc3339()
}

fn atom(
    lang: Lang,
    base: &str,
    updated: i64,
    entries: &[(StoredReport, ReportVersion)],
    names: &std::collections::BTreeMap<String, String>,
) -> Markup {
    html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" xml:lang=(lang.code()) {
            title { (lang.pick("通信サービスの障害状況", "Service status")) }
            id { (base) "/status" }
            link rel="alternate" href={ (base) "/status" } {}
            updated { (rfc3339(updated)) }
            author { name { "bugyo" } }
            @for (r, v) in entries {
                entry {
                    title { (names.get(&r.org).unwrap_or(&r.org)) " " (r.services.as_deref().unwrap_or("")) ": " (lang.pick(v.stage.ja(), v.stage.name())) }
                    id { (base) "/status/reports/" (r.id) "#update-" (v.version) }
                    link rel="alternate" href={ (base) "/status/reports/" (r.id) } {}
                    updated { (rfc3339(v.recorded_at)) }
                    content type="text" { (public_text(lang, &v.body)) }
                }
            }
        }
    }
}
