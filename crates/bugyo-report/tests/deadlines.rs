//! Deadlines through the whole classification: the detailed report 30 days
//! after the JST day of occurrence (003_78622d575001fa0d.txt "30日以内に詳細
//! 報告"), the fiscal quarter in JST, and the quarterly report due at the
//! end of the second month after the quarter; across month ends, year ends,
//! fiscal year ends, leap years and JST day boundaries.

use bugyo_report::calendar::parse_time;
use bugyo_report::{classify, AccidentClass, OutageDuration, ServiceClass};

struct Due {
    class: AccidentClass,
    jst: String,
    detailed: Option<String>,
    quarter: String,
    quarterly: Option<String>,
}

fn due(class: ServiceClass, users: u64, duration: &str, at: &str) -> Due {
    let c = classify(
        class,
        users,
        OutageDuration::parse(duration).unwrap(),
        parse_time(at).unwrap(),
    )
    .unwrap();
    Due {
        class: c.classification,
        jst: c.occurred_on_jst.to_string(),
        detailed: c.detailed_report_due.map(|d| d.to_string()),
        quarter: c.quarter.to_string(),
        quarterly: c.quarterly_report_due.map(|d| d.to_string()),
    }
}

#[test]
fn deadlines_across_month_year_and_leap_year_ends() {
    use AccidentClass::*;
    let major = |at| due(ServiceClass::Other, 50_000, "3h", at);
    #[rustfmt::skip]
    let table = [
        // at, JST day, detailed report due, quarter, quarterly report due
        ("2024-01-31T12:00:00+09:00", "2024-01-31", "2024-03-01", "FY2023Q4", "2024-05-31"),
        ("2023-01-31T12:00:00+09:00", "2023-01-31", "2023-03-02", "FY2022Q4", "2023-05-31"),
        ("2023-10-15T12:00:00+09:00", "2023-10-15", "2023-11-14", "FY2023Q3", "2024-02-29"),
        ("2022-12-31T23:59:59+09:00", "2022-12-31", "2023-01-30", "FY2022Q3", "2023-02-28"),
        ("2021-10-09T07:56:00+09:00", "2021-10-09", "2021-11-08", "FY2021Q3", "2022-02-28"),
        ("2022-03-16T23:51:00+09:00", "2022-03-16", "2022-04-15", "FY2021Q4", "2022-05-31"),
        ("2021-05-30T20:41:00+09:00", "2021-05-30", "2021-06-29", "FY2021Q1", "2021-08-31"),
        ("2021-09-30T12:00:00+09:00", "2021-09-30", "2021-10-30", "FY2021Q2", "2021-11-30"),
        ("2024-02-29T12:00:00+09:00", "2024-02-29", "2024-03-30", "FY2023Q4", "2024-05-31"),
        ("2019-11-01T00:00:00+09:00", "2019-11-01", "2019-12-01", "FY2019Q3", "2020-02-29"),
        // JST day boundaries: the JST date counts, not the UTC one.
        ("2022-03-31T20:00:00Z",      "2022-04-01", "2022-05-01", "FY2022Q1", "2022-08-31"),
        ("2022-03-31T14:59:59Z",      "2022-03-31", "2022-04-30", "FY2021Q4", "2022-05-31"),
        ("2022-03-31T15:00:00Z",      "2022-04-01", "2022-05-01", "FY2022Q1", "2022-08-31"),
        ("2023-12-31T15:00:00Z",      "2024-01-01", "2024-01-31", "FY2023Q4", "2024-05-31"),
        ("2023-12-31T14:59:59Z",      "2023-12-31", "2024-01-30", "FY2023Q3", "2024-02-29"),
        ("2024-01-01T08:59:59+09:00", "2024-01-01", "2024-01-31", "FY2023Q4", "2024-05-31"),
        ("2023-12-31T10:00:00-05:00", "2024-01-01", "2024-01-31", "FY2023Q4", "2024-05-31"),
    ];
    for (at, jst, detailed, quarter, quarterly) in table {
        let d = major(at);
        assert_eq!(
            (
                d.class,
                d.jst.as_str(),
                d.detailed.as_deref(),
                d.quarter.as_str(),
                d.quarterly.as_deref()
            ),
            (Major, jst, Some(detailed), quarter, Some(quarterly)),
            "{at}"
        );
    }
}

#[test]
fn quarterly_accidents_have_no_detailed_report() {
    let d = due(ServiceClass::Other, 10, "2h", "2022-10-01T00:00:00+09:00");
    assert_eq!(d.class, AccidentClass::Quarterly);
    assert_eq!(d.detailed, None);
    assert_eq!(
        (d.quarter.as_str(), d.quarterly.as_deref()),
        ("FY2022Q3", Some("2023-02-28"))
    );
}

#[test]
fn no_deadline_but_a_quarter_for_none() {
    let d = due(ServiceClass::Other, 10, "10m", "2022-01-15T00:00:00+09:00");
    assert_eq!(d.class, AccidentClass::None);
    assert_eq!((d.detailed, d.quarterly), (None, None));
    assert_eq!(d.quarter, "FY2021Q4");
}
