//! `/statistics`: the outage reports of a fiscal year or quarter, as the
//! regulator counts them (`bugyo_store::statistics`): by statutory class,
//! users × duration with the bucket edges of table 2 in 001_*, by service,
//! by cause and by failed equipment; as tables, bar charts and CSV
//! (`/statistics.csv`). For the regulator and the hub only; every read is
//! audited, since the counts include reports not shared with operators.

use crate::lang::Lang;
use crate::layout::page;
use crate::session::Signed;
use crate::svg;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bugyo_api::error::ApiError;
use bugyo_api::{ApiState, Caller};
use bugyo_store::statistics::{Count, Period, ReportStatistics};
use bugyo_store::Role;
use maud::{html, Markup};

const OVERSIGHT: &[Role] = &[Role::Regulator, Role::Analyst, Role::Admin];

/// The period asked for (`?period=FY2021` or `FY2021Q3`), else the current
/// fiscal year (JST).
fn period(q: &[(String, String)]) -> Result<Period, ApiError> {
    match q.iter().find(|(k, _)| k == "period") {
        Some((_, v)) => Period::parse(v).map_err(|e| ApiError::bad_field("period", e.to_string())),
        None => {
            let today = bugyo_report::calendar::Date::jst(bugyo_model::Timestamp::from_micros(
                crate::now_micros(),
            ));
            let fq = bugyo_report::calendar::FiscalQuarter::of(today);
            Ok(Period::Year(fq.fiscal_year() as i32))
        }
    }
}

async fn load(
    state: &ApiState,
    c: &Caller,
    q: &[(String, String)],
) -> Result<ReportStatistics, ApiError> {
    c.require(OVERSIGHT)?;
    let p = period(q)?;
    let stats = state.store.report_statistics(p).await?;
    c.audit_with(
        state,
        "read-statistics",
        format!("statistics/{}", p.label()),
        String::new(),
    )
    .await?;
    Ok(stats)
}

fn counts(lang: Lang, id: &str, title: &str, rows: &[Count]) -> Markup {
    let bars: Vec<(String, u64)> = rows
        .iter()
        .map(|r| (lang.pick(&r.label.ja, &r.label.en).to_string(), r.count))
        .collect();
    html! {
        h2 { (title) }
        table id=(id) {
            thead { tr { th { (lang.pick("区分", "Category")) } th { (lang.pick("件数", "Reports")) } } }
            tbody { @for r in rows {
                tr data-key=(r.label.key) { td { (lang.pick(&r.label.ja, &r.label.en)) } td.num { (r.count) } }
            } }
        }
        figure { (svg::bars(title, &bars)) }
    }
}

/// `GET /statistics?period=FY2021`.
pub async fn statistics(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let s = match load(&state, &c, &q).await {
        Ok(s) => s,
        Err(e) => return crate::error_page(lang, Some(&c), &e),
    };
    let label = s.period.label();
    let m = &s.users_duration;
    page(
        lang,
        &format!("{} {label}", lang.pick("障害報告の統計", "Outage report statistics")),
        Some(&c),
        html! {
            form method="get" action="/statistics" {
                label for="period" { (lang.pick("年度または四半期", "Fiscal year or quarter")) }
                " " input #period type="text" name="period" value=(label) style="max-width:10rem";
                " " button type="submit" { (lang.pick("表示", "Show")) }
            }
            p { (s.first_day) " – " (s.last_day) (lang.pick("(日本時間)", " (JST)")) ", "
                (lang.pick("報告数 ", "reports: ")) strong #total { (s.total) } " · "
                a href={ "/statistics.csv?period=" (label) } { "CSV" } }
            (counts(lang, "by-classification", lang.pick("法令上の区分", "Statutory classification"), &s.by_classification))
            h2 { (lang.pick("影響利用者数 × 継続時間(表2の区分)", "Users affected × duration (table 2 buckets)")) }
            // Table 2's layout: durations down, users across.
            table #users-duration {
                thead { tr {
                    th { (lang.pick("継続時間 \\ 影響利用者数", "Duration \\ users")) }
                    @for u in &m.users { th { (lang.pick(&u.ja, &u.en)) } }
                    th { (lang.pick("計", "Total")) }
                } }
                tbody {
                    @for (i, d) in m.durations.iter().enumerate() {
                        tr data-key=(d.key) {
                            th { (lang.pick(&d.ja, &d.en)) }
                            @for n in &m.cells[i] { td.num { (n) } }
                            td.num { (m.row_totals[i]) }
                        }
                    }
                    tr { th { (lang.pick("計", "Total")) } @for n in &m.column_totals { td.num { (n) } } td.num { (s.total) } }
                }
            }
            (counts(lang, "by-service", lang.pick("役務の区分別", "By service class"), &s.by_service_class))
            (counts(lang, "by-cause", lang.pick("原因の区分別", "By cause"), &s.by_cause))
            (counts(lang, "by-equipment", lang.pick("故障設備別", "By failed equipment"), &s.by_failed_equipment))
        },
    )
    .into_response()
}

/// `GET /statistics.csv?period=FY2021`: the same tables as CSV.
pub async fn csv(
    State(state): State<ApiState>,
    lang: Lang,
    Signed(c): Signed,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    match load(&state, &c, &q).await {
        Ok(s) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"bugyo-statistics-{}.csv\"",
                        s.period.label()
                    ),
                ),
            ],
            s.to_csv(),
        )
            .into_response(),
        Err(e) => crate::error_page(lang, Some(&c), &e),
    }
}
