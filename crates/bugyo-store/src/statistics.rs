//! Statistics of outage reports for a fiscal year or quarter, as the
//! regulator tabulates accidents (001_877f6a2558382331.txt): how many, by
//! statutory classification, users affected × duration (table 2, with the
//! edges [`bugyo_report::bucket`] encodes), by service class, by cause
//! category and by failed equipment; and the same as CSV (RFC 4180) with
//! Japanese and English labels.
//!
//! Each report counts once, as its latest version says. The period is the
//! Japanese fiscal year (from 1 April) or one of its quarters, in JST, as
//! the stored `quarter` of each report ([`bugyo_report::FiscalQuarter`]).
//! A report that does not yet say its users, duration, service class,
//! cause or failed equipment counts in an explicit `unknown` row or column
//! of that table: no report is ever left out of a table, so every table
//! adds up to the total.

use crate::reports::{CauseCategory, Report};
use crate::sql::{Arg, Conditions};
use crate::{col, Result, Store, StoreError};
use bugyo_model::Timestamp;
use bugyo_report::{Date, DurationBucket, FiscalQuarter, ServiceClass, UsersBucket};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A fiscal year (FY2021: 2021-04-01 to 2022-03-31, JST) or one of its
/// quarters (1..=4; Q4 is January–March of the next calendar year).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Period {
    /// A whole fiscal year, e.g. `FY2021`.
    Year(i32),
    /// A quarter of a fiscal year, e.g. `FY2021Q3`.
    Quarter(i32, u8),
}

/// A text that is not a fiscal year or quarter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a fiscal year or quarter, e.g. FY2021 or FY2021Q3 / \
     {0:?} は年度でも四半期でもありません。例: FY2021, FY2021Q3"
)]
pub struct PeriodError(pub String);

impl Period {
    /// Reads `FY2021` or `FY2021Q3` (case and surrounding spaces do not
    /// matter); the error names the value.
    pub fn parse(s: &str) -> std::result::Result<Period, PeriodError> {
        let err = || PeriodError(s.to_string());
        let t = s.trim().to_ascii_uppercase();
        let rest = t.strip_prefix("FY").ok_or_else(err)?;
        let (year, quarter) = match rest.split_once('Q') {
            Some((y, q)) => (y, Some(q)),
            None => (rest, None),
        };
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(year) || year.len() != 4 {
            return Err(err());
        }
        let year: i32 = year.parse().map_err(|_| err())?;
        match quarter {
            None => Ok(Period::Year(year)),
            Some(q) if digits(q) && q.len() == 1 => match q.parse::<u8>() {
                Ok(q @ 1..=4) => Ok(Period::Quarter(year, q)),
                _ => Err(err()),
            },
            Some(_) => Err(err()),
        }
    }

    /// `FY2021` or `FY2021Q3`, as the stored quarters are named.
    pub fn label(&self) -> String {
        match self {
            Period::Year(y) => format!("FY{y}"),
            Period::Quarter(y, q) => format!("FY{y}Q{q}"),
        }
    }

    /// The fiscal quarters the period covers, in order.
    pub fn quarters(&self) -> Vec<FiscalQuarter> {
        let quarter = |y: i32, q: u8| {
            // The first month of quarter q of fiscal year y: April, July,
            // October, January (of the next calendar year).
            let m0 = i64::from(y) * 12 + 3 + (i64::from(q) - 1) * 3;
            let first = Date::new(m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1, 1)
                .expect("the first of a month exists");
            FiscalQuarter::of(first)
        };
        match *self {
            Period::Year(y) => (1..=4).map(|q| quarter(y, q)).collect(),
            Period::Quarter(y, q) => vec![quarter(y, q)],
        }
    }

    /// The first day (JST).
    pub fn first_day(&self) -> Date {
        self.quarters()[0].first_day()
    }

    /// The last day (JST).
    pub fn last_day(&self) -> Date {
        self.quarters().last().expect("a quarter").last_day()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

impl FromStr for Period {
    type Err = PeriodError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Period::parse(s)
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The key of the row or column of what a report does not (yet) say.
pub const UNKNOWN: &str = "unknown";
/// The key of the row of failed equipment beyond the top [`TOP_EQUIPMENT`].
pub const OTHER: &str = "other";
/// How many kinds of failed equipment are shown by name.
pub const TOP_EQUIPMENT: usize = 20;

/// A row (or column) label: its key in the API and its Japanese and
/// English labels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    /// Stable key, e.g. `major`, `30k-100k`, `unknown`.
    pub key: String,
    /// Japanese label.
    pub ja: String,
    /// English label.
    pub en: String,
}

impl Label {
    fn new(key: impl Into<String>, ja: impl Into<String>, en: impl Into<String>) -> Label {
        Label {
            key: key.into(),
            ja: ja.into(),
            en: en.into(),
        }
    }

    fn unknown() -> Label {
        Label::new(UNKNOWN, "不明", "unknown")
    }
}

/// One row of a count table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Count {
    /// What is counted.
    #[serde(flatten)]
    pub label: Label,
    /// How many reports.
    pub count: u64,
}

/// Table 2: reports by duration (rows) × users affected (columns), each
/// with a last `unknown` row or column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// The columns: [`UsersBucket::ALL`], then `unknown`.
    pub users: Vec<Label>,
    /// The rows: [`DurationBucket::ALL`], then `unknown`.
    pub durations: Vec<Label>,
    /// `cells[row][column]`: reports of that duration and users.
    pub cells: Vec<Vec<u64>>,
    /// The sum of each row.
    pub row_totals: Vec<u64>,
    /// The sum of each column.
    pub column_totals: Vec<u64>,
}

/// The statistics of the outage reports of a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportStatistics {
    /// The period, e.g. `FY2021Q3`.
    pub period: Period,
    /// Its first day (JST).
    pub first_day: Date,
    /// Its last day (JST).
    pub last_day: Date,
    /// Reports that occurred in the period.
    pub total: u64,
    /// By statutory classification: `major`, `quarterly`, `none`,
    /// `pending` (service class, users or duration not yet given); no
    /// `unknown` row unless a stored classification is none of these.
    pub by_classification: Vec<Count>,
    /// Users affected × duration (table 2).
    pub users_duration: Matrix,
    /// By service class ([`ServiceClass::ALL`]), then `unknown`.
    pub by_service_class: Vec<Count>,
    /// By cause category ([`CauseCategory::ALL`]), then `unknown`.
    pub by_cause: Vec<Count>,
    /// By failed equipment (trimmed and case-folded; labelled as first
    /// written), most reports first, at most [`TOP_EQUIPMENT`], then
    /// `other` (the rest, if any) and `unknown` (not given).
    pub by_failed_equipment: Vec<Count>,
}

/// A report's latest state as the statistics and the whole picture read
/// it: the listed columns and the whole latest version.
pub(crate) struct LatestReport {
    pub id: i64,
    pub org_id: i64,
    pub org: String,
    pub classification: String,
    pub occurred_at: i64,
    pub report: Report,
}

/// The latest version of every report matching what `condition` adds to
/// [`LATEST_REPORTS`] (conditions over the `reports` row `r`), ids
/// ascending.
pub(crate) async fn latest_reports(
    store: &Store,
    condition: impl FnOnce(&mut Conditions),
) -> Result<Vec<LatestReport>> {
    let mut q = Conditions::new(LATEST_REPORTS);
    condition(&mut q);
    q.push(" ORDER BY r.id");
    let rows = q.query().fetch_all(store.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = col(row, "id")?;
        let body: String = col(row, "body")?;
        let corrupt = |message: String| StoreError::Corrupt {
            what: "report version body",
            message: format!("report {id}: {message}"),
        };
        let map: Map<String, Value> =
            serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?;
        // Read back as written: the bound on occurred_at does not apply.
        let report = Report::from_json(&map, Timestamp::from_secs(i64::MAX / 2))
            .map_err(|e| corrupt(e.to_string()))?;
        out.push(LatestReport {
            id,
            org_id: col(row, "org_id")?,
            org: col(row, "org")?,
            classification: col(row, "classification")?,
            occurred_at: col(row, "occurred_at")?,
            report,
        });
    }
    Ok(out)
}

/// Every report's latest version, before the conditions of
/// [`latest_reports`] (`WHERE 1 = 1`, each condition starts with `AND`).
const LATEST_REPORTS: &str = "SELECT r.id AS id, r.org_id AS org_id, o.handle AS org, \
     r.classification AS classification, r.occurred_at AS occurred_at, v.body AS body \
     FROM reports r JOIN orgs o ON o.id = r.org_id \
     JOIN report_versions v ON v.report_id = r.id AND v.version = r.version \
     WHERE 1 = 1";

fn classification_labels() -> [Label; 4] {
    [
        Label::new("major", "重大な事故", "major accident"),
        Label::new("quarterly", "四半期報告事故", "quarterly-report accident"),
        Label::new("none", "報告対象外", "not reportable"),
        Label::new(
            "pending",
            "判定保留 (役務区分・利用者数・継続時間のいずれかが未報告)",
            "pending (service class, users or duration not yet reported)",
        ),
    ]
}

fn service_class_label(class: ServiceClass) -> Label {
    match bugyo_report::Rules::embedded() {
        Ok(rules) => {
            let rule = rules.major(class);
            Label::new(class.as_str(), rule.name.clone(), rule.name_en.clone())
        }
        Err(_) => Label::new(class.as_str(), class.as_str(), class.as_str()),
    }
}

/// Counts `keys` (each report's key, `None`: unknown) into rows `labels`
/// then `unknown`; a key not among the labels counts as unknown.
fn count_rows(labels: Vec<Label>, keys: impl Iterator<Item = Option<String>>) -> Vec<Count> {
    let mut rows: Vec<Count> = labels
        .into_iter()
        .chain([Label::unknown()])
        .map(|label| Count { label, count: 0 })
        .collect();
    let unknown = rows.len() - 1;
    for key in keys {
        let at = key
            .and_then(|k| rows[..unknown].iter().position(|r| r.label.key == k))
            .unwrap_or(unknown);
        rows[at].count += 1;
    }
    rows
}

fn matrix(reports: &[LatestReport]) -> Matrix {
    let users: Vec<Label> = UsersBucket::ALL
        .iter()
        .map(|b| Label::new(b.as_str(), b.ja(), b.en()))
        .chain([Label::unknown()])
        .collect();
    let durations: Vec<Label> = DurationBucket::ALL
        .iter()
        .map(|b| Label::new(b.as_str(), b.ja(), b.en()))
        .chain([Label::unknown()])
        .collect();
    let mut cells = vec![vec![0u64; users.len()]; durations.len()];
    for r in reports {
        let column = r
            .report
            .users
            .map_or(UsersBucket::ALL.len(), |u| UsersBucket::of(u) as usize);
        let row = r.report.duration.map_or(DurationBucket::ALL.len(), |d| {
            DurationBucket::of(d) as usize
        });
        cells[row][column] += 1;
    }
    let row_totals = cells.iter().map(|r| r.iter().sum()).collect();
    let column_totals = (0..users.len())
        .map(|c| cells.iter().map(|r| r[c]).sum())
        .collect();
    Matrix {
        users,
        durations,
        cells,
        row_totals,
        column_totals,
    }
}

/// Failed equipment grouped by its trimmed, case-folded text.
fn equipment(reports: &[LatestReport]) -> Vec<Count> {
    // key -> (label as first written, count, order first seen)
    let mut groups: HashMap<String, (String, u64, usize)> = HashMap::new();
    let mut unknown = 0u64;
    for r in reports {
        let text = r.report.failed_equipment.as_deref().map(str::trim);
        match text.filter(|t| !t.is_empty()) {
            Some(t) => {
                let n = groups.len();
                groups
                    .entry(t.to_lowercase())
                    .or_insert_with(|| (t.to_string(), 0, n))
                    .1 += 1;
            }
            None => unknown += 1,
        }
    }
    let mut named: Vec<(String, (String, u64, usize))> = groups.into_iter().collect();
    named.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then_with(|| a.0.cmp(&b.0)));
    let rest: u64 = named.iter().skip(TOP_EQUIPMENT).map(|g| g.1 .1).sum();
    let mut rows: Vec<Count> = named
        .into_iter()
        .take(TOP_EQUIPMENT)
        .map(|(key, (label, count, _))| Count {
            label: Label::new(key, label.clone(), label),
            count,
        })
        .collect();
    if rest > 0 {
        rows.push(Count {
            label: Label::new(OTHER, "その他", "other"),
            count: rest,
        });
    }
    rows.push(Count {
        label: Label::unknown(),
        count: unknown,
    });
    rows
}

impl ReportStatistics {
    /// The statistics of `reports` (latest versions) for `period`.
    fn of(period: Period, reports: &[LatestReport]) -> ReportStatistics {
        ReportStatistics {
            period,
            first_day: period.first_day(),
            last_day: period.last_day(),
            total: reports.len() as u64,
            by_classification: {
                // Every report has one of the four: an unknown row only
                // for a foreign value, never silently dropped.
                let mut rows = count_rows(
                    classification_labels().into(),
                    reports.iter().map(|r| Some(r.classification.clone())),
                );
                rows.retain(|r| r.label.key != UNKNOWN || r.count > 0);
                rows
            },
            users_duration: matrix(reports),
            by_service_class: count_rows(
                ServiceClass::ALL.map(service_class_label).into(),
                reports
                    .iter()
                    .map(|r| r.report.service_class.map(|c| c.as_str().to_string())),
            ),
            by_cause: count_rows(
                CauseCategory::ALL
                    .map(|c| Label::new(c.name(), c.ja(), c.name()))
                    .into(),
                reports
                    .iter()
                    .map(|r| r.report.cause_category.map(|c| c.name().to_string())),
            ),
            by_failed_equipment: equipment(reports),
        }
    }

    /// The statistics as CSV (RFC 4180: CRLF line ends, a field with a
    /// comma, quote or line break quoted, quotes doubled). Several tables
    /// one after another; the first column of every line names its table,
    /// and each table starts with its header line, whose labels are
    /// Japanese and English ("利用者数 / users"). A row's label is given in
    /// Japanese and in English in the two columns after the table's name.
    pub fn to_csv(&self) -> String {
        let mut rows: Vec<Vec<String>> = Vec::new();
        let texts = |fields: &[&str]| fields.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        rows.push(texts(&[
            "表 / table",
            "期間 / period",
            "初日 / first day",
            "末日 / last day",
            "報告件数 / reports",
        ]));
        rows.push(vec![
            "期間 / period".into(),
            self.period.label(),
            self.first_day.to_string(),
            self.last_day.to_string(),
            self.total.to_string(),
        ]);
        let counts = |rows: &mut Vec<Vec<String>>, table: &str, counts: &[Count]| {
            rows.push(vec![
                "表 / table".into(),
                format!("{table} (日本語)"),
                format!("{table} (English)"),
                "報告件数 / reports".into(),
            ]);
            for c in counts {
                rows.push(vec![
                    table.into(),
                    c.label.ja.clone(),
                    c.label.en.clone(),
                    c.count.to_string(),
                ]);
            }
        };
        counts(
            &mut rows,
            "報告区分 / classification",
            &self.by_classification,
        );
        let m = &self.users_duration;
        let table = "利用者数×継続時間 / users × duration";
        let mut header = texts(&[
            "表 / table",
            "継続時間 / duration (日本語)",
            "継続時間 / duration (English)",
        ]);
        header.extend(
            m.users
                .iter()
                .map(|u| format!("利用者数 {} / users {}", u.ja, u.en)),
        );
        header.push("計 / total".into());
        rows.push(header);
        for (i, d) in m.durations.iter().enumerate() {
            let mut row = vec![table.to_string(), d.ja.clone(), d.en.clone()];
            row.extend(m.cells[i].iter().map(u64::to_string));
            row.push(m.row_totals[i].to_string());
            rows.push(row);
        }
        let mut totals = texts(&[table, "計", "total"]);
        totals.extend(m.column_totals.iter().map(u64::to_string));
        totals.push(self.total.to_string());
        rows.push(totals);
        counts(
            &mut rows,
            "役務区分 / service class",
            &self.by_service_class,
        );
        counts(&mut rows, "原因 / cause", &self.by_cause);
        counts(
            &mut rows,
            "故障設備 / failed equipment",
            &self.by_failed_equipment,
        );
        let mut out = String::new();
        for row in rows {
            let fields: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// One CSV field, quoted if it holds a comma, a quote or a line break.
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

impl Store {
    /// The statistics of the outage reports that occurred in `period`
    /// (JST), each as its latest version says.
    pub async fn report_statistics(&self, period: Period) -> Result<ReportStatistics> {
        let quarters: Vec<String> = period.quarters().iter().map(|q| q.to_string()).collect();
        let reports = latest_reports(self, |q| {
            q.in_list(" AND r.quarter IN ", quarters.into_iter().map(Arg::Text))
        })
        .await?;
        Ok(ReportStatistics::of(period, &reports))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_and_print() {
        for (text, period, first, last) in [
            ("FY2021", Period::Year(2021), "2021-04-01", "2022-03-31"),
            (
                "FY2021Q1",
                Period::Quarter(2021, 1),
                "2021-04-01",
                "2021-06-30",
            ),
            (
                "fy2021q3",
                Period::Quarter(2021, 3),
                "2021-10-01",
                "2021-12-31",
            ),
            (
                " FY2021Q4 ",
                Period::Quarter(2021, 4),
                "2022-01-01",
                "2022-03-31",
            ),
        ] {
            assert_eq!(Period::parse(text), Ok(period), "{text}");
            assert_eq!(period.first_day().to_string(), first);
            assert_eq!(period.last_day().to_string(), last);
            assert_eq!(period.label(), text.trim().to_ascii_uppercase());
        }
        assert_eq!(
            Period::Year(2021)
                .quarters()
                .iter()
                .map(|q| q.to_string())
                .collect::<Vec<_>>(),
            ["FY2021Q1", "FY2021Q2", "FY2021Q3", "FY2021Q4"]
        );
        for bad in [
            "",
            "2021",
            "FY21",
            "FY2021Q0",
            "FY2021Q5",
            "FY2021Q",
            "FYQ1",
            "FY2021Q31",
            "FY+021",
            "FY2021X3",
        ] {
            let e = Period::parse(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{bad}: {e}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("利用者数 / users"), "利用者数 / users");
    }
}
