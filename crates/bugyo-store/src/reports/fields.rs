//! What an outage report says: its stage, the items operators give the
//! regulator under the JANOG42 information-sharing scheme (time, place,
//! situation, impact, response so far, possible impact on other operators
//! and enterprise customers), the items of the statutory reports (service
//! class, users, duration, cause, failed equipment, measures, recurrence
//! prevention, user communication), what the operator tells the public at
//! this version in Japanese and English (`public_summary_ja`,
//! `public_summary_en`: the text of a public status page), the two sharing
//! marks and the detected incidents it is linked to.
//!
//! A report is read from JSON field by field, so that every error names the
//! field at fault; only the organisation (given apart), `occurred_at` and
//! `situation` are required: speed beats completeness.

use crate::{Result, StoreError};
use bugyo_model::Timestamp;
use bugyo_report::{calendar, Classification, OutageDuration, ServiceClass};
use serde_json::{Map, Value};

/// Where a report stands in the regulator's process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// 第一報: the first report, as fast as possible, with what is known.
    First,
    /// 続報: a follow-up when useful.
    FollowUp,
    /// 最終報: the final report once the outage is over.
    Final,
    /// 詳細報告: the detailed report of a major accident (within 30 days).
    Detailed,
}

impl Stage {
    /// Every stage, in the order of the process.
    pub const ALL: [Stage; 4] = [Stage::First, Stage::FollowUp, Stage::Final, Stage::Detailed];

    /// The name used in the store and the API.
    pub const fn name(self) -> &'static str {
        match self {
            Stage::First => "first",
            Stage::FollowUp => "follow-up",
            Stage::Final => "final",
            Stage::Detailed => "detailed",
        }
    }

    /// The regulator's word for it.
    pub const fn ja(self) -> &'static str {
        match self {
            Stage::First => "第一報",
            Stage::FollowUp => "続報",
            Stage::Final => "最終報",
            Stage::Detailed => "詳細報告",
        }
    }

    /// The stage of a name, if it is one.
    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|st| st.name() == s)
    }
}

/// The cause categories of the regulator's statistics
/// (001_877f6a2558382331.txt): the detailed report names one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CauseCategory {
    /// 外的要因: mostly other operators' accidents, also disasters.
    External,
    /// 設備要因: equipment failure (hardware or software).
    Equipment,
    /// 人為要因: human error (configuration, work procedure).
    Human,
    /// その他: anything else, or not known.
    Other,
}

impl CauseCategory {
    /// Every category.
    pub const ALL: [CauseCategory; 4] = [
        CauseCategory::External,
        CauseCategory::Equipment,
        CauseCategory::Human,
        CauseCategory::Other,
    ];

    /// The name used in the store and the API.
    pub const fn name(self) -> &'static str {
        match self {
            CauseCategory::External => "external",
            CauseCategory::Equipment => "equipment",
            CauseCategory::Human => "human",
            CauseCategory::Other => "other",
        }
    }

    /// The regulator's word for it.
    pub const fn ja(self) -> &'static str {
        match self {
            CauseCategory::External => "外的要因",
            CauseCategory::Equipment => "設備要因",
            CauseCategory::Human => "人為要因",
            CauseCategory::Other => "その他",
        }
    }

    /// The category of a name, if it is one.
    pub fn parse(s: &str) -> Option<CauseCategory> {
        CauseCategory::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// The two marks of the JANOG42 scheme: with whom the report may be shared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SharingMarks {
    /// May be shared with the public (e.g. through the National Consumer
    /// Affairs Center): `share_public`.
    pub public: bool,
    /// May be shared with other operators: `share_operators`.
    pub operators: bool,
}

/// An outage report's content at one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Where the report stands.
    pub stage: Stage,
    /// When the outage began.
    pub occurred_at: Timestamp,
    /// Place or area affected.
    pub area: Option<String>,
    /// Services affected, in the operator's words.
    pub services: Option<String>,
    /// The service class of the major-accident rule.
    pub service_class: Option<ServiceClass>,
    /// What is happening (required).
    pub situation: String,
    /// Users affected, as a number.
    pub users: Option<u64>,
    /// Users affected as the operator can say it now, e.g. "about 30,000
    /// (under investigation)".
    pub users_estimate: Option<String>,
    /// How long it lasted (unknown while it goes on).
    pub duration: Option<OutageDuration>,
    /// Complaints and enquiries received.
    pub complaints: Option<u64>,
    /// Response so far.
    pub response: Option<String>,
    /// Possible impact on other operators.
    pub impact_other_operators: Option<String>,
    /// Possible impact on enterprise customers (private to the reporter,
    /// the regulator and the hub).
    pub impact_enterprise: Option<String>,
    /// The cause, in words.
    pub cause: Option<String>,
    /// The cause category (required in the detailed report).
    pub cause_category: Option<CauseCategory>,
    /// The equipment that failed.
    pub failed_equipment: Option<String>,
    /// Measures taken.
    pub measures: Option<String>,
    /// Recurrence prevention.
    pub recurrence_prevention: Option<String>,
    /// How users were told.
    pub user_communication: Option<String>,
    /// What the operator tells the public at this version, in Japanese:
    /// the text a public status page shows for a report marked
    /// `share_public`, each version an update.
    pub public_summary_ja: Option<String>,
    /// The same, in English.
    pub public_summary_en: Option<String>,
    /// The reporter's contact person (private to the reporter, the
    /// regulator and the hub).
    pub contact: Option<String>,
    /// With whom it may be shared.
    pub sharing: SharingMarks,
    /// Detected incidents (store ids) it is linked to, ascending.
    pub incidents: Vec<i64>,
}

/// Every field of a report's JSON, in the order they are shown.
pub const FIELDS: &[&str] = &[
    "stage",
    "occurred_at",
    "area",
    "services",
    "service_class",
    "situation",
    "users",
    "users_estimate",
    "duration",
    "complaints",
    "response",
    "impact_other_operators",
    "impact_enterprise",
    "cause",
    "cause_category",
    "failed_equipment",
    "measures",
    "recurrence_prevention",
    "user_communication",
    "public_summary_ja",
    "public_summary_en",
    "contact",
    "share_public",
    "share_operators",
    "incidents",
];

/// Fields only the reporter, the regulator and the hub see: the contact
/// person and what the reporter says of its enterprise customers.
pub const PRIVATE_FIELDS: &[&str] = &["contact", "impact_enterprise"];

/// Longest free text of a field, in characters.
pub const MAX_TEXT: usize = 10_000;
/// Most users (or complaints) a report may give.
pub const MAX_COUNT: u64 = 1_000_000_000;
/// Most incidents a report may be linked to.
pub const MAX_INCIDENTS: usize = 100;

/// The first key of `map` that is not a report field, if any (for the
/// caller to name it).
pub fn unknown_field(map: &Map<String, Value>) -> Option<&str> {
    map.keys().map(String::as_str).find(|k| !FIELDS.contains(k))
}

fn text(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > MAX_TEXT {
                return Err(StoreError::invalid(
                    field,
                    format!("at most {MAX_TEXT} characters / {MAX_TEXT} 文字以内"),
                ));
            }
            if s.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                return Err(StoreError::invalid(
                    field,
                    "control characters are not allowed / 制御文字は使えません",
                ));
            }
            Ok((!s.is_empty()).then(|| s.to_string()))
        }
        Some(_) => Err(StoreError::invalid(
            field,
            "expected a text / 文字列を指定してください",
        )),
    }
}

fn count(map: &Map<String, Value>, field: &'static str) -> Result<Option<u64>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n <= MAX_COUNT => Ok(Some(n)),
            _ => Err(StoreError::invalid(
                field,
                format!(
                    "expected a whole number 0 to {MAX_COUNT} (an estimate goes in users_estimate) / \
                     0〜{MAX_COUNT} の整数を指定してください (概数は users_estimate へ)"
                ),
            )),
        },
    }
}

fn flag(map: &Map<String, Value>, field: &'static str) -> Result<bool> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(StoreError::invalid(
            field,
            "expected true or false / true か false を指定してください",
        )),
    }
}

/// A name field parsed by `parse`; `names` lists what is accepted.
fn named<T>(
    map: &Map<String, Value>,
    field: &'static str,
    names: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse(s).map(Some).ok_or_else(|| {
            StoreError::invalid(
                field,
                format!("{s:?}: expected one of {names} / {names} のいずれかを指定してください"),
            )
        }),
        Some(_) => Err(StoreError::invalid(
            field,
            format!("expected one of {names} / {names} のいずれかを指定してください"),
        )),
    }
}

impl Report {
    /// Reads a whole report from a JSON object; the error names the first
    /// field at fault. `now` bounds `occurred_at` (at most a day ahead, for
    /// clocks that are off).
    pub fn from_json(map: &Map<String, Value>, now: Timestamp) -> Result<Report> {
        if let Some(k) = unknown_field(map) {
            return Err(StoreError::invalid(
                "body",
                format!("{k:?} is not a field of a report / {k:?} は報告の項目ではありません"),
            ));
        }
        let stage = named(
            map,
            "stage",
            "first, follow-up, final, detailed",
            Stage::parse,
        )?
        .ok_or_else(|| {
            StoreError::invalid(
                "stage",
                "required / 必須です (first, follow-up, final, detailed)",
            )
        })?;
        let occurred_at = match map.get("occurred_at") {
            Some(Value::String(s)) => calendar::parse_time(s)
                .map_err(|e| StoreError::invalid("occurred_at", e.to_string()))?,
            None | Some(Value::Null) => {
                return Err(StoreError::invalid(
                    "occurred_at",
                    "required: when the outage began, RFC 3339 / 必須です: 発生日時 (RFC 3339)",
                ))
            }
            Some(_) => {
                return Err(StoreError::invalid(
                    "occurred_at",
                    "expected an RFC 3339 time such as 2021-10-09T07:56:00+09:00 / RFC 3339 の時刻を指定してください",
                ))
            }
        };
        if occurred_at.secs > now.secs.saturating_add(86_400) {
            return Err(StoreError::invalid(
                "occurred_at",
                "in the future / 未来の時刻です",
            ));
        }
        let situation = text(map, "situation")?.ok_or_else(|| {
            StoreError::invalid(
                "situation",
                "required: what is happening, however little is known / 必須です: 分かっている範囲の状況",
            )
        })?;
        let users_estimate = text(map, "users_estimate")?;
        if users_estimate
            .as_ref()
            .is_some_and(|s| s.chars().count() > 200)
        {
            return Err(StoreError::invalid(
                "users_estimate",
                "at most 200 characters / 200 文字以内",
            ));
        }
        let duration =
            match map.get("duration") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(
                    OutageDuration::parse(s.trim())
                        .map_err(|e| StoreError::invalid("duration", e.to_string()))?,
                ),
                Some(_) => return Err(StoreError::invalid(
                    "duration",
                    "expected a duration such as 2h10m / 2h10m のような継続時間を指定してください",
                )),
            };
        let incidents = match map.get("incidents") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => {
                let mut ids = list
                    .iter()
                    .map(|v| v.as_i64().filter(|id| *id > 0))
                    .collect::<Option<Vec<i64>>>()
                    .ok_or_else(|| {
                        StoreError::invalid(
                            "incidents",
                            "expected incident ids (positive integers) / インシデント ID (正の整数) の配列を指定してください",
                        )
                    })?;
                ids.sort_unstable();
                ids.dedup();
                if ids.len() > MAX_INCIDENTS {
                    return Err(StoreError::invalid(
                        "incidents",
                        format!("at most {MAX_INCIDENTS} / {MAX_INCIDENTS} 件まで"),
                    ));
                }
                ids
            }
            Some(_) => {
                return Err(StoreError::invalid(
                    "incidents",
                    "expected an array of incident ids / インシデント ID の配列を指定してください",
                ))
            }
        };
        let report = Report {
            stage,
            occurred_at,
            area: text(map, "area")?,
            services: text(map, "services")?,
            service_class: named(
                map,
                "service_class",
                "voice-emergency, voice, lpwa, free-internet, other, critical-facility",
                ServiceClass::parse,
            )?,
            situation,
            users: count(map, "users")?,
            users_estimate,
            duration,
            complaints: count(map, "complaints")?,
            response: text(map, "response")?,
            impact_other_operators: text(map, "impact_other_operators")?,
            impact_enterprise: text(map, "impact_enterprise")?,
            cause: text(map, "cause")?,
            cause_category: named(
                map,
                "cause_category",
                "external, equipment, human, other",
                CauseCategory::parse,
            )?,
            failed_equipment: text(map, "failed_equipment")?,
            measures: text(map, "measures")?,
            recurrence_prevention: text(map, "recurrence_prevention")?,
            user_communication: text(map, "user_communication")?,
            public_summary_ja: text(map, "public_summary_ja")?,
            public_summary_en: text(map, "public_summary_en")?,
            contact: text(map, "contact")?,
            sharing: SharingMarks {
                public: flag(map, "share_public")?,
                operators: flag(map, "share_operators")?,
            },
            incidents,
        };
        if report.stage == Stage::Detailed && report.cause_category.is_none() {
            return Err(StoreError::invalid(
                "cause_category",
                "the detailed report names the cause category (external, equipment, human, other) / \
                 詳細報告には原因の区分 (external, equipment, human, other) が必要です",
            ));
        }
        Ok(report)
    }

    /// The report as JSON: every field given, in [`FIELDS`] order; fields
    /// not given are left out, the sharing marks always shown.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        let s = |v: &Option<String>| v.clone().map(Value::from);
        put("stage", Some(self.stage.name().into()));
        put(
            "occurred_at",
            Some(calendar::jst_rfc3339(self.occurred_at).into()),
        );
        put("area", s(&self.area));
        put("services", s(&self.services));
        put(
            "service_class",
            self.service_class.map(|c| c.as_str().into()),
        );
        put("situation", Some(self.situation.clone().into()));
        put("users", self.users.map(Value::from));
        put("users_estimate", s(&self.users_estimate));
        put("duration", self.duration.map(|d| d.to_string().into()));
        put("complaints", self.complaints.map(Value::from));
        put("response", s(&self.response));
        put("impact_other_operators", s(&self.impact_other_operators));
        put("impact_enterprise", s(&self.impact_enterprise));
        put("cause", s(&self.cause));
        put(
            "cause_category",
            self.cause_category.map(|c| c.name().into()),
        );
        put("failed_equipment", s(&self.failed_equipment));
        put("measures", s(&self.measures));
        put("recurrence_prevention", s(&self.recurrence_prevention));
        put("user_communication", s(&self.user_communication));
        put("public_summary_ja", s(&self.public_summary_ja));
        put("public_summary_en", s(&self.public_summary_en));
        put("contact", s(&self.contact));
        put("share_public", Some(self.sharing.public.into()));
        put("share_operators", Some(self.sharing.operators.into()));
        if !self.incidents.is_empty() {
            put("incidents", Some(self.incidents.clone().into()));
        }
        m
    }

    /// This report with `patch` laid over it: a field given replaces the
    /// current value, a field given as `null` clears it, a field left out
    /// stays. A report never goes back to an earlier stage.
    pub fn merged(&self, patch: &Map<String, Value>, now: Timestamp) -> Result<Report> {
        let mut m = self.to_json();
        for (k, v) in patch {
            if v.is_null() {
                m.remove(k);
            } else {
                m.insert(k.clone(), v.clone());
            }
        }
        if !m.contains_key("stage") {
            // Cleared: keep the stage it had.
            m.insert("stage".into(), self.stage.name().into());
        }
        let next = Report::from_json(&m, now)?;
        if next.stage < self.stage {
            return Err(StoreError::invalid(
                "stage",
                format!(
                    "a {} report cannot go back to {} / {}から{}には戻せません",
                    self.stage.name(),
                    next.stage.name(),
                    self.stage.ja(),
                    next.stage.ja()
                ),
            ));
        }
        Ok(next)
    }

    /// The statutory classification, once the service class, the number
    /// of users and the duration are all known.
    pub fn classification(&self) -> Result<Option<Classification>> {
        let (Some(class), Some(users), Some(duration)) =
            (self.service_class, self.users, self.duration)
        else {
            return Ok(None);
        };
        bugyo_report::classify(class, users, duration, self.occurred_at)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                what: "accident rules",
                message: e.to_string(),
            })
    }

    /// The fiscal quarter (JST) of the occurrence, e.g. `FY2021Q3`.
    pub fn quarter(&self) -> String {
        bugyo_report::FiscalQuarter::of(bugyo_report::Date::jst(self.occurred_at)).to_string()
    }
}
