//! The classification of one outage: major accident (重大な事故),
//! quarterly-report accident (四半期報告事故) or neither, under the rules of
//! [`crate::rules`] (001_877f6a2558382331.txt p.1 footnotes 3 and 5), with
//! the deadlines it triggers and its cell of table 2.

use crate::calendar::{self, Date, FiscalQuarter};
use crate::rules::{Rules, Source};
use crate::{OutageDuration, ServiceClass, StatisticsBucket};
use bugyo_model::Timestamp;
use serde::Serialize;

/// What an outage is under the statutory rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccidentClass {
    /// Below both rules: no statutory report.
    None,
    /// 四半期報告事故: counted in the quarterly report.
    Quarterly,
    /// 重大な事故: prompt report, detailed report within 30 days (and, in
    /// the detailed form, the quarterly report too: 001_877f6a2558382331.txt
    /// p.4 footnote 8).
    Major,
}

impl AccidentClass {
    /// `major`, `quarterly` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AccidentClass::None => "none",
            AccidentClass::Quarterly => "quarterly",
            AccidentClass::Major => "major",
        }
    }

    /// The regulator's word for it.
    pub const fn ja(self) -> &'static str {
        match self {
            AccidentClass::None => "報告対象外",
            AccidentClass::Quarterly => "四半期報告事故",
            AccidentClass::Major => "重大な事故",
        }
    }
}

/// Which rule matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchedRule {
    /// The rule's id in the rules file, e.g. `major-voice-1h-100k`.
    pub id: String,
    /// `major` or `quarterly`.
    pub kind: AccidentClass,
    /// The condition met, in English.
    pub condition: String,
    /// The same in Japanese.
    pub condition_ja: String,
    /// Its legal source.
    pub source: Source,
}

/// An outage judged: what it is, why, and what is due when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// `major`, `quarterly` or `none`.
    pub classification: AccidentClass,
    /// The same in the regulator's words.
    pub classification_ja: &'static str,
    /// The service class it was judged by.
    pub service_class: ServiceClass,
    /// Users affected.
    pub users: u64,
    /// Duration (for `critical-facility`: how long all traffic through the
    /// facility was impossible).
    pub duration: OutageDuration,
    /// The same in seconds.
    pub duration_secs: u64,
    /// When it occurred, UTC.
    pub occurred_at: Timestamp,
    /// When it occurred, JST, RFC 3339.
    pub occurred_at_jst: String,
    /// The day it occurred, JST: the day deadlines count from.
    pub occurred_on_jst: Date,
    /// The rule that matched (the first alternative met, for a major
    /// accident); `None` for `none`.
    pub rule: Option<MatchedRule>,
    /// Whether a prompt report (速やかに) is required: major accidents.
    pub prompt_report_required: bool,
    /// The last day of the detailed report (major accidents): see
    /// [`calendar::detailed_report_due`].
    pub detailed_report_due: Option<Date>,
    /// Where that deadline comes from.
    pub detailed_report_source: Option<Source>,
    /// The fiscal quarter of the occurrence (JST), e.g. `FY2021Q3`, given
    /// for every class.
    pub quarter: FiscalQuarter,
    /// The last day of the quarterly report (major and quarterly-report
    /// accidents): see [`calendar::quarterly_report_due`].
    pub quarterly_report_due: Option<Date>,
    /// Where that deadline comes from.
    pub quarterly_report_source: Option<Source>,
    /// The cell of table 2 of 001_877f6a2558382331.txt.
    pub bucket: StatisticsBucket,
}

impl Rules {
    /// Judges an outage of `service_class` that affected `users` users for
    /// `duration`, beginning at `occurred_at`. Major wins over quarterly;
    /// every threshold is "at least" (以上).
    pub fn classify(
        &self,
        service_class: ServiceClass,
        users: u64,
        duration: OutageDuration,
        occurred_at: Timestamp,
    ) -> Classification {
        let major = self.major(service_class);
        let rule = if let Some(t) = major.any_of.iter().find(|t| t.is_met(users, duration)) {
            let (condition, condition_ja) = t.condition();
            Some(MatchedRule {
                id: t.id.clone(),
                kind: AccidentClass::Major,
                condition,
                condition_ja,
                source: major.source.clone(),
            })
        } else if self.quarterly.is_met(users, duration) {
            let q = &self.quarterly;
            Some(MatchedRule {
                id: q.id.clone(),
                kind: AccidentClass::Quarterly,
                condition: format!(
                    "users >= {} or duration >= {}",
                    q.users_at_least, q.duration_at_least
                ),
                condition_ja: format!(
                    "影響利用者数{}以上又は継続時間{}以上",
                    q.users_at_least,
                    q.duration_at_least.ja()
                ),
                source: q.source.clone(),
            })
        } else {
            None
        };
        let class = rule.as_ref().map_or(AccidentClass::None, |r| r.kind);
        let occurred_on = Date::jst(occurred_at);
        let quarter = FiscalQuarter::of(occurred_on);
        let d = &self.deadlines;
        let is_major = class == AccidentClass::Major;
        let reported = class != AccidentClass::None;
        Classification {
            classification: class,
            classification_ja: class.ja(),
            service_class,
            users,
            duration,
            duration_secs: duration.as_secs(),
            occurred_at,
            occurred_at_jst: calendar::jst_rfc3339(occurred_at),
            occurred_on_jst: occurred_on,
            rule,
            prompt_report_required: is_major,
            detailed_report_due: is_major
                .then(|| calendar::detailed_report_due(occurred_on, d.detailed_report_days)),
            detailed_report_source: is_major.then(|| d.detailed_report_source.clone()),
            quarter,
            quarterly_report_due: reported
                .then(|| calendar::quarterly_report_due(quarter, d.quarterly_report_months)),
            quarterly_report_source: reported.then(|| d.quarterly_report_source.clone()),
            bucket: StatisticsBucket::of(users, duration),
        }
    }
}

/// [`Rules::classify`] under the rules shipped with bugyo
/// ([`Rules::embedded`]); an error only if that file is broken.
pub fn classify(
    service_class: ServiceClass,
    users: u64,
    duration: OutageDuration,
    occurred_at: Timestamp,
) -> Result<Classification, crate::RulesError> {
    Ok(Rules::embedded()?.classify(service_class, users, duration, occurred_at))
}
