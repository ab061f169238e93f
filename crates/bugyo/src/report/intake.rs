//! `bugyo report intake --maildir DIR`: outage reports that arrived by
//! e-mail (the regulator takes reports by phone, e-mail or fax) filed into
//! the store. Each message in `DIR/new` is read by
//! [`bugyo_formats::report_mail`]; its sender is found among the e-mail
//! contacts of the registered organisations; it is filed as a new report,
//! or, when its Subject carries `[bugyo report N]`, laid over report N of
//! that organisation as a follow-up or correction. Each one filed gets an
//! audit entry `report-mail` whose object is its Message-ID, so a message
//! seen again (a second run, a duplicate delivery) is not filed twice.
//!
//! A filed message moves to `DIR/cur`; a refused one to `DIR/rejected`
//! with a `.why` file next to it saying why in English and Japanese
//! (unknown sender, no situation or time of occurrence, a value the store
//! refuses). A message the store could not take because the database
//! failed stays in `DIR/new` for the next run. A value that cannot be read
//! (a bad number) is left out and named, and the rest is filed; the time
//! of occurrence is required for a new report, so a report whose
//! 発生日時 cannot be read is refused rather than filed with a made-up time.
//!
//! The sender is trusted by its From address: the mailbox is expected to
//! take mail only through a server that checks senders (SPF, DKIM).
//!
//! Filing a report and auditing it are two writes, done in that order and
//! before the message is moved: a crash after the audit entry leaves the
//! message in `new/`, and the next run sees it filed and moves it; a crash
//! between the two would file it again. Runs are meant to be one at a time
//! (a timer or `flock`), since two at once could both file a message.

use crate::members::StoreArgs;
use bugyo_formats::report_mail::{self, ReportMail};
use bugyo_store::reports::{Author, Stage, MAX_REASON};
use bugyo_store::{AuditEntry, ContactKind, Store, StoreError};
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The audit action of a message filed (its object is the Message-ID).
pub const FILED: &str = "report-mail";
/// The audit action of a message refused.
pub const REJECTED: &str = "report-mail-rejected";

/// Arguments of `bugyo report intake`.
#[derive(Args, Debug)]
pub(super) struct IntakeArgs {
    /// The maildir reports arrive in / 報告メールの maildir: messages are
    /// read from DIR/new and moved to DIR/cur (filed) or DIR/rejected
    /// (with a .why file).
    #[arg(long, value_name = "DIR")]
    maildir: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

/// What became of one message.
enum Outcome {
    /// Filed as new report `id`.
    Filed(i64),
    /// Laid over report `id` as version `version`.
    Amended(i64, i64),
    /// Filed before (same Message-ID).
    Seen,
    /// Refused: why, in English and Japanese.
    Rejected(String, String),
    /// The database failed: left in new/ for the next run.
    Left(String),
}

/// The counts printed at the end.
#[derive(Default)]
struct Summary {
    filed: usize,
    amended: usize,
    seen: usize,
    rejected: usize,
    left: usize,
}

/// Runs `bugyo report intake`.
pub(super) fn run(args: IntakeArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}\nエラー: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(intake(&args)) {
        Ok(s) => {
            say!(
                "filed {}, amended {}, already filed {}, rejected {}{}",
                s.filed,
                s.amended,
                s.seen,
                s.rejected,
                if s.left > 0 {
                    format!(", left for the next run {}", s.left)
                } else {
                    String::new()
                }
            );
            say!(
                "受理 {} 件、続報・訂正 {} 件、受理済み {} 件、却下 {} 件{}",
                s.filed,
                s.amended,
                s.seen,
                s.rejected,
                if s.left > 0 {
                    format!("、次回に持ち越し {} 件", s.left)
                } else {
                    String::new()
                }
            );
            if s.rejected > 0 || s.left > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error / エラー: {e}");
            ExitCode::from(2)
        }
    }
}

async fn intake(args: &IntakeArgs) -> Result<Summary, String> {
    let dir = &args.maildir;
    let new = dir.join("new");
    let names = messages(&new)?;
    for sub in ["cur", "rejected"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("{}: {e}", dir.join(sub).display()))?;
    }
    let store = args.store.open().await?;
    let mut summary = Summary::default();
    for name in names {
        let path = new.join(&name);
        // Fields the store refused and that were left out.
        let mut refused = Vec::new();
        let (outcome, mail, key) = match std::fs::read(&path) {
            Ok(bytes) => {
                let mail = report_mail::parse(&bytes);
                let key = key_of(&mail, &bytes);
                (take(&store, &mail, &key, &mut refused).await, mail, key)
            }
            Err(e) => (
                Outcome::Rejected(
                    format!("the message cannot be read: {e}"),
                    format!("メッセージを読めません: {e}"),
                ),
                ReportMail::default(),
                format!("file/{name}"),
            ),
        };
        let mut problems: Vec<String> = mail.problems.iter().map(ToString::to_string).collect();
        problems.extend(refused);
        let org_id = match &outcome {
            Outcome::Filed(id) | Outcome::Amended(id, _) => {
                store.report(*id).await.ok().flatten().map(|r| r.org_id)
            }
            _ => None,
        };
        let detail = |outcome: &str, report: Option<i64>, version: Option<i64>| {
            json!({
                "file": name,
                "outcome": outcome,
                "report": report,
                "version": version,
                "from": mail.from,
                "subject": mail.subject,
                "date": mail.date,
                "problems": problems,
            })
            .to_string()
        };
        let audit = |action: &str, detail: String| AuditEntry {
            at: 0,
            token_id: None,
            org_id,
            action: action.into(),
            object: key.clone(),
            detail,
        };
        match outcome {
            Outcome::Filed(id) => {
                store
                    .audit(&audit(FILED, detail("filed", Some(id), Some(1))))
                    .await
                    .map_err(|e| e.to_string())?;
                move_to(&path, &dir.join("cur").join(format!("{name}:2,S")))?;
                say!("{name}: filed as report {id} / 報告 {id} として受理");
                summary.filed += 1;
            }
            Outcome::Amended(id, version) => {
                store
                    .audit(&audit(FILED, detail("amended", Some(id), Some(version))))
                    .await
                    .map_err(|e| e.to_string())?;
                move_to(&path, &dir.join("cur").join(format!("{name}:2,S")))?;
                say!(
                    "{name}: report {id} amended, version {version} / 報告 {id} の第 {version} 版として受理"
                );
                summary.amended += 1;
            }
            Outcome::Seen => {
                move_to(&path, &dir.join("cur").join(format!("{name}:2,S")))?;
                say!("{name}: {key} was filed before / {key} は受理済みです");
                summary.seen += 1;
            }
            Outcome::Rejected(en, ja) => {
                let target = dir.join("rejected").join(&name);
                let why = why_text(&en, &ja, &mail, &problems);
                std::fs::write(dir.join("rejected").join(format!("{name}.why")), why)
                    .map_err(|e| format!("{}: {e}", target.display()))?;
                move_to(&path, &target)?;
                let mut d = detail("rejected", None, None);
                d = match serde_json::from_str::<Map<String, Value>>(&d) {
                    Ok(mut m) => {
                        m.insert("why".into(), format!("{en} / {ja}").into());
                        Value::Object(m).to_string()
                    }
                    Err(_) => d,
                };
                store
                    .audit(&audit(REJECTED, d))
                    .await
                    .map_err(|e| e.to_string())?;
                say!("{name}: rejected: {en} / 却下: {ja}");
                summary.rejected += 1;
            }
            Outcome::Left(e) => {
                eprintln!("{name}: kept in new/ for the next run / 次回に持ち越します: {e}");
                summary.left += 1;
            }
        }
        for p in &problems {
            say!("  {p}");
        }
    }
    store.close().await;
    Ok(summary)
}

/// The names of the messages in `new`, sorted (dot files left out).
fn messages(new: &Path) -> Result<Vec<String>, String> {
    let entries = std::fs::read_dir(new).map_err(|e| {
        format!(
            "{}: {e} (expected a maildir with new/) / maildir の new/ を読めません",
            new.display()
        )
    })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_file().then_some(())?;
            e.file_name().into_string().ok()
        })
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

fn move_to(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::rename(from, to).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))
}

/// The audit object of a message: its Message-ID, or a fingerprint of its
/// bytes (FNV-1a, stable across versions) when it has none.
fn key_of(mail: &ReportMail, bytes: &[u8]) -> String {
    match &mail.message_id {
        Some(id) => id.clone(),
        None => {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("no-message-id/fnv1a64:{h:016x}")
        }
    }
}

/// Files one message (or finds it filed before).
async fn take(store: &Store, mail: &ReportMail, key: &str, refused: &mut Vec<String>) -> Outcome {
    match store.audit_entries(FILED, key).await {
        Ok(seen) if !seen.is_empty() => return Outcome::Seen,
        Ok(_) => {}
        Err(e) => return Outcome::Left(e.to_string()),
    }
    let Some(from) = &mail.from else {
        return Outcome::Rejected(
            "no sender address that can be read (From)".into(),
            "送信者のアドレス (From) が読めません".into(),
        );
    };
    let orgs = match store.orgs().await {
        Ok(o) => o,
        Err(e) => return Outcome::Left(e.to_string()),
    };
    let senders: Vec<_> = orgs
        .iter()
        .filter(|o| {
            o.contacts
                .iter()
                .any(|c| c.kind == ContactKind::Email && c.address.eq_ignore_ascii_case(from))
        })
        .collect();
    let org = match senders.as_slice() {
        [one] => *one,
        [] => {
            return Outcome::Rejected(
                format!("unknown sender {from}: no organisation has this e-mail contact"),
                format!("送信者 {from} は不明です: この連絡先を持つ組織がありません"),
            )
        }
        many => {
            let handles: Vec<&str> = many.iter().map(|o| o.handle.as_str()).collect();
            return Outcome::Rejected(
                format!(
                    "sender {from} is a contact of several organisations ({})",
                    handles.join(", ")
                ),
                format!(
                    "送信者 {from} は複数の組織の連絡先です ({})",
                    handles.join(", ")
                ),
            );
        }
    };
    let mut fields = mail.fields.clone();
    match mail.follow_up_of() {
        Some(id) => amend(store, org.id, &org.handle, id, mail, key, fields, refused).await,
        None => {
            let named = |field: &str| {
                mail.problems
                    .iter()
                    .find(|p| p.field == Some(field))
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            };
            if !fields.contains_key("occurred_at") {
                let why = named("occurred_at");
                return Outcome::Rejected(
                    format!("no time of occurrence that can be read (発生日時 / Occurred at){why}"),
                    format!("読み取れる発生日時がありません{why}"),
                );
            }
            if !fields.contains_key("situation") {
                return Outcome::Rejected(
                    "no situation (状況 / Situation): say what is happening, however little is known".into(),
                    "状況がありません: 分かっている範囲の状況を書いてください".into(),
                );
            }
            loop {
                match store.file_report(org.id, &fields, Author::default()).await {
                    Ok(r) => return Outcome::Filed(r.id),
                    Err(e) => {
                        match drop_refused(&mut fields, e, &["occurred_at", "situation"], refused) {
                            Ok(()) => continue,
                            Err(outcome) => return outcome,
                        }
                    }
                }
            }
        }
    }
}

/// After the store refused `e`: the refused field left out if it may be
/// (so one bad field does not lose the others, and `refused` says so),
/// else the outcome.
fn drop_refused(
    fields: &mut Map<String, Value>,
    e: StoreError,
    required: &[&str],
    refused: &mut Vec<String>,
) -> Result<(), Outcome> {
    match e {
        StoreError::Invalid { field, message }
            if fields.contains_key(field) && !required.contains(&field) =>
        {
            refused.push(format!(
                "field {field}: {message} (left out / この項目は除きました)"
            ));
            fields.remove(field);
            Ok(())
        }
        StoreError::Invalid { field, message } => Err(Outcome::Rejected(
            format!("the store refused {field}: {message}"),
            format!("{field} が受け付けられません: {message}"),
        )),
        other => Err(Outcome::Left(other.to_string())),
    }
}

/// A follow-up or correction of report `id` of organisation `org_id`.
#[allow(clippy::too_many_arguments)]
async fn amend(
    store: &Store,
    org_id: i64,
    handle: &str,
    id: i64,
    mail: &ReportMail,
    key: &str,
    mut fields: Map<String, Value>,
    refused: &mut Vec<String>,
) -> Outcome {
    let current = match store.report(id).await {
        Ok(r) => r,
        Err(e) => return Outcome::Left(e.to_string()),
    };
    let Some(current) = current.filter(|r| r.org_id == org_id) else {
        return Outcome::Rejected(
            format!("the Subject names report {id}, which is not a report of {handle}"),
            format!("件名の報告 {id} は {handle} の報告ではありません"),
        );
    };
    if !fields.contains_key("stage") && current.stage == Stage::First {
        fields.insert("stage".into(), Stage::FollowUp.name().into());
    }
    let subject = mail.subject.as_deref().unwrap_or("");
    let reason: String = format!("e-mail {key}: {subject}")
        .chars()
        .take(MAX_REASON)
        .collect();
    loop {
        match store
            .amend_report(id, &fields, Some(&reason), Author::default())
            .await
        {
            Ok(Some(r)) => return Outcome::Amended(id, r.version),
            Ok(None) => {
                return Outcome::Rejected(
                    format!("report {id} is gone"),
                    format!("報告 {id} がありません"),
                )
            }
            Err(e) => {
                if let Err(outcome) = drop_refused(&mut fields, e, &[], refused) {
                    return outcome;
                }
            }
        }
    }
}

/// The text of a `.why` file.
fn why_text(en: &str, ja: &str, mail: &ReportMail, problems: &[String]) -> String {
    let mut s = format!(
        "This report mail was not filed: {en}\nこの報告メールは受理されませんでした: {ja}\n\n"
    );
    for (name, value) in [
        ("From", &mail.from),
        ("Subject", &mail.subject),
        ("Message-ID", &mail.message_id),
        ("Date", &mail.date),
    ] {
        if let Some(v) = value {
            s.push_str(&format!("{name}: {v}\n"));
        }
    }
    if !problems.is_empty() {
        s.push_str("\nWhat could not be read / 読み取れなかった箇所:\n");
        for p in problems {
            s.push_str(&format!("- {p}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::{drop_refused, Outcome};
    use bugyo_store::StoreError;
    use serde_json::{json, Map, Value};

    fn invalid(field: &'static str) -> StoreError {
        StoreError::Invalid {
            field,
            message: "no / いいえ".into(),
        }
    }

    #[test]
    fn a_refused_field_is_left_out_unless_required() {
        let mut fields: Map<String, Value> =
            json!({"stage": "first", "situation": "down", "area": "東京"})
                .as_object()
                .cloned()
                .unwrap();
        let mut refused = Vec::new();
        assert!(drop_refused(&mut fields, invalid("stage"), &["situation"], &mut refused).is_ok());
        assert!(!fields.contains_key("stage"));
        assert_eq!(
            refused,
            ["field stage: no / いいえ (left out / この項目は除きました)"]
        );
        assert!(matches!(
            drop_refused(
                &mut fields,
                invalid("situation"),
                &["situation"],
                &mut refused
            ),
            Err(Outcome::Rejected(..))
        ));
        // Not a field given (e.g. "body": nothing changed): refused.
        assert!(matches!(
            drop_refused(&mut fields, invalid("body"), &[], &mut refused),
            Err(Outcome::Rejected(..))
        ));
    }
    #[test]
    fn parser_fields_are_report_fields() {
        for f in bugyo_formats::report_mail::FIELDS {
            assert!(bugyo_store::reports::fields::FIELDS.contains(f), "{f}");
        }
    }
}
