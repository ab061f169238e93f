//! `bugyo report quarterly`: records that an organisation filed its
//! quarterly report (四半期報告) of a fiscal quarter, so the notifier stops
//! reminding it (see `bugyo_store::quarterly`); with `--withdraw REASON`,
//! withdraws a filing recorded by mistake; with `--list`, lists the
//! filings, the quarterly reports still owed (overdue ones marked) and the
//! filings withdrawn.

use crate::members::{run_async, StoreArgs};
use bugyo_store::quarterly::{QuarterlyDue, QuarterlyReport};
use bugyo_store::reports::Author;
use bugyo_store::{AuditEntry, Store, StoreError};
use clap::Args;
use std::process::ExitCode;

/// Arguments of `bugyo report quarterly`.
#[derive(Args, Debug)]
pub(super) struct QuarterlyArgs {
    /// The organisation that filed / 提出した組織 (its handle); with
    /// --list, only its filings and quarters.
    #[arg(long, value_name = "HANDLE", required_unless_present = "list")]
    org: Option<String>,
    /// The fiscal quarter / 四半期, e.g. FY2021Q3 (FY2021 runs from April
    /// 2021 to March 2022).
    #[arg(long, value_name = "QUARTER", required_unless_present = "list")]
    quarter: Option<String>,
    /// A note or reference / 備考 (e.g. the regulator's receipt number).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Withdraw the filing recorded by mistake, for this reason / 誤って記録した提出を取り下げる(理由); the quarter is owed again.
    #[arg(long, value_name = "REASON", conflicts_with = "note")]
    withdraw: Option<String>,
    /// List the quarterly reports filed, still owed and withdrawn / 提出済み・未提出・取り下げた四半期報告を一覧.
    #[arg(long, conflicts_with_all = ["quarter", "note", "withdraw"])]
    list: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `bugyo report quarterly`.
pub(super) fn run(args: QuarterlyArgs) -> ExitCode {
    run_async(async move {
        let store = args.store.open().await?;
        let org =
            match &args.org {
                Some(h) => Some(store.org(h).await.map_err(|e| e.to_string())?.ok_or_else(
                    || format!("--org {h:?}: no such organisation / その組織はありません"),
                )?),
                None => None,
            };
        let done = match (&args.quarter, &org) {
            (Some(quarter), Some(org)) if !args.list => match &args.withdraw {
                Some(reason) => withdraw(&store, org.id, &org.handle, quarter, reason).await,
                None => file(&store, org.id, &org.handle, quarter, args.note.as_deref()).await,
            },
            _ => list(&store, org.map(|o| o.id)).await,
        };
        store.close().await;
        done
    })
}

/// The flag a store refusal is about.
fn flag(e: StoreError) -> String {
    match e {
        StoreError::Invalid { field, message } => format!("--{field}: {message}"),
        e => e.to_string(),
    }
}

async fn file(
    store: &Store,
    org_id: i64,
    handle: &str,
    quarter: &str,
    note: Option<&str>,
) -> Result<(), String> {
    let r = store
        .file_quarterly_report(org_id, quarter, Author::default(), note)
        .await
        .map_err(flag)?;
    store
        .audit(&AuditEntry {
            at: 0,
            token_id: None,
            org_id: Some(org_id),
            action: "quarterly-report-file".into(),
            object: format!("quarterly-report/{handle}/{}", r.quarter),
            detail: r.note.clone().unwrap_or_default(),
        })
        .await
        .map_err(|e| e.to_string())?;
    say!(
        "recorded: {handle} filed its quarterly report of {} / 記録しました: {handle} の {} の四半期報告は提出済みです",
        r.quarter,
        r.quarter
    );
    Ok(())
}

async fn withdraw(
    store: &Store,
    org_id: i64,
    handle: &str,
    quarter: &str,
    reason: &str,
) -> Result<(), String> {
    let w = store
        .withdraw_quarterly_report(org_id, quarter, Author::default(), reason)
        .await
        .map_err(|e| match e {
            StoreError::Invalid {
                field: "reason",
                message,
            } => format!("--withdraw: {message}"),
            e => flag(e),
        })?;
    store
        .audit(&AuditEntry {
            at: 0,
            token_id: None,
            org_id: Some(org_id),
            action: "quarterly-report-withdraw".into(),
            object: format!("quarterly-report/{handle}/{}", w.filing.quarter),
            detail: w.reason.clone(),
        })
        .await
        .map_err(|e| e.to_string())?;
    say!(
        "withdrawn: {handle}'s filing of {} (owed again) / 取り下げました: {handle} の {} の提出記録 (再び未提出です)",
        w.filing.quarter,
        w.filing.quarter
    );
    Ok(())
}

async fn list(store: &Store, org_id: Option<i64>) -> Result<(), String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0);
    let filed: Vec<QuarterlyReport> = store
        .quarterly_reports(org_id)
        .await
        .map_err(|e| e.to_string())?;
    let owed: Vec<QuarterlyDue> = store
        .quarterly_reports_due(now)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|d| org_id.is_none_or(|o| o == d.org_id))
        .collect();
    say!("filed / 提出済み: {}", filed.len());
    for f in &filed {
        let at =
            bugyo_report::calendar::jst_rfc3339(bugyo_model::Timestamp::from_micros(f.filed_at));
        let note = f
            .note
            .as_deref()
            .map(|n| format!("  {n}"))
            .unwrap_or_default();
        say!("  {} {} {at}{note}", f.org, f.quarter);
    }
    let withdrawn = store
        .quarterly_withdrawals(org_id)
        .await
        .map_err(|e| e.to_string())?;
    say!("owed / 未提出: {}", owed.len());
    for d in &owed {
        let when = if d.overdue() {
            format!("OVERDUE by {} days / {} 日超過", -d.days_left, -d.days_left)
        } else {
            format!("{} days left / あと {} 日", d.days_left, d.days_left)
        };
        let ids: Vec<String> = d.reports.iter().map(i64::to_string).collect();
        say!(
            "  {} {} due / 期限 {} ({when}) reports / 報告 {}",
            d.org,
            d.quarter,
            d.due,
            ids.join(", ")
        );
    }
    say!("withdrawn / 取り下げ: {}", withdrawn.len());
    for w in &withdrawn {
        let at = bugyo_report::calendar::jst_rfc3339(bugyo_model::Timestamp::from_micros(
            w.withdrawn_at,
        ));
        say!("  {} {} {at}  {}", w.filing.org, w.filing.quarter, w.reason);
    }
    Ok(())
}
