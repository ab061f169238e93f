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
//! Filing a message is one transaction in the store
//! ([`Store::file_report_from_mail`]): the report (or its new version),
//! the record of the message by its Message-ID, its audit entry and the
//! reply owed to the sender are written together or not at all, before the
//! message is moved. A crash before the commit leaves the message in
//! `new/` with nothing filed; after it, the next run finds it filed and
//! moves it. Two runs at once (this command beside `bugyo serve
//! --report-maildir`) file a message once: the second finds it filed.
//!
//! The sender is answered (see `bugyo_notify::Notifier::reply_mail`): the
//! report number and the tag `[bugyo report N]` for follow-ups, or why the
//! mail was refused. With `--smtp` the replies go out at the end of the
//! run; without, they wait for `bugyo notify` (or `bugyo serve`). Nobody
//! is answered whose address no organisation has as a contact, and no mail
//! sent by a program (RFC 3834) is answered.
//!
//! `bugyo serve --report-maildir DIR` runs the same intake
//! ([`intake_once`]) every few seconds.

use crate::members::StoreArgs;
use bugyo_formats::report_mail::{self, ReportMail};
use bugyo_store::report_mail::{MailFiled, MailIn, MailTarget};
use bugyo_store::reports::{Author, Stage, MAX_REASON};
use bugyo_store::{ContactKind, Store, StoreError};
use clap::Args;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Where the replies to senders go out: with --smtp they are sent at
    /// the end of the run, else they wait for `bugyo notify`.
    #[command(flatten)]
    mail: crate::notify::MailArgs,
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

/// The sender of a message, found among the organisations' contacts.
#[derive(Clone, Copy, Default)]
struct Sender {
    /// Its organisation, if only one has it as a contact.
    org_id: Option<i64>,
    /// The contact the reply goes to.
    contact_id: Option<i64>,
}

/// What one run over a maildir did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// Messages filed as new reports.
    pub filed: usize,
    /// Messages filed as follow-ups or corrections.
    pub amended: usize,
    /// Messages seen again after being filed.
    pub seen: usize,
    /// Messages refused.
    pub rejected: usize,
    /// Messages left in new/ because the store failed.
    pub left: usize,
    /// Replies owed to senders by this run.
    pub replies: usize,
    /// What happened to each message, one line each (English / Japanese),
    /// with the problems found indented below.
    pub lines: Vec<String>,
    /// Why messages were left for the next run.
    pub errors: Vec<String>,
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
            for l in &s.lines {
                say!("{l}");
            }
            for e in &s.errors {
                eprintln!("{e}");
            }
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

/// One run, then the replies: sent now through `--smtp`, else left for
/// `bugyo notify`.
async fn intake(args: &IntakeArgs) -> Result<Summary, String> {
    let store = args.store.open().await?;
    let result = intake_once(&store, &args.maildir).await;
    if result.is_ok() {
        if args.mail.smtp.is_some() {
            let mut notifier = bugyo_notify::Notifier::new(store.clone(), args.mail.config());
            match notifier.reply_mail().await {
                Ok(p) => {
                    say!("replies sent {}, failed {} (retried by bugyo notify) / 返信 {} 件送信、{} 件失敗 (bugyo notify が再試行します)", p.messages, p.failed, p.messages, p.failed);
                }
                Err(e) => eprintln!("replies: {e} (left for bugyo notify) / 返信できませんでした (bugyo notify が送ります)"),
            }
        } else if result.as_ref().is_ok_and(|s| s.replies > 0) {
            say!("replies queued for bugyo notify (no --smtp) / 返信は bugyo notify が送ります (--smtp なし)");
        }
    }
    store.close().await;
    result
}

/// Files every message in `dir/new` into `store`: what `bugyo report
/// intake` and `bugyo serve --report-maildir` both run. An error is about
/// the maildir itself; a message the store could not take is left in
/// `new/` and counted in [`Summary::left`].
pub(crate) async fn intake_once(store: &Store, dir: &Path) -> Result<Summary, String> {
    let new = dir.join("new");
    let names = messages(&new)?;
    for sub in ["cur", "rejected"] {
        std::fs::create_dir_all(dir.join(sub))
            .map_err(|e| format!("{}: {e}", dir.join(sub).display()))?;
    }
    let mut summary = Summary::default();
    for name in names {
        let path = new.join(&name);
        // Fields the store refused and that were left out.
        let mut refused = Vec::new();
        let (outcome, sender, mail, key) = match std::fs::read(&path) {
            Ok(bytes) => {
                let mail = report_mail::parse(&bytes);
                let key = key_of(&mail, &bytes);
                let (outcome, sender) = take(store, &mail, &key, &name, &mut refused).await;
                (outcome, sender, mail, key)
            }
            // Taken by another run at the same moment.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => (
                Outcome::Rejected(
                    format!("the message cannot be read: {e}"),
                    format!("メッセージを読めません: {e}"),
                ),
                Sender::default(),
                ReportMail::default(),
                format!("file/{name}"),
            ),
        };
        let problems: Vec<String> = mail.problems.iter().map(ToString::to_string).collect();
        let mut listed: Vec<String> = problems.clone();
        listed.extend(refused.iter().cloned());
        let filed = dir.join("cur").join(format!("{name}:2,S"));
        match outcome {
            Outcome::Filed(id) => {
                move_to(&path, &filed)?;
                summary.lines.push(format!(
                    "{name}: filed as report {id} / 報告 {id} として受理"
                ));
                summary.filed += 1;
                summary.replies += usize::from(sender.contact_id.is_some() && !mail.automatic);
            }
            Outcome::Amended(id, version) => {
                move_to(&path, &filed)?;
                summary.lines.push(format!(
                    "{name}: report {id} amended, version {version} / 報告 {id} の第 {version} 版として受理"
                ));
                summary.amended += 1;
                summary.replies += usize::from(sender.contact_id.is_some() && !mail.automatic);
            }
            Outcome::Seen => {
                move_to(&path, &filed)?;
                summary.lines.push(format!(
                    "{name}: {key} was filed before / {key} は受理済みです"
                ));
                summary.seen += 1;
            }
            Outcome::Rejected(en, ja) => {
                let target = dir.join("rejected").join(&name);
                let why = why_text(&en, &ja, &mail, &listed);
                let mut detail = detail_of(&name, &mail, &problems, &refused);
                detail.insert("why".into(), format!("{en} / {ja}").into());
                detail.insert("why_en".into(), en.clone().into());
                detail.insert("why_ja".into(), ja.clone().into());
                detail.insert("why_text".into(), why.clone().into());
                // Audited, and the reply owed, before the message moves: a
                // crash in between refuses it again at the next run, and
                // the reply is owed once per message all the same.
                let record = MailIn {
                    key: &key,
                    message_id: mail.message_id.as_deref(),
                    reply_to: reply_to(sender, &mail),
                    detail,
                };
                if let Err(e) = store.reject_mail(sender.org_id, &record).await {
                    summary.errors.push(format!(
                        "{name}: kept in new/ for the next run / 次回に持ち越します: {e}"
                    ));
                    summary.left += 1;
                    continue;
                }
                std::fs::write(dir.join("rejected").join(format!("{name}.why")), why)
                    .map_err(|e| format!("{}: {e}", target.display()))?;
                move_to(&path, &target)?;
                summary
                    .lines
                    .push(format!("{name}: rejected: {en} / 却下: {ja}"));
                summary.rejected += 1;
                summary.replies += usize::from(record.reply_to.is_some());
            }
            Outcome::Left(e) => {
                summary.errors.push(format!(
                    "{name}: kept in new/ for the next run / 次回に持ち越します: {e}"
                ));
                summary.left += 1;
            }
        }
        for p in &listed {
            summary.lines.push(format!("  {p}"));
        }
    }
    Ok(summary)
}

/// The contact a reply about `mail` goes to: the sender's, unless the
/// mail was sent by a program (an auto-responder answering an
/// auto-responder would never stop).
fn reply_to(sender: Sender, mail: &ReportMail) -> Option<i64> {
    sender.contact_id.filter(|_| !mail.automatic)
}

/// What the audit entry and the reply say of a message.
fn detail_of(
    name: &str,
    mail: &ReportMail,
    problems: &[String],
    refused: &[String],
) -> Map<String, Value> {
    match json!({
        "file": name,
        "from": mail.from,
        "subject": mail.subject,
        "date": mail.date,
        "problems": problems,
        "refused": refused,
    }) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
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

/// Moves a message; one already gone (moved by another run at the same
/// moment) is not an error.
fn move_to(from: &Path, to: &Path) -> Result<(), String> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !from.exists() => Ok(()),
        Err(e) => Err(format!("{} → {}: {e}", from.display(), to.display())),
    }
}

/// The key of a message: its Message-ID, or a fingerprint of its bytes
/// (FNV-1a, stable across versions) when it has none.
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

/// Files one message (or finds it filed before); the sender as found.
async fn take(
    store: &Store,
    mail: &ReportMail,
    key: &str,
    name: &str,
    refused: &mut Vec<String>,
) -> (Outcome, Sender) {
    match store.mail_filed(key).await {
        Ok(true) => return (Outcome::Seen, Sender::default()),
        Ok(false) => {}
        Err(e) => return (Outcome::Left(e.to_string()), Sender::default()),
    }
    // No reply without a sender that can be read.
    let Some(from) = &mail.from else {
        return (
            Outcome::Rejected(
                "no sender address that can be read (From)".into(),
                "送信者のアドレス (From) が読めません".into(),
            ),
            Sender::default(),
        );
    };
    let orgs = match store.orgs().await {
        Ok(o) => o,
        Err(e) => return (Outcome::Left(e.to_string()), Sender::default()),
    };
    let senders: Vec<_> = orgs
        .iter()
        .filter(|o| {
            o.contacts
                .iter()
                .any(|c| c.kind == ContactKind::Email && c.address.eq_ignore_ascii_case(from))
        })
        .collect();
    let contact_of = |org_id: i64| async move {
        store.contacts_of(org_id).await.map(|cs| {
            cs.into_iter()
                .find(|(_, c)| c.kind == ContactKind::Email && c.address.eq_ignore_ascii_case(from))
                .map(|(id, _)| id)
        })
    };
    // A contact of several organisations names the one it reports for
    // with [bugyo org HANDLE] in the Subject.
    let named = mail.organisation();
    // A tag naming none of them leaves the choice open (refused below,
    // listing them).
    let chosen: Vec<_> = match &named {
        Some(h) if senders.len() > 1 => {
            let one: Vec<_> = senders
                .iter()
                .copied()
                .filter(|o| o.handle.eq_ignore_ascii_case(h))
                .collect();
            if one.is_empty() {
                senders.clone()
            } else {
                one
            }
        }
        _ => senders.clone(),
    };
    let org = match chosen.as_slice() {
        [one] => *one,
        // No reply to an unknown sender: From is easily forged, and
        // answering it would send mail to whoever a spammer or a virus
        // named (backscatter). The .why file and the audit log say why.
        [] => {
            return (
                Outcome::Rejected(
                    format!("unknown sender {from}: no organisation has this e-mail contact"),
                    format!("送信者 {from} は不明です: この連絡先を持つ組織がありません"),
                ),
                Sender::default(),
            )
        }
        many => {
            let handles: Vec<&str> = many.iter().map(|o| o.handle.as_str()).collect();
            let contact_id = match contact_of(many[0].id).await {
                Ok(c) => c,
                Err(e) => return (Outcome::Left(e.to_string()), Sender::default()),
            };
            return (
                Outcome::Rejected(
                    format!(
                        "sender {from} is a contact of several organisations ({}): put [bugyo org HANDLE] in the Subject to say which",
                        handles.join(", ")
                    ),
                    format!(
                        "送信者 {from} は複数の組織の連絡先です ({})。件名に [bugyo org ハンドル] を入れて組織を指定してください",
                        handles.join(", ")
                    ),
                ),
                Sender {
                    org_id: None,
                    contact_id,
                },
            );
        }
    };
    let sender = match contact_of(org.id).await {
        Ok(contact_id) => Sender {
            org_id: Some(org.id),
            contact_id,
        },
        Err(e) => return (Outcome::Left(e.to_string()), Sender::default()),
    };
    let mut fields = mail.fields.clone();
    let problems: Vec<String> = mail.problems.iter().map(ToString::to_string).collect();
    let record = |refused: &[String]| MailIn {
        key,
        message_id: mail.message_id.as_deref(),
        reply_to: reply_to(sender, mail),
        detail: detail_of(name, mail, &problems, refused),
    };
    let outcome = match mail.follow_up_of() {
        Some(id) => {
            amend(
                store,
                org.id,
                &org.handle,
                id,
                mail,
                key,
                fields,
                refused,
                record,
            )
            .await
        }
        None => 'new: {
            let named = |field: &str| {
                mail.problems
                    .iter()
                    .find(|p| p.field == Some(field))
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default()
            };
            if !fields.contains_key("occurred_at") {
                let why = named("occurred_at");
                break 'new Outcome::Rejected(
                    format!("no time of occurrence that can be read (発生日時 / Occurred at){why}"),
                    format!("読み取れる発生日時がありません{why}"),
                );
            }
            if !fields.contains_key("situation") {
                break 'new Outcome::Rejected(
                    "no situation (状況 / Situation): say what is happening, however little is known".into(),
                    "状況がありません: 分かっている範囲の状況を書いてください".into(),
                );
            }
            loop {
                match store
                    .file_report_from_mail(
                        org.id,
                        &fields,
                        MailTarget::New,
                        Author::default(),
                        &record(refused),
                    )
                    .await
                {
                    Ok(MailFiled::Filed { report_id, .. }) => break 'new Outcome::Filed(report_id),
                    Ok(MailFiled::Seen) => break 'new Outcome::Seen,
                    Ok(MailFiled::NoSuchReport) => {
                        break 'new Outcome::Left("no such report".into())
                    }
                    Err(e) => {
                        match drop_refused(&mut fields, e, &["occurred_at", "situation"], refused) {
                            Ok(()) => continue,
                            Err(outcome) => break 'new outcome,
                        }
                    }
                }
            }
        }
    };
    (outcome, sender)
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
async fn amend<'a>(
    store: &Store,
    org_id: i64,
    handle: &str,
    id: i64,
    mail: &ReportMail,
    key: &str,
    mut fields: Map<String, Value>,
    refused: &mut Vec<String>,
    record: impl Fn(&[String]) -> MailIn<'a>,
) -> Outcome {
    let current = match store.report(id).await {
        Ok(r) => r,
        Err(e) => return Outcome::Left(e.to_string()),
    };
    let not_theirs = || {
        Outcome::Rejected(
            format!("the Subject names report {id}, which is not a report of {handle}"),
            format!("件名の報告 {id} は {handle} の報告ではありません"),
        )
    };
    let Some(current) = current.filter(|r| r.org_id == org_id) else {
        return not_theirs();
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
        let target = MailTarget::Amend {
            id,
            reason: &reason,
        };
        match store
            .file_report_from_mail(org_id, &fields, target, Author::default(), &record(refused))
            .await
        {
            Ok(MailFiled::Filed { version, .. }) => return Outcome::Amended(id, version),
            Ok(MailFiled::Seen) => return Outcome::Seen,
            Ok(MailFiled::NoSuchReport) => return not_theirs(),
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
