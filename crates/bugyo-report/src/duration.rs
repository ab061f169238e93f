//! How long an outage lasted (継続時間): a whole number of seconds, written
//! like `2h10m`, `90m`, `1d2h` or `45s`.

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The duration of an outage, in whole seconds. Thresholds in the rules
/// (001_877f6a2558382331.txt p.1 footnotes 3 and 5) are "at least"
/// (以上) comparisons on this value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct OutageDuration(u64);

/// The units of a duration, largest first.
const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

impl OutageDuration {
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        OutageDuration(secs)
    }

    /// A duration of `minutes` minutes.
    pub const fn from_minutes(minutes: u64) -> Self {
        OutageDuration(minutes * 60)
    }

    /// A duration of `hours` hours.
    pub const fn from_hours(hours: u64) -> Self {
        OutageDuration(hours * 3_600)
    }

    /// Whole seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// Parses `2h10m`, `90m`, `1h`, `45s`, `1d2h`: one or more numbers each
    /// followed by a unit (`d`, `h`, `m`, `s`), units from largest to
    /// smallest, each at most once, nothing else (no spaces, no signs, no
    /// fractions). Errors give the position (1-based character) of the
    /// first character that is wrong.
    pub fn parse(s: &str) -> Result<OutageDuration, DurationError> {
        let err = |position: usize, problem: DurationProblem| DurationError {
            input: s.to_string(),
            position,
            problem,
        };
        if s.is_empty() {
            return Err(err(1, DurationProblem::Empty));
        }
        let mut total: u64 = 0;
        let mut number: Option<u64> = None;
        let mut number_start = 0;
        // Index into UNITS of the next unit allowed (units go down).
        let mut next_unit = 0;
        for (i, c) in s.chars().enumerate() {
            let position = i + 1;
            if let Some(digit) = c.to_digit(10) {
                if number.is_none() {
                    number_start = position;
                }
                let n = number
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|n| n.checked_add(u64::from(digit)))
                    .ok_or_else(|| err(number_start, DurationProblem::TooLong))?;
                number = Some(n);
                continue;
            }
            let Some(n) = number.take() else {
                return Err(err(position, DurationProblem::ExpectedNumber(c)));
            };
            let Some(u) = UNITS.iter().position(|&(name, _)| name == c) else {
                return Err(err(position, DurationProblem::UnknownUnit(c)));
            };
            if u < next_unit {
                return Err(err(position, DurationProblem::UnitOutOfOrder(c)));
            }
            next_unit = u + 1;
            total = n
                .checked_mul(UNITS[u].1)
                .and_then(|secs| total.checked_add(secs))
                .ok_or_else(|| err(number_start, DurationProblem::TooLong))?;
        }
        if number.is_some() {
            return Err(err(s.chars().count() + 1, DurationProblem::MissingUnit));
        }
        Ok(OutageDuration(total))
    }
}

impl OutageDuration {
    /// In Japanese, as the ordinance writes durations: `2時間10分`, `1日`, `0秒`.
    pub fn ja(self) -> String {
        if self.0 == 0 {
            return "0秒".into();
        }
        let mut out = String::new();
        let mut rest = self.0;
        for ((_, secs), name) in UNITS.iter().zip(["日", "時間", "分", "秒"]) {
            if rest >= *secs {
                out.push_str(&format!("{}{name}", rest / secs));
                rest %= secs;
            }
        }
        out
    }
}

impl fmt::Display for OutageDuration {
    /// The shortest form [`OutageDuration::parse`] reads back: `2h10m`,
    /// `1d`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (name, secs) in UNITS {
            if rest >= secs {
                write!(f, "{}{name}", rest / secs)?;
                rest %= secs;
            }
        }
        Ok(())
    }
}

impl Serialize for OutageDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromStr for OutageDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutageDuration::parse(s)
    }
}

/// A string that is not a duration: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duration {input:?}, position {position}: {problem} / 継続時間 {input:?} の{position}文字目: {ja}", ja = problem.ja())]
pub struct DurationError {
    /// The input.
    pub input: String,
    /// 1-based character position of the first wrong character (one past
    /// the end for a missing unit).
    pub position: usize,
    /// What is wrong there.
    pub problem: DurationProblem,
}

/// What is wrong in a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationProblem {
    /// Nothing given.
    #[error("empty; write it like 2h10m, 90m, 1d2h or 45s")]
    Empty,
    /// A character where a number should start.
    #[error("{0:?} where a number should be; write it like 2h10m, 90m, 1d2h or 45s")]
    ExpectedNumber(char),
    /// A number with no unit after it.
    #[error("a number without a unit (d, h, m or s)")]
    MissingUnit,
    /// A unit that is not d, h, m or s.
    #[error("unknown unit {0:?} (use d, h, m or s)")]
    UnknownUnit(char),
    /// A unit repeated or after a smaller one.
    #[error("unit {0:?} repeated or after a smaller unit (write 1d2h10m30s, largest first)")]
    UnitOutOfOrder(char),
    /// More seconds than fit.
    #[error("too long a duration")]
    TooLong,
}

impl DurationProblem {
    /// The same in Japanese.
    pub fn ja(&self) -> String {
        match self {
            DurationProblem::Empty => "空です。2h10m, 90m, 1d2h, 45s のように書いてください".into(),
            DurationProblem::ExpectedNumber(c) => {
                format!("数字があるべき所に {c:?} があります。2h10m, 90m, 1d2h, 45s のように書いてください")
            }
            DurationProblem::MissingUnit => "数字の後に単位 (d, h, m, s) がありません".into(),
            DurationProblem::UnknownUnit(c) => {
                format!("単位 {c:?} は使えません (d, h, m, s のいずれか)")
            }
            DurationProblem::UnitOutOfOrder(c) => format!(
                "単位 {c:?} が重複しているか、小さい単位の後にあります (1d2h10m30s のように大きい単位から)"
            ),
            DurationProblem::TooLong => "継続時間が長すぎます".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_forms_operators_write() {
        for (s, secs) in [
            ("2h10m", 7_800),
            ("90m", 5_400),
            ("1h", 3_600),
            ("45s", 45),
            ("1d2h", 93_600),
            ("0s", 0),
            ("1d2h3m4s", 93_784),
            ("0120m", 7_200),
        ] {
            assert_eq!(
                OutageDuration::parse(s).map(|d| d.as_secs()),
                Ok(secs),
                "{s}"
            );
        }
    }

    #[test]
    fn errors_say_where() {
        for (s, position, problem) in [
            ("", 1, DurationProblem::Empty),
            ("2", 2, DurationProblem::MissingUnit),
            ("2h10", 5, DurationProblem::MissingUnit),
            ("2x", 2, DurationProblem::UnknownUnit('x')),
            ("2H", 2, DurationProblem::UnknownUnit('H')),
            ("h", 1, DurationProblem::ExpectedNumber('h')),
            (" 2h", 1, DurationProblem::ExpectedNumber(' ')),
            ("2h 10m", 3, DurationProblem::ExpectedNumber(' ')),
            ("-1h", 1, DurationProblem::ExpectedNumber('-')),
            ("1.5h", 2, DurationProblem::UnknownUnit('.')),
            ("10m2h", 5, DurationProblem::UnitOutOfOrder('h')),
            ("1h1h", 4, DurationProblem::UnitOutOfOrder('h')),
            ("２h", 1, DurationProblem::ExpectedNumber('２')),
            ("99999999999999999999s", 1, DurationProblem::TooLong),
            (
                "1h999999999999999999d",
                21,
                DurationProblem::UnitOutOfOrder('d'),
            ),
            ("999999999999999999d", 1, DurationProblem::TooLong),
        ] {
            let e = OutageDuration::parse(s).unwrap_err();
            assert_eq!((e.position, &e.problem), (position, &problem), "{s:?}");
        }
        let e = OutageDuration::parse("2x").unwrap_err().to_string();
        assert!(e.contains("position 2") && e.contains("2文字目"), "{e}");
    }

    #[test]
    fn displays_what_it_parses() {
        for secs in [0, 1, 59, 60, 3_600, 7_800, 86_400, 93_784, 123_456_789] {
            let d = OutageDuration::from_secs(secs);
            assert_eq!(OutageDuration::parse(&d.to_string()), Ok(d));
        }
        assert_eq!(OutageDuration::from_secs(7_800).to_string(), "2h10m");
        assert_eq!(OutageDuration::from_secs(7_800).ja(), "2時間10分");
        assert_eq!(OutageDuration::from_secs(93_784).ja(), "1日2時間3分4秒");
        assert_eq!(OutageDuration::from_secs(0).ja(), "0秒");
    }

    proptest! {
        #[test]
        fn no_input_panics(s in "\\PC*") {
            let _ = OutageDuration::parse(&s);
        }

        #[test]
        fn no_near_miss_panics(s in "[0-9dhms x.\\-]{0,30}") {
            if let Ok(d) = OutageDuration::parse(&s) {
                prop_assert_eq!(OutageDuration::parse(&d.to_string()), Ok(d));
            }
        }

        #[test]
        fn round_trips(secs in 0u64..10_000_000_000) {
            let d = OutageDuration::from_secs(secs);
            prop_assert_eq!(OutageDuration::parse(&d.to_string()), Ok(d));
        }
    }
}
