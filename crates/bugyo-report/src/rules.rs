//! The report rules as data: `rules/accident-thresholds.toml`, embedded in
//! the crate, read at first use. Each threshold carries its legal source
//! (the ordinance and article as 001_877f6a2558382331.txt names them, and
//! the seed file), so a rule change is a change of that file alone. Every
//! key is checked: an unknown key (a typo would silently drop a threshold)
//! or a missing or wrong one is an error naming it.

use crate::{OutageDuration, ServiceClass};
use serde::Serialize;
use std::sync::OnceLock;
use toml::{Table, Value};

/// The rules file shipped with bugyo.
pub const EMBEDDED: &str = include_str!("../rules/accident-thresholds.toml");

/// Where a rule comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The ordinance and article, in Japanese (e.g. 電気通信事業法施行規則第58条 二).
    pub law: String,
    /// The same in English.
    pub law_en: String,
    /// The seed document it was read from (`shared/seeds/...`).
    pub seed: String,
    /// Where in the seed.
    pub at: String,
}

/// One alternative of a major-accident rule: duration AND users (no user
/// threshold for the critical-facility rule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// The rule's id, e.g. `major-voice-2h-30k`.
    pub id: String,
    /// Met by a duration at least this long (以上).
    pub duration_at_least: OutageDuration,
    /// Met by at least this many users (以上); `None`: any number.
    pub users_at_least: Option<u64>,
}

impl Threshold {
    /// Whether an outage meets it.
    pub fn is_met(&self, users: u64, duration: OutageDuration) -> bool {
        duration >= self.duration_at_least && self.users_at_least.is_none_or(|n| users >= n)
    }

    /// The condition in words, English and Japanese.
    pub fn condition(&self) -> (String, String) {
        let d = self.duration_at_least;
        match self.users_at_least {
            Some(n) => (
                format!("duration >= {d} and users >= {n}"),
                format!("継続時間{}以上かつ影響利用者数{n}以上", d.ja()),
            ),
            None => (
                format!("all traffic through the facility impossible for >= {d}"),
                format!("設備を利用する全ての通信の疎通が{}以上不能", d.ja()),
            ),
        }
    }
}

/// The major-accident rule of one service class: any alternative suffices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MajorRule {
    /// The class it is for.
    pub service_class: ServiceClass,
    /// The class in the ordinance's words.
    pub name: String,
    /// The same in English.
    pub name_en: String,
    /// Where it comes from.
    pub source: Source,
    /// The alternatives (OR), in the ordinance's order.
    pub any_of: Vec<Threshold>,
}

/// The quarterly-report rule: users OR duration, for every class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuarterlyRule {
    /// The rule's id.
    pub id: String,
    /// Met by at least this many users (以上)...
    pub users_at_least: u64,
    /// ... or a duration at least this long (以上).
    pub duration_at_least: OutageDuration,
    /// Where it comes from.
    pub source: Source,
}

impl QuarterlyRule {
    /// Whether an outage meets it.
    pub fn is_met(&self, users: u64, duration: OutageDuration) -> bool {
        users >= self.users_at_least || duration >= self.duration_at_least
    }
}

/// The deadlines of the reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Deadlines {
    /// Days from the day of occurrence to the detailed report of a major accident.
    pub detailed_report_days: u32,
    /// Where that comes from.
    pub detailed_report_source: Source,
    /// Months from the end of the quarter to the quarterly report.
    pub quarterly_report_months: u32,
    /// Where that comes from.
    pub quarterly_report_source: Source,
}

/// Every rule of the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rules {
    /// Report deadlines.
    pub deadlines: Deadlines,
    /// The quarterly-report rule.
    pub quarterly: QuarterlyRule,
    /// The major-accident rules, one per service class, in [`ServiceClass::ALL`] order.
    major: Vec<MajorRule>,
}

/// A rules file that cannot be used: which key, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// Not TOML.
    #[error("accident thresholds: not TOML: {0} / 事故報告基準: TOML として読めません: {0}")]
    Syntax(String),
    /// A key that is wrong.
    #[error("accident thresholds: key {key}: {problem} / 事故報告基準: キー {key}: {problem_ja}")]
    Key {
        /// The key's path, e.g. `major[1].any_of[0].duration_at_least`.
        key: String,
        /// What is wrong.
        problem: String,
        /// The same in Japanese.
        problem_ja: String,
    },
}

fn key_error(key: &str, problem: impl Into<String>, problem_ja: impl Into<String>) -> RulesError {
    RulesError::Key {
        key: key.to_string(),
        problem: problem.into(),
        problem_ja: problem_ja.into(),
    }
}

/// Reads one table, key by key, refusing keys it was not asked for.
struct Reader<'a> {
    path: String,
    table: &'a Table,
}

impl<'a> Reader<'a> {
    fn key(&self, k: &str) -> String {
        if self.path.is_empty() {
            k.to_string()
        } else {
            format!("{}.{k}", self.path)
        }
    }

    fn get(&self, k: &str) -> Result<&'a Value, RulesError> {
        self.table
            .get(k)
            .ok_or_else(|| key_error(&self.key(k), "missing", "ありません"))
    }

    fn table(&self, k: &str) -> Result<Reader<'a>, RulesError> {
        match self.get(k)? {
            Value::Table(t) => Ok(Reader {
                path: self.key(k),
                table: t,
            }),
            _ => Err(key_error(
                &self.key(k),
                "must be a table",
                "表でなければなりません",
            )),
        }
    }

    fn tables(&self, k: &str) -> Result<Vec<Reader<'a>>, RulesError> {
        let Value::Array(items) = self.get(k)? else {
            return Err(key_error(
                &self.key(k),
                "must be an array of tables",
                "表の配列でなければなりません",
            ));
        };
        if items.is_empty() {
            return Err(key_error(
                &self.key(k),
                "must not be empty",
                "空ではいけません",
            ));
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => Ok(Reader {
                    path: format!("{}[{i}]", self.key(k)),
                    table: t,
                }),
                _ => Err(key_error(
                    &format!("{}[{i}]", self.key(k)),
                    "must be a table",
                    "表でなければなりません",
                )),
            })
            .collect()
    }

    fn string(&self, k: &str) -> Result<String, RulesError> {
        match self.get(k)? {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            Value::String(_) => Err(key_error(
                &self.key(k),
                "must not be empty",
                "空ではいけません",
            )),
            _ => Err(key_error(
                &self.key(k),
                "must be a string",
                "文字列でなければなりません",
            )),
        }
    }

    fn integer(&self, k: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, RulesError> {
        let v = self.get(k)?;
        v.as_integer()
            .and_then(|n| u64::try_from(n).ok())
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                key_error(
                    &self.key(k),
                    format!(
                        "must be a whole number from {} to {}, not {v}",
                        range.start(),
                        range.end()
                    ),
                    format!(
                        "{}から{}までの整数でなければなりません ({v} は不可)",
                        range.start(),
                        range.end()
                    ),
                )
            })
    }

    fn duration(&self, k: &str) -> Result<OutageDuration, RulesError> {
        let Value::String(s) = self.get(k)? else {
            return Err(key_error(
                &self.key(k),
                "must be a duration string such as \"2h\"",
                "\"2h\" のような継続時間の文字列でなければなりません",
            ));
        };
        OutageDuration::parse(s).map_err(|e| {
            key_error(
                &self.key(k),
                format!("position {}: {}", e.position, e.problem),
                format!("{}文字目: {}", e.position, e.problem.ja()),
            )
        })
    }

    fn source(&self, k: &str) -> Result<Source, RulesError> {
        let r = self.table(k)?;
        r.only(&["law", "law_en", "seed", "at"])?;
        Ok(Source {
            law: r.string("law")?,
            law_en: r.string("law_en")?,
            seed: r.string("seed")?,
            at: r.string("at")?,
        })
    }

    /// Refuses any key but `known`.
    fn only(&self, known: &[&str]) -> Result<(), RulesError> {
        match self.table.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(key_error(
                &self.key(k),
                format!("unknown key (known here: {})", known.join(", ")),
                format!("不明なキーです (ここで使えるキー: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

impl Rules {
    /// Reads a rules file.
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| RulesError::Syntax(e.to_string()))?;
        let top = Reader {
            path: String::new(),
            table: &table,
        };
        top.only(&["schema", "deadlines", "quarterly", "major"])?;
        top.integer("schema", 1..=1)?;

        let d = top.table("deadlines")?;
        d.only(&["detailed_report", "quarterly_report"])?;
        let detailed = d.table("detailed_report")?;
        detailed.only(&["days_after_occurrence", "source"])?;
        let quarterly_deadline = d.table("quarterly_report")?;
        quarterly_deadline.only(&["months_after_quarter", "source"])?;
        let deadlines = Deadlines {
            detailed_report_days: detailed.integer("days_after_occurrence", 1..=366)? as u32,
            detailed_report_source: detailed.source("source")?,
            quarterly_report_months: quarterly_deadline.integer("months_after_quarter", 1..=12)?
                as u32,
            quarterly_report_source: quarterly_deadline.source("source")?,
        };

        let q = top.table("quarterly")?;
        q.only(&["id", "users_at_least", "duration_at_least", "source"])?;
        let quarterly = QuarterlyRule {
            id: q.string("id")?,
            users_at_least: q.integer("users_at_least", 1..=u64::MAX)?,
            duration_at_least: q.duration("duration_at_least")?,
            source: q.source("source")?,
        };

        let mut ids = vec![quarterly.id.clone()];
        let mut major: Vec<MajorRule> = Vec::new();
        for m in top.tables("major")? {
            m.only(&["service_class", "name", "name_en", "source", "any_of"])?;
            let class_name = m.string("service_class")?;
            let service_class = ServiceClass::parse(&class_name).ok_or_else(|| {
                key_error(
                    &m.key("service_class"),
                    format!("{class_name:?} is not a service class"),
                    format!("{class_name:?} は役務区分ではありません"),
                )
            })?;
            if major.iter().any(|r| r.service_class == service_class) {
                return Err(key_error(
                    &m.key("service_class"),
                    format!("{service_class} has a rule already"),
                    format!("{service_class} の規則が重複しています"),
                ));
            }
            let mut any_of = Vec::new();
            for t in m.tables("any_of")? {
                t.only(&["id", "duration_at_least", "users_at_least"])?;
                let id = t.string("id")?;
                if ids.contains(&id) {
                    return Err(key_error(
                        &t.key("id"),
                        format!("{id:?} is used twice"),
                        format!("{id:?} が重複しています"),
                    ));
                }
                ids.push(id.clone());
                let users_at_least = if t.table.contains_key("users_at_least") {
                    Some(t.integer("users_at_least", 1..=u64::MAX)?)
                } else {
                    None
                };
                any_of.push(Threshold {
                    id,
                    duration_at_least: t.duration("duration_at_least")?,
                    users_at_least,
                });
            }
            major.push(MajorRule {
                service_class,
                name: m.string("name")?,
                name_en: m.string("name_en")?,
                source: m.source("source")?,
                any_of,
            });
        }
        if let Some(missing) = ServiceClass::ALL
            .into_iter()
            .find(|c| !major.iter().any(|r| r.service_class == *c))
        {
            return Err(key_error(
                "major",
                format!("no rule for the service class {missing}"),
                format!("役務区分 {missing} の規則がありません"),
            ));
        }
        major.sort_by_key(|r| r.service_class);
        Ok(Rules {
            deadlines,
            quarterly,
            major,
        })
    }

    /// The rules shipped with bugyo ([`EMBEDDED`]), read at first use.
    pub fn embedded() -> Result<&'static Rules, RulesError> {
        static RULES: OnceLock<Result<Rules, RulesError>> = OnceLock::new();
        RULES
            .get_or_init(|| Rules::parse(EMBEDDED))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The major-accident rule of a class.
    pub fn major(&self, class: ServiceClass) -> &MajorRule {
        // Parse guarantees one rule per class, sorted in ALL order.
        &self.major[class as usize]
    }

    /// Every major-accident rule, in [`ServiceClass::ALL`] order.
    pub fn major_rules(&self) -> &[MajorRule] {
        &self.major
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_rules_parse() {
        let r = Rules::embedded().unwrap();
        assert_eq!(r.deadlines.detailed_report_days, 30);
        assert_eq!(r.deadlines.quarterly_report_months, 2);
        assert_eq!(r.quarterly.users_at_least, 30_000);
        assert_eq!(r.quarterly.duration_at_least, OutageDuration::from_hours(2));
        for c in ServiceClass::ALL {
            assert_eq!(r.major(c).service_class, c);
            assert_eq!(r.major(c).source.seed, "001_877f6a2558382331.txt");
        }
    }

    /// The brief's thresholds (BRIEF.md §4, from 001_* footnote 3) as a
    /// second, independent copy: the data must say the same.
    #[test]
    fn the_embedded_rules_are_the_ordinances() {
        let r = Rules::embedded().unwrap();
        let h = OutageDuration::from_hours;
        type Alternatives<'a> = &'a [(OutageDuration, Option<u64>)];
        let want: [(ServiceClass, Alternatives<'_>); 6] = [
            (ServiceClass::VoiceEmergency, &[(h(1), Some(30_000))]),
            (
                ServiceClass::Voice,
                &[(h(2), Some(30_000)), (h(1), Some(100_000))],
            ),
            (
                ServiceClass::Lpwa,
                &[(h(12), Some(30_000)), (h(2), Some(1_000_000))],
            ),
            (
                ServiceClass::FreeInternet,
                &[(h(24), Some(100_000)), (h(12), Some(1_000_000))],
            ),
            (
                ServiceClass::Other,
                &[(h(2), Some(30_000)), (h(1), Some(1_000_000))],
            ),
            (ServiceClass::CriticalFacility, &[(h(2), None)]),
        ];
        for (class, alternatives) in want {
            let got: Vec<_> = r
                .major(class)
                .any_of
                .iter()
                .map(|t| (t.duration_at_least, t.users_at_least))
                .collect();
            assert_eq!(got, alternatives, "{class}");
        }
    }

    /// A bad copy of the file: each mistake is refused naming its key.
    #[test]
    fn a_bad_copy_names_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "duration_at_least = \"12h\", users_at_least = 30000",
                "duration_at_least = \"12x\", users_at_least = 30000",
                "major[2].any_of[0].duration_at_least",
            ),
            (
                "duration_at_least = \"1h\", users_at_least = 100000",
                "duration_at_least = \"1h\", user_at_least = 100000",
                "major[1].any_of[1].user_at_least",
            ),
            (
                "duration_at_least = \"24h\", users_at_least = 100000",
                "duration_at_least = \"24h\", users_at_least = -1",
                "major[3].any_of[0].users_at_least",
            ),
            (
                "service_class = \"lpwa\"",
                "service_class = \"lpwaa\"",
                "major[2].service_class",
            ),
            (
                "service_class = \"lpwa\"",
                "service_class = \"voice\"",
                "major[2].service_class",
            ),
            (
                "days_after_occurrence = 30",
                "days_after_occurrence = \"30\"",
                "deadlines.detailed_report.days_after_occurrence",
            ),
            (
                "months_after_quarter = 2",
                "months = 2",
                "deadlines.quarterly_report.months",
            ),
            (
                "users_at_least = 30000\nduration_at_least = \"2h\"",
                "users_at_least = 30000",
                "quarterly.duration_at_least",
            ),
            (
                "id = \"major-voice-1h-100k\"",
                "id = \"major-voice-2h-30k\"",
                "major[1].any_of[1].id",
            ),
            ("schema = 1", "schema = 2", "schema"),
            (
                "seed = \"003_78622d575001fa0d.txt\", ",
                "",
                "deadlines.detailed_report.source.seed",
            ),
        ];
        for (from, to, key) in cases {
            assert!(EMBEDDED.contains(from), "{from}");
            let bad = EMBEDDED.replacen(from, to, 1);
            match Rules::parse(&bad) {
                Err(RulesError::Key { key: k, .. }) => assert_eq!(&k, key, "{to}"),
                other => panic!("{to}: {other:?}"),
            }
        }
        let e = Rules::parse(&EMBEDDED.replacen("\"12h\"", "\"12x\"", 1))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("major[2].any_of[0].duration_at_least") && e.contains("キー"),
            "{e}"
        );
        // A class left out.
        let start = EMBEDDED
            .find("[[major]]\nservice_class = \"free-internet\"")
            .unwrap();
        let end = EMBEDDED[start..]
            .find("[[major]]\nservice_class = \"other\"")
            .unwrap()
            + start;
        let without = format!("{}{}", &EMBEDDED[..start], &EMBEDDED[end..]);
        let e = Rules::parse(&without).unwrap_err();
        assert!(
            matches!(&e, RulesError::Key { key, .. } if key == "major"),
            "{e}"
        );
        assert!(e.to_string().contains("free-internet"), "{e}");
        assert!(matches!(
            Rules::parse("schema = "),
            Err(RulesError::Syntax(_))
        ));
    }
}
