//! Notifications: each member organisation concerned by an incident is
//! told, in its language, by each of its contacts (e-mail, webhook, Slack,
//! syslog), what it may know of it (its own view: see
//! `bugyo_store::audience`) when the incident first concerns it, when it
//! grows significantly and when it resolves.
//!
//! The [`Notifier`] follows the incident versions in the store in the order
//! they were recorded: it decides the notices each version deserves
//! ([`policy`]) and enqueues them with its cursor in one transaction, so a
//! restart neither loses nor repeats a decision. It then sends what is due:
//! per contact, at most one message per interval (a minute for e-mail, a
//! second for Slack and webhooks), with everything due merged into one
//! digest. A failed delivery is retried with backoff and recorded; a
//! contact that keeps failing is reported. Every message sent is written to
//! the audit log (it may carry raw routes).
//!
//! Each pass also reminds reporting organisations of detailed and
//! quarterly reports owed ([`Notifier::remind`]) and delivers the advisories the regulator or the
//! hub issued ([`Notifier::advise`]): each once per contact, retried and
//! audited like notices. It answers report mails too
//! ([`Notifier::reply_mail`]): the sender learns the report number.
//!
//! E-mail goes through an SMTP relay, plain or over TLS ([`relay`]);
//! webhooks and Slack go over HTTP or HTTPS; TLS trusts the system's CA
//! certificates and those of an optional CA file ([`tls`]).

pub mod deliver;
pub mod policy;
pub mod relay;
pub mod render;
pub mod tls;

use bugyo_detect::Severity;
use bugyo_report::Date;
use bugyo_store::advisories::Advisory;
use bugyo_store::audience::{view, Viewer};
use bugyo_store::notifications::{NewNotice, Notice};
use bugyo_store::reminders::Owed;
use bugyo_store::{AuditEntry, Contact, ContactKind, Store};
use policy::{decide, NoticeKind, Told};
use render::{Deadline, Item, Language, ReminderKind};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::sync::watch;

pub use deliver::Channels;
pub use relay::SmtpRelay;
pub use tls::CaFile;

/// How the notifier behaves.
#[derive(Clone, Debug)]
pub struct NotifierConfig {
    /// The channels.
    pub channels: Channels,
    /// How often it looks for new versions and due notices.
    pub tick: Duration,
    /// Most notices in one digest.
    pub max_digest: usize,
    /// The first wait before retrying a failed delivery (doubling with
    /// each failure, at most an hour).
    pub retry_base: Duration,
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PassSummary {
    /// Notices decided and enqueued.
    pub enqueued: usize,
    /// Messages sent.
    pub messages: usize,
    /// Notices those messages carried.
    pub delivered: usize,
    /// Delivery attempts that failed (retried later).
    pub failed: usize,
}

/// Attempts after which a contact counts as failing.
pub const FAILING_AFTER: i64 = 3;

/// The least time between two messages to one contact.
fn gap(kind: ContactKind) -> Duration {
    match kind {
        ContactKind::Email => Duration::from_secs(60),
        ContactKind::Webhook | ContactKind::Slack => Duration::from_secs(1),
        ContactKind::Syslog => Duration::ZERO,
    }
}

/// The wait before retrying after `attempts` failures: `base` doubling, at
/// most an hour.
fn backoff(base: Duration, attempts: i64) -> Duration {
    base.saturating_mul(1 << attempts.clamp(0, 12) as u32)
        .min(Duration::from_secs(3600))
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Days from `today` to the due date `due` (`YYYY-MM-DD`); `None` if it
/// is not a date.
fn days_left(due: &str, today: Date) -> Option<i64> {
    let mut parts = due.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let due = Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some(due.days() - today.days())
}

/// The severity a version's body gives (`info` if it gives none).
fn severity_of(body: &serde_json::Value) -> Severity {
    body["severity"]
        .as_str()
        .and_then(|s| s.parse::<Severity>().ok())
        .unwrap_or(Severity::Info)
}

/// Follows the store's incident versions and sends the notices they call for.
pub struct Notifier {
    store: Store,
    config: NotifierConfig,
    /// When each contact may next get a message.
    next_allowed: HashMap<i64, i64>,
    /// The day report deadlines count from, if not today (JST).
    today: Option<Date>,
}

impl Notifier {
    /// A notifier over `store`.
    pub fn new(store: Store, config: NotifierConfig) -> Notifier {
        Notifier {
            store,
            config,
            next_allowed: HashMap::new(),
            today: None,
        }
    }

    /// The notifier, reminding of report deadlines as if today (JST) were
    /// `today` (`bugyo notify --today`: a rehearsal, or a test).
    pub fn with_today(mut self, today: Date) -> Notifier {
        self.today = Some(today);
        self
    }

    /// Decides the notices of every version recorded since the last pass
    /// and enqueues them; returns how many.
    pub async fn enqueue(&mut self) -> bugyo_store::Result<usize> {
        let mut total = 0;
        let recipients = self.store.notice_recipients().await?;
        loop {
            let versions = self.store.versions_to_notify(500).await?;
            let Some(last_seq) = versions.last().map(|v| v.seq) else {
                return Ok(total);
            };
            let mut decided: HashMap<(i64, i64), Told> = HashMap::new();
            let mut notices = Vec::new();
            for v in &versions {
                // The organisations this version concerns: its victims, its
                // culprit, the ASes of the peers that saw it.
                let mut asns: Vec<u64> = v.body["victims"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x["asn"].as_u64())
                    .chain(
                        v.body["peers"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|x| x.as_u64()),
                    )
                    .chain(v.body["culprit_asn"].as_u64())
                    .collect();
                asns.sort_unstable();
                asns.dedup();
                let mut orgs: Vec<i64> = Vec::new();
                for asn in asns {
                    orgs.extend(self.store.orgs_of_asn(asn as u32).await?);
                }
                // The hub and the regulator hear of every incident.
                orgs.extend(recipients.watchers());
                orgs.sort_unstable();
                orgs.dedup();
                let prefix_count = v.body["prefix_count"].as_i64().unwrap_or(0);
                let severity = severity_of(&v.body);
                let rank = severity as i64;
                for org in orgs {
                    for (contact, _) in self.store.contacts_of(org).await? {
                        let key = (v.incident_id, contact);
                        let last = match decided.get(&key) {
                            Some(t) => Some(*t),
                            None => self
                                .store
                                .last_notice(v.incident_id, contact)
                                .await?
                                .and_then(|n| told(&n)),
                        };
                        // Below its floor, an incident is not news to it
                        // yet; once told, it hears how it goes on.
                        if last.is_none() && !recipients.worth_telling(org, severity) {
                            continue;
                        }
                        let Some(kind) = decide(last, &v.event, prefix_count, rank) else {
                            continue;
                        };
                        decided.insert(
                            key,
                            Told {
                                kind,
                                prefix_count,
                                severity_rank: rank,
                            },
                        );
                        notices.push(NewNotice {
                            incident_id: v.incident_id,
                            version: v.version,
                            contact_id: contact,
                            event: kind.name().to_string(),
                            prefix_count,
                            severity_rank: rank,
                        });
                    }
                }
            }
            total += notices.len();
            self.store.enqueue_notices(last_seq, &notices).await?;
        }
    }

    /// Sends the notices due now: per contact one message (a digest if
    /// several are due), unless the contact's interval has not passed.
    pub async fn dispatch(&mut self) -> bugyo_store::Result<PassSummary> {
        let now = now_micros();
        let due = self.store.due_notices(now, 5000).await?;
        let mut by_contact: BTreeMap<i64, Vec<Notice>> = BTreeMap::new();
        for n in due {
            by_contact.entry(n.contact_id).or_default().push(n);
        }
        let mut summary = PassSummary::default();
        let mut prefixes = HashMap::new();
        for (contact_id, mut notices) in by_contact {
            if self.next_allowed.get(&contact_id).is_some_and(|t| *t > now) {
                continue;
            }
            notices.truncate(self.config.max_digest);
            let Some((org_id, contact)) = self.store.contact(contact_id).await? else {
                continue;
            };
            let Some(org) = self.store.org_by_id(org_id).await? else {
                continue;
            };
            let viewer = Viewer {
                role: org.kind.viewer_role(),
                asns: org.asns.iter().copied().collect(),
            };
            let mut items = Vec::with_capacity(notices.len());
            for n in &notices {
                if let Some(item) = self.item(&viewer, n, &mut prefixes).await? {
                    items.push(item);
                }
            }
            let ids: Vec<i64> = notices.iter().map(|n| n.id).collect();
            let message_id = format!("bugyo-{contact_id}-{}", ids[0]);
            let lang = Language::of(&org.language);
            let out = render::notices(&message_id, &items, lang);
            match self.config.channels.send(&contact, &message_id, &out).await {
                Ok(()) => {
                    self.store.mark_sent(&ids, &message_id).await?;
                    self.next_allowed
                        .insert(contact_id, now + gap(contact.kind).as_micros() as i64);
                    summary.messages += 1;
                    summary.delivered += ids.len();
                    let incidents: Vec<String> = notices
                        .iter()
                        .map(|n| format!("incident/{}", n.incident_id))
                        .collect();
                    self.store
                        .audit(&AuditEntry {
                            at: 0,
                            token_id: None,
                            org_id: Some(org_id),
                            action: "notify".into(),
                            object: incidents.join(","),
                            detail: format!(
                                "{} {} {message_id}",
                                contact.kind.name(),
                                contact.address
                            ),
                        })
                        .await?;
                }
                Err(e) => {
                    let attempts = notices.iter().map(|n| n.attempts).max().unwrap_or(0);
                    let retry = now + backoff(self.config.retry_base, attempts).as_micros() as i64;
                    tracing::warn!(contact = contact_id, address = %contact.address, error = %e, "notice not delivered; will retry / 通知を配信できませんでした。再試行します");
                    self.store.mark_failed(&ids, &e, retry).await?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }

    /// The item for notice `n`: the recipient's view of that version.
    /// `prefixes` caches each incident's prefixes for the pass.
    async fn item(
        &self,
        viewer: &Viewer,
        n: &Notice,
        prefixes: &mut HashMap<i64, Vec<(bugyo_model::Prefix, u32, i64)>>,
    ) -> bugyo_store::Result<Option<Item>> {
        let Some(kind) = NoticeKind::parse(&n.event) else {
            return Ok(None);
        };
        if let std::collections::hash_map::Entry::Vacant(e) = prefixes.entry(n.incident_id) {
            e.insert(self.store.incident_prefixes(n.incident_id).await?);
        }
        let all = &prefixes[&n.incident_id];
        let Some(version) = self
            .store
            .incident_version_with(n.incident_id, n.version, all)
            .await?
        else {
            return Ok(None);
        };
        let own: Vec<_> = all
            .iter()
            .filter(|(_, _, first)| *first <= n.version)
            .map(|(p, v, _)| (*p, *v))
            .collect();
        let seen = view(viewer, &version.body, &own);
        Ok(Some(Item {
            kind,
            view: seen.body,
        }))
    }

    /// One pass: decide, then send what is due.
    pub async fn pass(&mut self) -> bugyo_store::Result<PassSummary> {
        let enqueued = self.enqueue().await?;
        let mut s = self.dispatch().await?;
        s.enqueued = enqueued;
        for r in [
            self.remind().await?,
            self.advise().await?,
            self.reply_mail().await?,
        ] {
            s.enqueued += r.enqueued;
            s.messages += r.messages;
            s.delivered += r.delivered;
            s.failed += r.failed;
        }
        Ok(s)
    }

    /// Reminds the reporting organisations of the reports they owe: a
    /// major accident's detailed report (due 30 days after it) until the
    /// report reaches the detailed stage, and the quarterly report of each
    /// ended quarter with a quarterly-report or major accident (due two
    /// months after the quarter; see `bugyo_store::quarterly`) until it is
    /// recorded as filed. Each a week before, the day before and once
    /// overdue (for deadlines passed at most
    /// [`render::OVERDUE_REMINDER_DAYS`] ago), once per contact, in the organisation's language; sent as
    /// they fall due, retried like notices, audited (`remind`).
    pub async fn remind(&mut self) -> bugyo_store::Result<PassSummary> {
        let mut summary = PassSummary::default();
        let now = now_micros();
        let today = self
            .today
            .unwrap_or_else(|| Date::jst(bugyo_model::Timestamp::from_micros(now)));
        // Midday of that day (JST), for the store.
        let at_today = (today.days() * 86_400 + 3 * 3_600) * 1_000_000;
        let mut owed: Vec<(Owed, i64, String, ReminderKind)> = Vec::new();
        for (report, org, due) in self.store.reports_awaiting_detailed().await? {
            if let Some(kind) = days_left(&due, today).and_then(ReminderKind::for_days_left) {
                owed.push((Owed::Detailed { report_id: report }, org, due, kind));
            }
        }
        let mut listed: HashMap<(i64, String), Vec<i64>> = HashMap::new();
        for q in self.store.quarterly_reports_due(at_today).await? {
            if let Some(kind) = ReminderKind::for_days_left(q.days_left) {
                let what = Owed::Quarterly {
                    org_id: q.org_id,
                    quarter: q.quarter.clone(),
                };
                owed.push((what, q.org_id, q.due, kind));
            }
            listed.insert((q.org_id, q.quarter), q.reports);
        }
        for (what, org, due, kind) in &owed {
            let name = kind.name_for(&deadline(what, &listed));
            for (contact, _) in self.store.contacts_of(*org).await? {
                if self
                    .store
                    .enqueue_reminder(what, contact, name, due)
                    .await?
                {
                    summary.enqueued += 1;
                }
            }
        }
        // Those just owed are due now too.
        let now = now_micros();
        for r in self.store.due_reminders(now, 1000).await? {
            let Some((org_id, contact)) = self.store.contact(r.contact_id).await? else {
                continue;
            };
            let Some(org) = self.store.org_by_id(org_id).await? else {
                continue;
            };
            let (Some(kind), Some(left)) =
                (ReminderKind::parse(&r.reminder), days_left(&r.due, today))
            else {
                continue;
            };
            let deadline = deadline(&r.owed, &listed);
            let name = kind.name_for(&deadline);
            let (message_id, object) = match &r.owed {
                Owed::Detailed { report_id } => (
                    format!("bugyo-reminder-{report_id}-{}-{name}", r.contact_id),
                    format!("report/{report_id}"),
                ),
                Owed::Quarterly { org_id, quarter } => (
                    format!(
                        "bugyo-reminder-quarterly-{org_id}-{quarter}-{}-{name}",
                        r.contact_id
                    ),
                    format!("quarterly-report/{}/{quarter}", org.handle),
                ),
            };
            let out = render::reminder(
                &message_id,
                kind,
                deadline,
                &r.due,
                left,
                Language::of(&org.language),
            );
            let audit = Audited {
                org_id,
                action: "remind",
                object,
                what: Some(name),
            };
            match self
                .send_audited(&contact, &message_id, &out, audit)
                .await?
            {
                Ok(()) => {
                    self.store.mark_reminder_sent(&r, &message_id).await?;
                    summary.messages += 1;
                    summary.delivered += 1;
                }
                Err(e) => {
                    let retry =
                        now + backoff(self.config.retry_base, r.attempts).as_micros() as i64;
                    tracing::warn!(owed = ?r.owed, contact = r.contact_id, address = %contact.address, error = %e, "reminder not delivered; will retry / 期限の通知を配信できませんでした。再試行します");
                    self.store.mark_reminder_failed(&r, &e, retry).await?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }

    /// Sends the advisories owed (see `bugyo_store::advisories`): each
    /// once to every contact of each organisation it is addressed to, in
    /// that organisation's language, retried with backoff like reminders,
    /// every message sent audited (`advise`).
    pub async fn advise(&mut self) -> bugyo_store::Result<PassSummary> {
        let mut summary = PassSummary::default();
        let now = now_micros();
        let mut advisories: HashMap<i64, Option<Advisory>> = HashMap::new();
        for d in self.store.due_advisory_deliveries(now, 1000).await? {
            let Some((org_id, contact)) = self.store.contact(d.contact_id).await? else {
                continue;
            };
            let Some(org) = self.store.org_by_id(org_id).await? else {
                continue;
            };
            if let std::collections::hash_map::Entry::Vacant(e) = advisories.entry(d.advisory_id) {
                e.insert(self.store.advisory(d.advisory_id).await?);
            }
            let Some(a) = &advisories[&d.advisory_id] else {
                continue;
            };
            let message_id = format!("bugyo-advisory-{}-{}", a.id, d.contact_id);
            let out = render::advisory(&message_id, a, Language::of(&org.language));
            let audit = Audited {
                org_id,
                action: "advise",
                object: format!("advisory/{}", a.id),
                what: None,
            };
            match self
                .send_audited(&contact, &message_id, &out, audit)
                .await?
            {
                Ok(()) => {
                    self.store.mark_advisory_sent(&d, &message_id).await?;
                    summary.messages += 1;
                    summary.delivered += 1;
                }
                Err(e) => {
                    let retry =
                        now + backoff(self.config.retry_base, d.attempts).as_micros() as i64;
                    tracing::warn!(advisory = d.advisory_id, contact = d.contact_id, address = %contact.address, error = %e, "advisory not delivered; will retry / 注意喚起を配信できませんでした。再試行します");
                    self.store.mark_advisory_failed(&d, &e, retry).await?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }

    /// Sends the replies owed to the senders of report mails (see
    /// `bugyo_store::report_mail`): the report number, or why the mail was
    /// refused, in the organisation's language, threaded under the
    /// original (In-Reply-To, References), retried with backoff like
    /// reminders, every reply sent audited (`report-mail-reply`).
    pub async fn reply_mail(&mut self) -> bugyo_store::Result<PassSummary> {
        let mut summary = PassSummary::default();
        let now = now_micros();
        for r in self.store.due_mail_replies(now, 1000).await? {
            let Some((org_id, contact)) = self.store.contact(r.contact_id).await? else {
                continue;
            };
            let Some(org) = self.store.org_by_id(org_id).await? else {
                continue;
            };
            let report = match r.what["report"].as_i64() {
                Some(id) => self.store.report(id).await?,
                None => None,
            };
            let message_id = format!("bugyo-reply-{}", mail_key_hash(&r.message_key));
            let out = render::mail_reply(
                &message_id,
                &r.what,
                report.as_ref(),
                Language::of(&org.language),
                r.in_reply_to.as_deref(),
            );
            let audit = Audited {
                org_id,
                action: "report-mail-reply",
                object: r.message_key.clone(),
                what: r.what["outcome"].as_str(),
            };
            match self
                .send_audited(&contact, &message_id, &out, audit)
                .await?
            {
                Ok(()) => {
                    self.store.mark_mail_reply_sent(&r, &message_id).await?;
                    summary.messages += 1;
                    summary.delivered += 1;
                }
                Err(e) => {
                    let retry =
                        now + backoff(self.config.retry_base, r.attempts).as_micros() as i64;
                    tracing::warn!(message = %r.message_key, contact = r.contact_id, address = %contact.address, error = %e, "reply to a report mail not delivered; will retry / 報告メールへの返信を配信できませんでした。再試行します");
                    self.store.mark_mail_reply_failed(&r, &e, retry).await?;
                    summary.failed += 1;
                }
            }
        }
        Ok(summary)
    }

    /// Sends `out` to `contact` as `message_id` and, once sent, writes it to
    /// the audit log; the inner error says why it was not sent.
    async fn send_audited(
        &self,
        contact: &Contact,
        message_id: &str,
        out: &render::Outgoing,
        audit: Audited<'_>,
    ) -> bugyo_store::Result<Result<(), String>> {
        if let Err(e) = self.config.channels.send(contact, message_id, out).await {
            return Ok(Err(e));
        }
        let mut detail = String::new();
        if let Some(what) = audit.what {
            detail.push_str(what);
            detail.push(' ');
        }
        detail.push_str(&format!(
            "{} {} {message_id}",
            contact.kind.name(),
            contact.address
        ));
        self.store
            .audit(&AuditEntry {
                at: 0,
                token_id: None,
                org_id: Some(audit.org_id),
                action: audit.action.into(),
                object: audit.object,
                detail,
            })
            .await?;
        Ok(Ok(()))
    }

    /// Contacts still failing after [`FAILING_AFTER`] attempts: (contact,
    /// address, messages waiting (notices, reminders, advisories), last error).
    pub async fn failing(&self) -> bugyo_store::Result<Vec<(i64, String, i64, String)>> {
        let mut out = Vec::new();
        for (id, n, err) in self.store.failing_contacts(FAILING_AFTER).await? {
            let address = self
                .store
                .contact(id)
                .await?
                .map(|(_, c)| c.address)
                .unwrap_or_default();
            out.push((id, address, n, err));
        }
        Ok(out)
    }

    /// Runs passes every tick until `shutdown` turns true. Store errors are
    /// logged and retried at the next tick; failing contacts are reported
    /// whenever their number changes.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut reported = 0usize;
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => {
                    if *shutdown.borrow() {
                        return;
                    }
                }
            }
            if let Err(e) = self.pass().await {
                tracing::error!(error = %e, "notifier pass failed / 通知処理に失敗しました");
                continue;
            }
            if let Ok(failing) = self.failing().await {
                if failing.len() != reported {
                    for (id, address, n, err) in &failing {
                        tracing::error!(contact = id, %address, waiting = n, error = %err, "contact keeps failing / 通知先への配信が失敗し続けています");
                    }
                    reported = failing.len();
                }
            }
        }
    }
}

/// How a message sent is written to the audit log: by the notifier for
/// organisation `org_id`, `action` on `object`, the detail naming `what`
/// (if given), the channel, the address and the message id.
struct Audited<'a> {
    org_id: i64,
    action: &'static str,
    object: String,
    what: Option<&'a str>,
}

/// The deadline `owed` is, for rendering: a quarterly report with the
/// reports it lists (`listed`, by organisation and quarter; none if no
/// longer listed).
fn deadline<'a>(owed: &'a Owed, listed: &'a HashMap<(i64, String), Vec<i64>>) -> Deadline<'a> {
    match owed {
        Owed::Detailed { report_id } => Deadline::Detailed {
            report_id: *report_id,
        },
        Owed::Quarterly { org_id, quarter } => Deadline::Quarterly {
            quarter,
            reports: listed
                .get(&(*org_id, quarter.clone()))
                .map_or(&[][..], Vec::as_slice),
        },
    }
}

/// A stable short name for a report mail's key, fit for a Message-ID
/// (FNV-1a 64).
fn mail_key_hash(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn told(n: &Notice) -> Option<Told> {
    Some(Told {
        kind: NoticeKind::parse(&n.event)?,
        prefix_count: n.prefix_count,
        severity_rank: n.severity_rank,
    })
}
