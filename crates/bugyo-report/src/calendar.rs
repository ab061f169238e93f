//! Dates as the regulator counts them: the civil date in Japan (JST,
//! UTC+9, no daylight saving), the fiscal year from 1 April, and the two
//! report deadlines. RFC 3339 times with any offset are read here
//! ([`parse_time`]); `bugyo_model::Timestamp::parse_rfc3339` reads UTC only.

use bugyo_model::time::{civil_from_days, days_from_civil};
pub use bugyo_model::time::{days_in_month, is_leap_year};
use bugyo_model::Timestamp;
use serde::{Serialize, Serializer};
use std::fmt;

/// JST is UTC+9 all year.
pub const JST_OFFSET_SECS: i64 = 9 * 3_600;

/// A civil date (proleptic Gregorian), always a date that exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: i64,
    month: u32,
    day: u32,
}

impl Date {
    /// The date `year-month-day`, if it exists.
    pub fn new(year: i64, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Date { year, month, day })
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let (year, month, day) = civil_from_days(days);
        Date { year, month, day }
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The year.
    pub fn year(self) -> i64 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// The day of the month, 1..=31.
    pub fn day(self) -> u32 {
        self.day
    }

    /// The date `n` days later.
    pub fn plus_days(self, n: i64) -> Date {
        Date::from_days(self.days() + n)
    }

    /// The last day of the month `months` months after this date's month
    /// (0: this month).
    pub fn end_of_month_after(self, months: u32) -> Date {
        let m0 = self.year * 12 + i64::from(self.month - 1) + i64::from(months);
        let (year, month) = (m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1);
        Date {
            year,
            month,
            day: days_in_month(year, month),
        }
    }

    /// The date in Japan (JST) at time `t`.
    pub fn jst(t: Timestamp) -> Date {
        Date::from_days(t.secs.saturating_add(JST_OFFSET_SECS).div_euclid(86_400))
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A quarter of the Japanese fiscal year (年度), which starts on 1 April:
/// Q1 is April–June, Q2 July–September, Q3 October–December, Q4
/// January–March of the next calendar year. Quarterly reports
/// (電気通信事業報告規則第7条の3, 001_877f6a2558382331.txt p.1) are per
/// quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiscalQuarter {
    fiscal_year: i64,
    quarter: u32,
}

impl FiscalQuarter {
    /// The quarter a date belongs to.
    pub fn of(date: Date) -> FiscalQuarter {
        if date.month >= 4 {
            FiscalQuarter {
                fiscal_year: date.year,
                quarter: (date.month - 4) / 3 + 1,
            }
        } else {
            FiscalQuarter {
                fiscal_year: date.year - 1,
                quarter: 4,
            }
        }
    }

    /// Quarter `quarter` (1..=4) of fiscal year `fiscal_year`; `None` for
    /// another quarter number or a year outside 1..=9999.
    pub fn new(fiscal_year: i64, quarter: u32) -> Option<FiscalQuarter> {
        ((1..=9999).contains(&fiscal_year) && (1..=4).contains(&quarter)).then_some(FiscalQuarter {
            fiscal_year,
            quarter,
        })
    }

    /// Reads the form [`Display`](fmt::Display) writes, `FY2021Q3`
    /// (`FY` and `Q` in either case; four-digit year).
    pub fn parse(s: &str) -> Option<FiscalQuarter> {
        let b = s.as_bytes();
        if b.len() != 8
            || !b[..2].eq_ignore_ascii_case(b"FY")
            || !b[6].eq_ignore_ascii_case(&b'Q')
            || !b[2..6].iter().chain(&b[7..]).all(u8::is_ascii_digit)
        {
            return None;
        }
        FiscalQuarter::new(s[2..6].parse().ok()?, s[7..].parse().ok()?)
    }

    /// The quarter before.
    pub fn previous(self) -> FiscalQuarter {
        if self.quarter == 1 {
            FiscalQuarter {
                fiscal_year: self.fiscal_year - 1,
                quarter: 4,
            }
        } else {
            FiscalQuarter {
                fiscal_year: self.fiscal_year,
                quarter: self.quarter - 1,
            }
        }
    }

    /// The fiscal year (FY2021 runs from 2021-04-01 to 2022-03-31).
    pub fn fiscal_year(self) -> i64 {
        self.fiscal_year
    }

    /// 1..=4.
    pub fn quarter(self) -> u32 {
        self.quarter
    }

    /// The first day of the quarter.
    pub fn first_day(self) -> Date {
        let m0 = self.fiscal_year * 12 + 3 + i64::from(self.quarter - 1) * 3;
        Date {
            year: m0.div_euclid(12),
            month: m0.rem_euclid(12) as u32 + 1,
            day: 1,
        }
    }

    /// The last day of the quarter.
    pub fn last_day(self) -> Date {
        self.first_day().end_of_month_after(2)
    }
}

impl fmt::Display for FiscalQuarter {
    /// `FY2021Q3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}Q{}", self.fiscal_year, self.quarter)
    }
}

impl Serialize for FiscalQuarter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The due date of the detailed report of a major accident that occurred
/// on `occurred_on` (the JST date): `days` (30) days later.
///
/// Reading of "30日以内に詳細報告" (003_78622d575001fa0d.txt; the report
/// is the one of 施行規則第57条, 001_877f6a2558382331.txt p.1 footnote 6):
/// the period runs from the day of occurrence, and, as the Civil Code
/// counts periods of days (民法第140条, 初日不算入), the day of occurrence
/// itself is day 0: an accident on 2024-01-31 (JST) is due by the end of
/// 2024-03-01. The date is the last day on which the report is on time.
/// Not applied: the proviso of 民法第140条 for a period that starts at
/// exactly 00:00 (which would make it a day earlier), and any extension
/// when the last day is a holiday (行政機関の休日); both are left to the
/// operator, and the date given is never later than the legal one except
/// for an accident starting at exactly 00:00:00 JST.
pub fn detailed_report_due(occurred_on: Date, days: u32) -> Date {
    occurred_on.plus_days(i64::from(days))
}

/// The due date of the quarterly report for `quarter`: the last day of the
/// `months`-th (2nd) month after the quarter ends.
///
/// Reading of "四半期経過後二月以内" (within two months after the quarter;
/// the period is from issue 5, not in the seeds): the period starts at
/// 00:00 on the first day after the quarter, so that day counts (民法第140条
/// ただし書), and a period of months ends on the day before the
/// corresponding day of the last month (民法第143条), i.e. the last day of
/// the second month: Q1 (Apr–Jun) → 31 August, Q2 → 30 November, Q3
/// (Oct–Dec) → 28 or 29 February, Q4 (Jan–Mar) → 31 May.
pub fn quarterly_report_due(quarter: FiscalQuarter, months: u32) -> Date {
    quarter.last_day().end_of_month_after(months)
}

/// A time in JST as RFC 3339, e.g. `2022-04-01T05:00:00+09:00`.
pub fn jst_rfc3339(t: Timestamp) -> String {
    let local = t.secs.saturating_add(JST_OFFSET_SECS);
    let date = Date::from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    let frac = if t.micros == 0 {
        String::new()
    } else {
        format!(".{:06}", t.micros)
    };
    format!(
        "{date}T{:02}:{:02}:{:02}{frac}+09:00",
        s / 3_600,
        s % 3_600 / 60,
        s % 60
    )
}

/// A string that is not an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not an RFC 3339 time ({problem}), e.g. 2021-10-09T07:56:00+09:00 or 2021-10-08T22:56:00Z / \
     {input:?} は RFC 3339 の時刻ではありません。例: 2021-10-09T07:56:00+09:00, 2021-10-08T22:56:00Z"
)]
pub struct TimeError {
    /// The input.
    pub input: String,
    /// What is wrong (English).
    pub problem: &'static str,
}

/// Parses an RFC 3339 time with any offset: `2021-10-09T07:56:00+09:00`,
/// `2021-10-08T22:56:00Z`, with an optional fraction of a second (kept to
/// microseconds, the rest dropped); `t`, `z` and a space for `T` are
/// accepted as RFC 3339 allows. Dates that do not exist are refused.
pub fn parse_time(s: &str) -> Result<Timestamp, TimeError> {
    let err = |problem| TimeError {
        input: s.to_string(),
        problem,
    };
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    let (Some(year), Some(month), Some(day)) = (num(0, 4), num(5, 2), num(8, 2)) else {
        return Err(err("the date must be YYYY-MM-DD"));
    };
    if !sep(4, b"-") || !sep(7, b"-") {
        return Err(err("the date must be YYYY-MM-DD"));
    }
    if !sep(10, b"Tt ") {
        return Err(err("T and the time of day must follow the date"));
    }
    let (Some(hour), Some(minute), Some(second)) = (num(11, 2), num(14, 2), num(17, 2)) else {
        return Err(err("the time of day must be hh:mm:ss"));
    };
    if !sep(13, b":") || !sep(16, b":") {
        return Err(err("the time of day must be hh:mm:ss"));
    }
    let mut at = 19;
    let mut micros = 0u32;
    if sep(at, b".") {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            if at - start < 6 {
                micros = micros * 10 + u32::from(b[at] - b'0');
            }
            at += 1;
        }
        if at == start {
            return Err(err("a fraction of a second needs digits"));
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }
    let offset = match b.get(at) {
        Some(b'Z' | b'z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() && sep(at + 3, b":") => {
            let (Some(oh), Some(om)) = (num(at + 1, 2), num(at + 4, 2)) else {
                return Err(err("the offset must be Z or +hh:mm / -hh:mm"));
            };
            if oh > 23 || om > 59 {
                return Err(err("the offset is out of range"));
            }
            let o = oh * 3_600 + om * 60;
            if sign == b'-' {
                -o
            } else {
                o
            }
        }
        None => return Err(err("the offset (Z or +09:00) is missing")),
        _ => return Err(err("the offset must be Z or +hh:mm / -hh:mm, at the end")),
    };
    let Some(date) = u32::try_from(month)
        .ok()
        .zip(u32::try_from(day).ok())
        .and_then(|(m, d)| Date::new(year, m, d))
    else {
        return Err(err("no such date"));
    };
    // 60 is a leap second (RFC 3339 allows it); it counts as the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err("no such time of day"));
    }
    let secs = date.days() * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    Ok(Timestamp { secs, micros })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i64, m: u32, day: u32) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn dates_exist_or_are_refused() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(1900, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(2021, 4, 31).is_none());
        assert!(Date::new(2021, 13, 1).is_none());
        assert!(Date::new(2021, 0, 1).is_none());
        assert!(Date::new(2021, 1, 0).is_none());
        assert_eq!(d(2021, 10, 9).to_string(), "2021-10-09");
    }

    #[test]
    fn fiscal_quarters_start_in_april() {
        for (date, q, first, last) in [
            (d(2021, 4, 1), "FY2021Q1", d(2021, 4, 1), d(2021, 6, 30)),
            (d(2021, 6, 30), "FY2021Q1", d(2021, 4, 1), d(2021, 6, 30)),
            (d(2021, 7, 1), "FY2021Q2", d(2021, 7, 1), d(2021, 9, 30)),
            (d(2021, 10, 9), "FY2021Q3", d(2021, 10, 1), d(2021, 12, 31)),
            (d(2021, 12, 31), "FY2021Q3", d(2021, 10, 1), d(2021, 12, 31)),
            (d(2022, 1, 1), "FY2021Q4", d(2022, 1, 1), d(2022, 3, 31)),
            (d(2022, 3, 31), "FY2021Q4", d(2022, 1, 1), d(2022, 3, 31)),
            (d(2022, 4, 1), "FY2022Q1", d(2022, 4, 1), d(2022, 6, 30)),
        ] {
            let fq = FiscalQuarter::of(date);
            assert_eq!(fq.to_string(), q, "{date}");
            assert_eq!((fq.first_day(), fq.last_day()), (first, last), "{date}");
        }
    }

    #[test]
    fn jst_is_nine_hours_ahead() {
        // 2022-03-31T20:00Z is 2022-04-01 05:00 JST: a new fiscal year.
        let t = parse_time("2022-03-31T20:00:00Z").unwrap();
        assert_eq!(Date::jst(t), d(2022, 4, 1));
        assert_eq!(jst_rfc3339(t), "2022-04-01T05:00:00+09:00");
        let t = parse_time("2022-03-31T14:59:59Z").unwrap();
        assert_eq!(Date::jst(t), d(2022, 3, 31));
        let t = parse_time("2022-03-31T15:00:00Z").unwrap();
        assert_eq!(Date::jst(t), d(2022, 4, 1));
        assert_eq!(jst_rfc3339(t), "2022-04-01T00:00:00+09:00");
        let t = parse_time("1969-12-31T15:00:00.25Z").unwrap();
        assert_eq!(jst_rfc3339(t), "1970-01-01T00:00:00.250000+09:00");
    }

    #[test]
    fn times_with_any_offset() {
        let utc = parse_time("2021-10-08T22:56:00Z").unwrap();
        for s in [
            "2021-10-09T07:56:00+09:00",
            "2021-10-08T22:56:00+00:00",
            "2021-10-08T22:56:00-00:00",
            "2021-10-08t22:56:00z",
            "2021-10-08 22:56:00Z",
            "2021-10-08T17:26:00-05:30",
        ] {
            assert_eq!(parse_time(s), Ok(utc), "{s}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2021-10-08T22:56:00Z"),
            Some(utc),
            "agrees with bugyo_model"
        );
        let t = parse_time("2021-10-09T07:56:00.1234567+09:00").unwrap();
        assert_eq!((t.secs, t.micros), (utc.secs, 123_456));
        for bad in [
            "",
            "2021-10-09",
            "2021-10-09T07:56:00",
            "2021-10-09T07:56+09:00",
            "2021-02-29T00:00:00Z",
            "2021-10-09T24:00:00Z",
            "2021-10-09T07:56:00+9:00",
            "2021-10-09T07:56:00+24:00",
            "2021-10-09T07:56:00.Z",
            "2021-10-09T07:56:00Zjunk",
            "2021-10-09X07:56:00Z",
            "２０２１-10-09T07:56:00Z",
            "+2021-10-09T07:56:00Z",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn detailed_report_30_days_after() {
        for (occurred, due) in [
            (d(2024, 1, 31), d(2024, 3, 1)), // leap year: 29 days in February
            (d(2023, 1, 31), d(2023, 3, 2)),
            (d(2021, 10, 9), d(2021, 11, 8)),
            (d(2021, 12, 15), d(2022, 1, 14)), // across the year end
            (d(2022, 3, 16), d(2022, 4, 15)),  // across the fiscal year end
            (d(2024, 2, 29), d(2024, 3, 30)),
            (d(2021, 12, 31), d(2022, 1, 30)),
            (d(2100, 2, 1), d(2100, 3, 3)), // 2100 is not a leap year
        ] {
            assert_eq!(detailed_report_due(occurred, 30), due, "{occurred}");
        }
    }

    #[test]
    fn quarterly_report_two_months_after_the_quarter() {
        for (in_quarter, due) in [
            (d(2023, 10, 1), d(2024, 2, 29)),  // FY2023Q3: leap year
            (d(2022, 12, 31), d(2023, 2, 28)), // FY2022Q3
            (d(2099, 11, 1), d(2100, 2, 28)),  // FY2099Q3: 2100 is not leap
            (d(1999, 11, 1), d(2000, 2, 29)),  // FY1999Q3: 2000 is
            (d(2021, 4, 1), d(2021, 8, 31)),   // Q1
            (d(2021, 9, 30), d(2021, 11, 30)), // Q2
            (d(2022, 3, 31), d(2022, 5, 31)),  // FY2021Q4
            (d(2022, 1, 1), d(2022, 5, 31)),
        ] {
            assert_eq!(
                quarterly_report_due(FiscalQuarter::of(in_quarter), 2),
                due,
                "{in_quarter}"
            );
        }
    }

    #[test]
    fn quarters_read_back() {
        let q = FiscalQuarter::parse("FY2021Q3").unwrap();
        assert_eq!((q.fiscal_year(), q.quarter()), (2021, 3));
        assert_eq!(q, FiscalQuarter::of(d(2021, 12, 1)));
        assert_eq!(FiscalQuarter::parse("fy2021q3"), Some(q));
        assert_eq!(q.previous().to_string(), "FY2021Q2");
        assert_eq!(
            FiscalQuarter::parse("FY2021Q1")
                .unwrap()
                .previous()
                .to_string(),
            "FY2020Q4"
        );
        for bad in [
            "",
            "FY2021",
            "FY2021Q0",
            "FY2021Q5",
            "FY21Q3",
            "2021Q3",
            "FY2021Q3 ",
            "FY0000Q1",
            "FY+021Q1",
            "FY２０２１Q3",
        ] {
            assert_eq!(FiscalQuarter::parse(bad), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn no_time_input_panics(s in "\\PC*") {
            let _ = parse_time(&s);
        }

        #[test]
        fn no_near_miss_panics(s in "[0-9:+\\-TZ. ]{0,32}") {
            let _ = parse_time(&s);
        }

        #[test]
        fn times_round_trip(secs in -62_000_000_000i64..250_000_000_000, micros in 0u32..1_000_000) {
            let t = Timestamp { secs, micros };
            prop_assert_eq!(parse_time(&t.rfc3339()), Ok(t));
            prop_assert_eq!(parse_time(&jst_rfc3339(t)), Ok(t));
        }
    }
}
