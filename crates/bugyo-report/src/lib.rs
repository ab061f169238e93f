//! Statutory telecom accident reports in Japan, as the regulator (MIC)
//! defines them: which outages are *major accidents* (重大な事故, 電気通信事業法
//! 第28条 and 施行規則第58条: prompt report, detailed report within 30 days)
//! and which are *quarterly-report accidents* (四半期報告事故, 電気通信事業報告規則
//! 第7条の3), the deadlines each triggers, the Japanese fiscal quarter, and
//! the users × duration cell of the regulator's statistics (table 2).
//!
//! Sources: `shared/seeds/001_877f6a2558382331.txt` (MIC's FY2021 report on
//! telecom accidents: p.1 footnotes 3 and 5 give the thresholds, table 2 the
//! statistics buckets) and `shared/seeds/003_78622d575001fa0d.txt` (the
//! JANOG42 slides: "速やかに状況を報告 + 30日以内に詳細報告"). The thresholds
//! are data (`rules/accident-thresholds.toml`, [`rules`]), each with its
//! legal source.
//!
//! ```
//! use bugyo_report::{calendar::parse_time, classify, AccidentClass, OutageDuration, ServiceClass};
//! // 001_* table 3 No.5: IP telephony, 62,095 users, 2 h 57 min, 2021-10-09 07:56 JST.
//! let c = classify(
//!     ServiceClass::Voice,
//!     62_095,
//!     OutageDuration::parse("2h57m").unwrap(),
//!     parse_time("2021-10-09T07:56:00+09:00").unwrap(),
//! )
//! .unwrap();
//! assert_eq!(c.classification, AccidentClass::Major);
//! assert_eq!(c.detailed_report_due.unwrap().to_string(), "2021-11-08");
//! assert_eq!(c.quarter.to_string(), "FY2021Q3");
//! assert_eq!(c.quarterly_report_due.unwrap().to_string(), "2022-02-28");
//! ```

pub mod bucket;
pub mod calendar;
pub mod classify;
pub mod duration;
pub mod rules;
pub mod service;

pub use bucket::{DurationBucket, StatisticsBucket, UsersBucket};
pub use calendar::{Date, FiscalQuarter};
pub use classify::{classify, AccidentClass, Classification, MatchedRule};
pub use duration::{DurationError, DurationProblem, OutageDuration};
pub use rules::{Rules, RulesError, Source};
pub use service::{ServiceClass, UnknownServiceClass};
