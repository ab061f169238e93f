//! Sending a message by each channel: e-mail over SMTP (lettre; plain,
//! STARTTLS or TLS, see [`crate::relay`]), a webhook (JSON signed with
//! HMAC-SHA256 in `X-Bugyo-Signature`), a Slack-compatible incoming
//! webhook (both over HTTP or HTTPS), syslog (RFC 5424 over UDP). TLS
//! trusts what [`crate::tls`] trusts. Each send either succeeds or says why
//! not; the caller retries.

use crate::relay::SmtpRelay;
use crate::render;
use crate::tls::{self, CaFile};
use bugyo_store::{Contact, ContactKind};
use hmac::{Hmac, Mac};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncTransport, Message};
use sha2::Sha256;
use std::time::Duration;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Where and as whom messages go out.
#[derive(Clone, Debug)]
pub struct Channels {
    /// The SMTP relay (none: e-mail contacts wait).
    pub smtp: Option<SmtpRelay>,
    /// The sender address.
    pub mail_from: String,
    /// This host's name, for syslog.
    pub hostname: String,
    /// CA certificates trusted besides the system's.
    pub ca_file: Option<CaFile>,
    /// The HTTP client for webhooks and Slack, or why there is none (every
    /// post then fails with that reason, and is retried).
    http: Result<reqwest::Client, String>,
}

impl Channels {
    /// Channels through `smtp` (if any) from `mail_from`, trusting the
    /// system's CAs and `ca_file`'s.
    pub fn new(smtp: Option<SmtpRelay>, mail_from: String, ca_file: Option<CaFile>) -> Channels {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "bugyo".into());
        let http = tls::client_config(ca_file.as_ref()).and_then(|config| {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .tls_backend_preconfigured(config)
                .build()
                .map_err(|e| format!("HTTP client: {}", with_causes(&e)))
        });
        Channels {
            smtp,
            mail_from,
            hostname,
            ca_file,
            http,
        }
    }

    /// Sends one message (a notice, a digest or a reminder) to `contact`.
    pub async fn send(
        &self,
        contact: &Contact,
        message_id: &str,
        out: &render::Outgoing,
    ) -> Result<(), String> {
        match contact.kind {
            ContactKind::Email => self.email(&contact.address, message_id, out).await,
            ContactKind::Webhook => {
                let body = out.json.to_string();
                let signature = sign(
                    contact.secret.as_deref().unwrap_or_default(),
                    body.as_bytes(),
                );
                self.post(&contact.address, body, Some((message_id, signature)))
                    .await
            }
            ContactKind::Slack => {
                self.post(&contact.address, render::slack(out).to_string(), None)
                    .await
            }
            ContactKind::Syslog => self.syslog(&contact.address, out).await,
        }
    }

    async fn email(
        &self,
        to: &str,
        message_id: &str,
        out: &render::Outgoing,
    ) -> Result<(), String> {
        let Some(relay) = &self.smtp else {
            return Err("no SMTP relay configured (--smtp) / SMTP リレーが未設定です".into());
        };
        let mut builder = Message::builder();
        if let Some(original) = &out.in_reply_to {
            // A reply (RFC 3834): threaded under the original, and marked
            // automatic so that auto-responders do not answer it.
            builder = builder
                .in_reply_to(original.clone())
                .references(original.clone())
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("Auto-Submitted"),
                    "auto-replied".into(),
                ));
        }
        let message = builder
            .from(
                self.mail_from
                    .parse()
                    .map_err(|e| format!("from {:?}: {e}", self.mail_from))?,
            )
            .to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?)
            .subject(out.subject.clone())
            .message_id(Some(format!("<{message_id}@bugyo>")))
            .header(ContentType::TEXT_PLAIN)
            .body(out.text.clone())
            .map_err(|e| e.to_string())?;
        relay
            .transport(self.ca_file.as_ref(), TIMEOUT)
            .map_err(|e| format!("SMTP {relay}: {e}"))?
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP {relay}: {e}"))
    }

    async fn post(
        &self,
        url: &str,
        body: String,
        signed: Option<(&str, String)>,
    ) -> Result<(), String> {
        let http = self.http.as_ref().map_err(|e| format!("{url}: {e}"))?;
        let mut req = http
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some((delivery, signature)) = signed {
            req = req
                .header("X-Bugyo-Delivery", delivery)
                .header("X-Bugyo-Signature", format!("sha256={signature}"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{url}: {}", with_causes(&e)))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: HTTP {}", resp.status()))
        }
    }

    async fn syslog(&self, target: &str, out: &render::Outgoing) -> Result<(), String> {
        let socket = tokio::net::UdpSocket::bind(if target.starts_with('[') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        })
        .await
        .map_err(|e| e.to_string())?;
        let now = bugyo_model::Timestamp::from_micros(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as i64)
                .unwrap_or(0),
        );
        for entry in &out.syslog {
            let line = entry.line(&self.hostname, &now.rfc3339());
            socket
                .send_to(line.as_bytes(), target)
                .await
                .map_err(|e| format!("syslog {target}: {e}"))?;
        }
        Ok(())
    }
}

/// `e` and the errors that caused it, joined by `: ` (reqwest's own text
/// stops at "error sending request", before the TLS error that says why).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The hex HMAC-SHA256 of `body` under `key`: what `X-Bugyo-Signature`
/// carries after `sha256=`.
pub fn sign(key: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key.as_bytes()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
