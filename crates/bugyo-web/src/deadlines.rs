//! `/deadlines`: what the statutory process still owes. For a member, its
//! detailed reports (major accidents, within 30 days) and quarterly
//! reports (two months after each quarter) not yet filed, with the days
//! left, a form to record a quarterly report as filed and one to withdraw
//! a filing recorded by mistake (with its reason); for the
//! regulator and the hub, every organisation's, overdue first. Reads and
//! filings go through the API's functions (`bugyo_api::quarterly`), with
//! the same permissions and audit.

use crate::lang::Lang;
use crate::layout::page;
use crate::session::{SameOrigin, Signed};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_report::calendar::Date;
use bugyo_store::Role;
use maud::{html, Markup};

/// Days from today (JST) to `due` (`YYYY-MM-DD`); negative once overdue.
fn days_left(due: &str) -> Option<i64> {
    let mut p = due.splitn(3, '-');
    let d = Date::new(
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
        p.next()?.parse().ok()?,
    )?;
    let today = Date::jst(bugyo_model::Timestamp::from_micros(crate::now_micros()));
    Some(d.days() - today.days())
}

fn left(lang: Lang, days: Option<i64>) -> Markup {
    match days {
        Some(d) if d < 0 => {
            html! { span.error { (lang.pick("期限超過 ", "overdue by ")) (-d) (lang.pick(" 日", " days")) } }
        }
        Some(0) => html! { strong { (lang.pick("本日が期限", "due today")) } },
        Some(d) => html! { (lang.pick("残り ", "")) (d) (lang.pick(" 日", " days left")) },
        None => html! { "—" },
    }
}

async fn render(
    state: &ApiState,
    lang: Lang,
    c: &Caller,
    error: Option<(&str, &str)>,
) -> Result<Markup, ApiError> {
    let oversight = matches!(c.token.role, Role::Regulator | Role::Analyst | Role::Admin);
    let bugyo_api::quarterly::Readable {
        filed,
        mut owed,
        withdrawn,
    } = bugyo_api::quarterly::readable(state, c).await?;
    owed.sort_by_key(|d| d.days_left);
    let mut detailed: Vec<(i64, i64, String)> = state
        .store
        .reports_awaiting_detailed()
        .await?
        .into_iter()
        .filter(|(_, org, _)| oversight || Some(*org) == c.token.org_id)
        .collect();
    detailed.sort_by(|a, b| a.2.cmp(&b.2));
    let names: std::collections::BTreeMap<i64, String> = if oversight {
        state
            .store
            .orgs()
            .await?
            .into_iter()
            .map(|o| (o.id, o.handle))
            .collect()
    } else {
        Default::default()
    };
    let can_file = matches!(c.token.role, Role::Member);
    Ok(page(
        lang,
        lang.pick("報告の期限", "Reporting deadlines"),
        Some(c),
        html! {
            h2 { (lang.pick("詳細報告(重大な事故、30日以内)", "Detailed reports (major accidents, within 30 days)")) }
            @if detailed.is_empty() { p { (lang.pick("未提出の詳細報告はありません。", "No detailed report owed.")) } }
            @else {
                table #detailed-owed {
                    thead { tr {
                        @if oversight { th { (lang.pick("事業者", "Operator")) } }
                        th { (lang.pick("報告", "Report")) } th { (lang.pick("期限", "Due")) } th { (lang.pick("残り", "Left")) }
                    } }
                    tbody { @for (id, org, due) in &detailed {
                        tr {
                            @if oversight { td { (names.get(org).map_or("?", String::as_str)) } }
                            td { a href={ "/reports/" (id) } { "#" (id) } }
                            td { (due) }
                            td { (left(lang, days_left(due))) }
                        }
                    } }
                }
            }
            h2 { (lang.pick("四半期報告(四半期終了後2か月以内)", "Quarterly reports (within two months after the quarter)")) }
            @if let Some((f, m)) = error { p.error role="alert" #quarterly-error { (f) ": " (m) } }
            @if owed.is_empty() { p { (lang.pick("未提出の四半期報告はありません。", "No quarterly report owed.")) } }
            @else {
                table #quarterly-owed {
                    thead { tr {
                        @if oversight { th { (lang.pick("事業者", "Operator")) } }
                        th { (lang.pick("四半期", "Quarter")) } th { (lang.pick("期限", "Due")) } th { (lang.pick("残り", "Left")) }
                        th { (lang.pick("対象の報告", "Reports in it")) }
                        @if can_file { th { (lang.pick("提出の記録", "Record as filed")) } }
                    } }
                    tbody { @for d in &owed {
                        tr data-quarter=(d.quarter) {
                            @if oversight { td { (d.org) } }
                            td { (d.quarter) }
                            td { (d.due) }
                            td { (left(lang, Some(d.days_left))) }
                            td { @for r in &d.reports { a href={ "/reports/" (r) } { "#" (r) } " " } }
                            @if can_file {
                                td {
                                    form method="post" action="/deadlines/quarterly" {
                                        input type="hidden" name="quarter" value=(d.quarter);
                                        label for={ "note-" (d.quarter) } { (lang.pick("受付番号など(任意)", "Receipt number etc. (optional)")) }
                                        " " input type="text" id={ "note-" (d.quarter) } name="note" style="max-width:14rem";
                                        " " button type="submit" { (lang.pick("提出済みにする", "Mark filed")) }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
            h2 { (lang.pick("提出済みの四半期報告", "Quarterly reports filed")) }
            @if filed.is_empty() { p { (lang.pick("まだありません。", "None yet.")) } }
            @else {
                table #quarterly-filed {
                    thead { tr {
                        th { (lang.pick("事業者", "Operator")) } th { (lang.pick("四半期", "Quarter")) }
                        th { (lang.pick("記録", "Recorded")) } th { (lang.pick("備考", "Note")) }
                        @if can_file { th { (lang.pick("誤って記録した場合", "Recorded by mistake")) } }
                    } }
                    tbody { @for f in &filed {
                        tr data-quarter=(f.quarter) {
                            td { (f.org) } td { (f.quarter) } td { (crate::layout::time(f.filed_at)) }
                            td { (f.note.as_deref().unwrap_or("—")) }
                            @if can_file {
                                td {
                                    form method="post" action="/deadlines/quarterly/withdraw" {
                                        input type="hidden" name="quarter" value=(f.quarter);
                                        label for={ "reason-" (f.quarter) } { (lang.pick("取り下げの理由", "Reason to withdraw")) }
                                        " " input type="text" id={ "reason-" (f.quarter) } name="reason" required style="max-width:14rem";
                                        " " button type="submit" { (lang.pick("取り下げる", "Withdraw")) }
                                    }
                                }
                            }
                        }
                    } }
                }
            }
            @if !withdrawn.is_empty() {
                h2 { (lang.pick("取り下げた記録", "Filings withdrawn")) }
                table #quarterly-withdrawn {
                    thead { tr {
                        th { (lang.pick("事業者", "Operator")) } th { (lang.pick("四半期", "Quarter")) }
                        th { (lang.pick("記録", "Recorded")) } th { (lang.pick("取り下げ", "Withdrawn")) }
                        th { (lang.pick("理由", "Reason")) }
                    } }
                    tbody { @for w in &withdrawn {
                        tr data-quarter=(w.filing.quarter) {
                            td { (w.filing.org) } td { (w.filing.quarter) }
                            td { (crate::layout::time(w.filing.filed_at)) }
                            td { (crate::layout::time(w.withdrawn_at)) }
                            td { (w.reason) }
                        }
                    } }
                }
            }
        },
    ))
}

/// `GET /deadlines`.
pub async fn deadlines(State(state): State<ApiState>, lang: Lang, Signed(c): Signed) -> Response {
    match render(&state, lang, &c, None).await {
        Ok(m) => m.into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}

/// The quarterly form's fields.
#[derive(serde::Deserialize)]
pub struct QuarterlyForm {
    quarter: String,
    #[serde(default)]
    note: String,
}

/// `POST /deadlines/quarterly`: records a quarterly report as filed.
pub async fn file_quarterly(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Form(f): Form<QuarterlyForm>,
) -> Response {
    let note = Some(f.note.trim()).filter(|n| !n.is_empty());
    let done = bugyo_api::quarterly::file_for(&state, &c, None, f.quarter.trim(), note).await;
    answer(&state, lang, &c, done.map(|_| ())).await
}

/// The withdrawal form's fields.
#[derive(serde::Deserialize)]
pub struct WithdrawForm {
    quarter: String,
    #[serde(default)]
    reason: String,
}

/// `POST /deadlines/quarterly/withdraw`: withdraws a filing recorded by
/// mistake, with its reason.
pub async fn withdraw_quarterly(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    _: SameOrigin,
    Form(f): Form<WithdrawForm>,
) -> Response {
    let done =
        bugyo_api::quarterly::withdraw_for(&state, &c, None, f.quarter.trim(), &f.reason).await;
    answer(&state, lang, &c, done.map(|_| ())).await
}

/// Back to the page when done; the page again with the message by the
/// field it is about, or the error page.
async fn answer(state: &ApiState, lang: Lang, c: &Caller, done: Result<(), ApiError>) -> Response {
    match done {
        Ok(()) => Redirect::to("/deadlines").into_response(),
        Err(e) if e.field().is_some() => {
            match render(
                state,
                lang,
                c,
                Some((e.field().unwrap_or("body"), e.message())),
            )
            .await
            {
                Ok(m) => (StatusCode::UNPROCESSABLE_ENTITY, m).into_response(),
                Err(e) => crate::error_page(lang, Some(c), &e),
            }
        }
        Err(e) => crate::error_page(lang, Some(c), &e),
    }
}
