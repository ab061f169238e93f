//! `bugyo notify`: runs the notifier over the store (the same one `bugyo
//! serve` runs inside): decides the notices owed for every incident version
//! recorded since the last run and sends what is due. `--once` makes one
//! round and exits (for cron, or after a replay); otherwise it keeps going
//! until SIGTERM.

use crate::members::StoreArgs;
use bugyo_notify::{CaFile, Channels, Notifier, NotifierConfig, SmtpRelay};
use clap::Args;
use std::process::ExitCode;
use std::time::Duration;

/// Where notices go out.
#[derive(Args, Debug, Clone)]
pub struct MailArgs {
    /// The SMTP relay for e-mail notices: HOST:PORT or smtp://HOST:PORT
    /// (plain SMTP), smtp://HOST:PORT?tls=required (STARTTLS, required),
    /// smtps://HOST:PORT (TLS); a URL may leave out the port (25, 587, 465).
    /// USER:PASSWORD@HOST logs in, over TLS only (other users of the host
    /// may see a command line: bugyo serve can take the relay from its
    /// --config file instead).
    #[arg(long, value_name = "URL")]
    pub smtp: Option<SmtpRelay>,
    /// The sender of e-mail notices (default: bugyo@localhost).
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Also trust the CA certificates in this PEM file (a private CA) for
    /// HTTPS webhooks, Slack and SMTP over TLS, besides the system's.
    #[arg(long, value_name = "FILE", value_parser = CaFile::from_arg)]
    pub ca_file: Option<CaFile>,
    /// Seconds before retrying a failed delivery, doubling with each
    /// failure up to an hour (default: 30).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_secs: Option<u64>,
}

impl MailArgs {
    /// The notifier's configuration.
    pub fn config(&self) -> NotifierConfig {
        NotifierConfig {
            channels: Channels::new(
                self.smtp.clone(),
                self.mail_from
                    .clone()
                    .unwrap_or_else(|| crate::serve_config::defaults::MAIL_FROM.to_string()),
                self.ca_file.clone(),
            ),
            tick: Duration::from_secs(2),
            max_digest: 50,
            retry_base: Duration::from_secs(self.retry_secs.unwrap_or(30)),
        }
    }
}

/// Arguments of `bugyo notify`.
#[derive(Args, Debug)]
pub struct NotifyArgs {
    /// One round, then exit (status 2 if a delivery failed; it stays queued).
    #[arg(long)]
    once: bool,
    /// Remind of report deadlines as if today (JST) were DATE (YYYY-MM-DD):
    /// a rehearsal or a test; reminders so decided are recorded as sent.
    #[arg(long, value_name = "DATE", value_parser = parse_date, hide = true)]
    today: Option<bugyo_report::Date>,
    #[command(flatten)]
    mail: MailArgs,
    #[command(flatten)]
    store: StoreArgs,
}

/// Runs `bugyo notify`.
pub fn run(args: NotifyArgs) -> ExitCode {
    crate::members::run_async(async move {
        let store = args.store.open().await?;
        let mut notifier = Notifier::new(store.clone(), args.mail.config());
        if let Some(today) = args.today {
            notifier = notifier.with_today(today);
        }
        if !args.once {
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = tx.send(true);
            });
            notifier.run(rx).await;
            store.close().await;
            return Ok(());
        }
        let s = notifier.pass().await.map_err(|e| e.to_string())?;
        eprintln!(
            "{} notices decided, {} messages sent carrying {} notices, {} deliveries failed / 通知 {} 件を決定、{} 通を送信 ({} 件分)、配信失敗 {} 件",
            s.enqueued, s.messages, s.delivered, s.failed, s.enqueued, s.messages, s.delivered, s.failed
        );
        for (id, address, n, err) in notifier.failing().await.map_err(|e| e.to_string())? {
            eprintln!("contact {id} ({address}): {n} messages waiting, failing: {err} / 通知先 {id} への配信が失敗し続けています");
        }
        store.close().await;
        if s.failed > 0 {
            return Err(format!("{} deliveries failed; they will be retried / {} 件の配信に失敗しました。再試行されます", s.failed, s.failed));
        }
        Ok(())
    })
}

/// A date `YYYY-MM-DD`.
fn parse_date(s: &str) -> Result<bugyo_report::Date, String> {
    let mut parts = s.splitn(3, '-');
    let mut next = || parts.next().and_then(|p| p.parse::<i64>().ok());
    match (next(), next(), next()) {
        (Some(y), Some(m), Some(d)) => {
            bugyo_report::Date::new(y, m.try_into().unwrap_or(0), d.try_into().unwrap_or(0))
        }
        _ => None,
    }
    .ok_or_else(|| {
        format!("{s:?} is not a date YYYY-MM-DD / {s:?} は YYYY-MM-DD の日付ではありません")
    })
}
