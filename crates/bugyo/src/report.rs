//! `bugyo report classify`: the statutory accident classification
//! (crate `bugyo-report`) as a command for operators' scripts. It prints one
//! JSON object: major accident, quarterly-report accident or neither, the
//! rule that matched with its legal source, the deadlines and the cell of
//! table 2 (001_877f6a2558382331.txt). Bad values exit with status 2 and a
//! message naming the flag, in English and Japanese.
//!
//! `bugyo report intake` files the reports that arrived by e-mail (see
//! [`intake`]); `bugyo report quarterly` records quarterly reports filed
//! and lists those owed (see [`quarterly`]).

pub(crate) mod intake;
mod quarterly;

use bugyo_model::Timestamp;
use bugyo_report::calendar::parse_time;
use bugyo_report::{OutageDuration, ServiceClass};
use clap::{Args, Subcommand};
use std::process::ExitCode;

/// Arguments of `bugyo report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// Classify an outage under MIC's statutory rules (major accident, quarterly-report accident or none), with its deadlines; prints JSON.
    Classify(ClassifyArgs),
    /// File the outage reports that arrived by e-mail in a maildir (DIR/new → DIR/cur, or DIR/rejected with a .why); prints a summary, exit status 2 if any was rejected.
    Intake(intake::IntakeArgs),
    /// Record that an organisation filed its quarterly report of a quarter (--org HANDLE --quarter FY2021Q3 [--note TEXT]), or list those filed and those owed (--list).
    Quarterly(quarterly::QuarterlyArgs),
}

/// Arguments of `bugyo report classify`. Values are read here, not by clap,
/// so that every refusal names the flag in both languages.
#[derive(Args, Debug)]
struct ClassifyArgs {
    /// Service class / 役務区分: voice-emergency, voice, lpwa, free-internet,
    /// other, critical-facility (satellite, submarine cable and the like:
    /// all traffic through it impossible).
    #[arg(long, value_name = "CLASS")]
    service_class: String,
    /// Users affected / 影響利用者数 (a whole number; 0 if unknown for a
    /// critical facility).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    users: String,
    /// Duration / 継続時間, e.g. 2h10m, 90m, 1d2h, 45s.
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    duration: String,
    /// When it occurred / 発生日時, RFC 3339 with any offset, e.g.
    /// 2021-10-09T07:56:00+09:00 (default: now).
    #[arg(long, value_name = "TIME")]
    occurred_at: Option<String>,
}

/// Runs `bugyo report`.
pub fn run(args: ReportArgs) -> ExitCode {
    match args.command {
        ReportCommand::Intake(a) => intake::run(a),
        ReportCommand::Quarterly(a) => quarterly::run(a),
        ReportCommand::Classify(a) => match classify(&a) {
            Ok(json) => {
                say!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
    }
}

/// A refusal naming the flag: `error: --FLAG VALUE: ...` then the Japanese line.
fn bad(flag: &str, en: impl std::fmt::Display, ja: impl std::fmt::Display) -> String {
    format!("error: --{flag}: {en}\nエラー: --{flag}: {ja}")
}

fn classify(a: &ClassifyArgs) -> Result<String, String> {
    let service_class = ServiceClass::parse(&a.service_class).ok_or_else(|| {
        bad(
            "service-class",
            format_args!(
                "{:?} is not a service class (voice-emergency, voice, lpwa, free-internet, other, critical-facility)",
                a.service_class
            ),
            format_args!(
                "{:?} は役務区分ではありません (voice-emergency, voice, lpwa, free-internet, other, critical-facility のいずれか)",
                a.service_class
            ),
        )
    })?;
    let users = parse_users(&a.users).ok_or_else(|| {
        bad(
            "users",
            format_args!(
                "{:?} is not a number of users (a whole number such as 30000)",
                a.users
            ),
            format_args!(
                "{:?} は利用者数ではありません (30000 のような整数で指定してください)",
                a.users
            ),
        )
    })?;
    let duration = OutageDuration::parse(&a.duration).map_err(|e| {
        bad(
            "duration",
            format_args!("{:?}, position {}: {}", a.duration, e.position, e.problem),
            format_args!(
                "{:?} の{}文字目: {}",
                a.duration,
                e.position,
                e.problem.ja()
            ),
        )
    })?;
    let occurred_at = match &a.occurred_at {
        Some(s) => parse_time(s).map_err(|e| {
            bad(
                "occurred-at",
                format_args!(
                    "{s:?} is not an RFC 3339 time ({}), e.g. 2021-10-09T07:56:00+09:00",
                    e.problem
                ),
                format_args!(
                    "{s:?} は RFC 3339 の時刻ではありません。例: 2021-10-09T07:56:00+09:00"
                ),
            )
        })?,
        None => now(),
    };
    let c = bugyo_report::classify(service_class, users, duration, occurred_at)
        .map_err(|e| format!("error / エラー: {e}"))?;
    serde_json::to_string(&c).map_err(|e| format!("error: {e}\nエラー: {e}"))
}

/// A number of users: ASCII digits, optionally grouped by thousands with
/// commas (`30,000`).
fn parse_users(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split(',').collect();
    let grouped = groups.len() == 1
        || (matches!(groups[0].len(), 1..=3) && groups[1..].iter().all(|g| g.len() == 3));
    let digits = groups.concat();
    (grouped && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// The clock, for the default occurrence time.
fn now() -> Timestamp {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_micros(since.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_users;

    #[test]
    fn users() {
        assert_eq!(parse_users("30000"), Some(30_000));
        assert_eq!(parse_users("30,000"), Some(30_000));
        assert_eq!(parse_users("1,000,000"), Some(1_000_000));
        for bad in [
            "",
            "-1",
            "3e4",
            "約3万",
            ",300",
            "300,",
            "3,0",
            "1000,000",
            " 30000",
            "1_000",
            "99999999999999999999",
        ] {
            assert_eq!(parse_users(bad), None, "{bad:?}");
        }
    }
}
