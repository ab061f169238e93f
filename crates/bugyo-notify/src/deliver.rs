//! Sending a message by each channel: e-mail over SMTP (lettre), a webhook
//! (JSON signed with HMAC-SHA256 in `X-Bugyo-Signature`), a Slack-compatible
//! incoming webhook, syslog (RFC 5424 over UDP). Each send either succeeds
//! or says why not; the caller retries.

use crate::render::{self, Item, Language};
use bugyo_store::{Contact, ContactKind};
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::time::Duration;

/// How long one delivery may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Where and as whom messages go out.
#[derive(Clone, Debug)]
pub struct Channels {
    /// The SMTP relay, `HOST:PORT` (none: e-mail contacts wait).
    pub smtp: Option<String>,
    /// The sender address.
    pub mail_from: String,
    /// This host's name, for syslog.
    pub hostname: String,
    http: reqwest::Client,
}

impl Channels {
    /// Channels through `smtp` (if any) from `mail_from`.
    pub fn new(smtp: Option<String>, mail_from: String) -> Channels {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "bugyo".into());
        Channels {
            smtp,
            mail_from,
            hostname,
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Sends one message (one notice or a digest) to `contact`.
    pub async fn send(
        &self,
        contact: &Contact,
        message_id: &str,
        items: &[Item],
        lang: Language,
    ) -> Result<(), String> {
        match contact.kind {
            ContactKind::Email => self.email(&contact.address, message_id, items, lang).await,
            ContactKind::Webhook => {
                let body = render::webhook(message_id, items, lang).to_string();
                let signature = sign(
                    contact.secret.as_deref().unwrap_or_default(),
                    body.as_bytes(),
                );
                self.post(&contact.address, body, Some((message_id, signature)))
                    .await
            }
            ContactKind::Slack => {
                self.post(
                    &contact.address,
                    render::slack(items, lang).to_string(),
                    None,
                )
                .await
            }
            ContactKind::Syslog => self.syslog(&contact.address, items).await,
        }
    }

    async fn email(
        &self,
        to: &str,
        message_id: &str,
        items: &[Item],
        lang: Language,
    ) -> Result<(), String> {
        let Some(relay) = &self.smtp else {
            return Err("no SMTP relay configured (--smtp) / SMTP リレーが未設定です".into());
        };
        let (host, port) = relay
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("--smtp {relay:?}: HOST:PORT"))?;
        let message = Message::builder()
            .from(
                self.mail_from
                    .parse()
                    .map_err(|e| format!("from {:?}: {e}", self.mail_from))?,
            )
            .to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?)
            .subject(render::subject(items, lang))
            .message_id(Some(format!("<{message_id}@bugyo>")))
            .header(ContentType::TEXT_PLAIN)
            .body(render::text(items, lang))
            .map_err(|e| e.to_string())?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(TIMEOUT))
            .build();
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }

    async fn post(
        &self,
        url: &str,
        body: String,
        signed: Option<(&str, String)>,
    ) -> Result<(), String> {
        let mut req = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .body(body);
        if let Some((delivery, signature)) = signed {
            req = req
                .header("X-Bugyo-Delivery", delivery)
                .header("X-Bugyo-Signature", format!("sha256={signature}"));
        }
        let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url}: HTTP {}", resp.status()))
        }
    }

    async fn syslog(&self, target: &str, items: &[Item]) -> Result<(), String> {
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
        for line in render::syslog(items, &self.hostname, &now.rfc3339()) {
            socket
                .send_to(line.as_bytes(), target)
                .await
                .map_err(|e| format!("syslog {target}: {e}"))?;
        }
        Ok(())
    }
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
