//! The SMTP relay e-mail notices go through, as the operator writes it
//! (`--smtp`, the `smtp` key of the `bugyo serve` configuration):
//!
//! - `HOST:PORT` or `smtp://HOST[:PORT]` (port 25): plain SMTP, as a local
//!   relay usually is. No STARTTLS is tried: a relay that offers it with a
//!   certificate bugyo does not trust (a default self-signed one, say)
//!   would otherwise refuse every notice.
//! - `smtp://HOST[:PORT]?tls=required` (port 587): STARTTLS, which must
//!   succeed with a certificate bugyo trusts, or nothing is sent.
//! - `smtps://HOST[:PORT]` (port 465): TLS from the first byte (implicit
//!   TLS, RFC 8314).
//!
//! `USER:PASSWORD@` before the host logs in (AUTH PLAIN or LOGIN), over TLS
//! only: a password is never sent in the clear. Percent-encode `@`, `:`
//! and `/` in either. The password is never displayed: [`SmtpRelay`]'s
//! `Display` and `Debug` leave it out. What TLS trusts is [`crate::tls`]'s.

use crate::tls::{self, CaFile};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How the connection to the relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// None: plain SMTP.
    Plain,
    /// STARTTLS, required.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl Security {
    /// The port a relay URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        }
    }
}

/// The user and password to log in to the relay with.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name.
    pub user: String,
    password: String,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .field("password", &"(hidden)")
            .finish()
    }
}

/// An SMTP relay: where, how protected, as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpRelay {
    /// Its host name or address (an IPv6 address without brackets).
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Plain, STARTTLS or TLS.
    pub security: Security,
    /// Whom to log in as, if anyone.
    pub login: Option<Login>,
}

/// What a user name must have encoded to be shown in a URL.
const USERINFO: &AsciiSet = &CONTROLS.add(b'%').add(b'@').add(b':').add(b'/').add(b' ');

/// What a relay may be written as, for error messages.
const FORMS: &str = "HOST:PORT | smtp://HOST[:PORT] | smtp://HOST[:PORT]?tls=required | smtps://[USER:PASSWORD@]HOST[:PORT]";

/// An error: what is wrong in English and Japanese, then the forms.
fn bad(en: &str, ja: &str) -> String {
    format!("{en} / {ja} ({FORMS})")
}

impl FromStr for SmtpRelay {
    type Err = String;

    /// Parses the forms in the module documentation. Errors say what is
    /// wrong in English and Japanese, without repeating the value (it may
    /// hold a password).
    fn from_str(s: &str) -> Result<SmtpRelay, String> {
        if s.contains("://") {
            parse_url(s)
        } else {
            parse_host_port(s)
        }
    }
}

/// `HOST:PORT` (`[V6ADDR]:PORT` for IPv6): plain SMTP.
fn parse_host_port(s: &str) -> Result<SmtpRelay, String> {
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(bad("no port", "ポートがありません"));
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty()
        || host.contains(['/', '@', ' '])
        || (host.contains(':') && !s.starts_with('['))
    {
        return Err(bad("no valid host", "ホストが正しくありません"));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| {
            bad(
                "the port is not a number from 1 to 65535",
                "ポートは 1〜65535 の数で指定してください",
            )
        })?;
    Ok(SmtpRelay {
        host: host.to_string(),
        port,
        security: Security::Plain,
        login: None,
    })
}

/// `smtp://` or `smtps://` URLs.
fn parse_url(s: &str) -> Result<SmtpRelay, String> {
    let url =
        url::Url::parse(s).map_err(|e| bad(&format!("not a URL ({e})"), "URL として読めません"))?;
    let mut security = match url.scheme() {
        "smtp" => Security::Plain,
        "smtps" => Security::Tls,
        _ => {
            return Err(bad(
                "the scheme must be smtp or smtps",
                "スキームは smtp か smtps です",
            ))
        }
    };
    for (key, value) in url.query_pairs() {
        match (security, key.as_ref(), value.as_ref()) {
            (Security::Plain, "tls", "required") => security = Security::StartTls,
            (Security::Tls, "tls", _) => {
                return Err(bad(
                    "smtps:// is TLS already: leave out ?tls=",
                    "smtps:// は最初から TLS です。?tls= は不要です",
                ))
            }
            (_, "tls", _) => {
                return Err(bad(
                    "the only tls= value is required (STARTTLS)",
                    "tls= に指定できるのは required (STARTTLS) だけです",
                ))
            }
            _ => {
                return Err(bad(
                    &format!("unknown parameter {key:?}"),
                    &format!("未知のパラメータ {key:?} があります"),
                ))
            }
        }
    }
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
        return Err(bad(
            "a relay URL has no path",
            "リレーの URL にパスは付けられません",
        ));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host", "ホストがありません"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let decode = |part: &str, what_en: &str, what_ja: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| {
                bad(
                    &format!("the {what_en} is not UTF-8"),
                    &format!("{what_ja}が UTF-8 ではありません"),
                )
            })
    };
    let login = match (url.username(), url.password()) {
        ("", None) => None,
        ("", Some(_)) => {
            return Err(bad(
                "a password without a user",
                "ユーザ名のないパスワードです",
            ))
        }
        (user, password) => Some(Login {
            user: decode(user, "user", "ユーザ名")?,
            password: decode(password.unwrap_or_default(), "password", "パスワード")?,
        }),
    };
    if login.is_some() && security == Security::Plain {
        return Err(bad(
            "a password is sent over TLS only: use smtps:// or ?tls=required",
            "パスワードは TLS でのみ送ります。smtps:// か ?tls=required を使ってください",
        ));
    }
    Ok(SmtpRelay {
        host: host.to_string(),
        port: url.port().unwrap_or(security.default_port()),
        security,
        login,
    })
}

impl fmt::Display for SmtpRelay {
    /// The relay as a URL, without the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.security == Security::Tls {
            "smtps"
        } else {
            "smtp"
        };
        write!(f, "{scheme}://")?;
        if let Some(login) = &self.login {
            write!(f, "{}@", utf8_percent_encode(&login.user, USERINFO))?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        if self.security == Security::StartTls {
            f.write_str("?tls=required")?;
        }
        Ok(())
    }
}

impl<'de> serde::Deserialize<'de> for SmtpRelay {
    /// From the same text as the command line.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SmtpRelay, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl SmtpRelay {
    /// A transport that sends through this relay, TLS trusting what
    /// [`crate::tls`] trusts (the system's CAs and `ca_file`'s), each
    /// step of a conversation bounded by `timeout`.
    pub fn transport(
        &self,
        ca_file: Option<&CaFile>,
        timeout: Duration,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .timeout(Some(timeout));
        builder = match self.security {
            Security::Plain => builder,
            Security::StartTls => {
                builder.tls(Tls::Required(tls::smtp_parameters(&self.host, ca_file)?))
            }
            Security::Tls => builder.tls(Tls::Wrapper(tls::smtp_parameters(&self.host, ca_file)?)),
        };
        if let Some(login) = &self.login {
            builder = builder
                .credentials(Credentials::new(login.user.clone(), login.password.clone()))
                .authentication(vec![Mechanism::Plain, Mechanism::Login]);
        }
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(s: &str) -> SmtpRelay {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn host_port_is_plain_smtp_as_before() {
        let r = relay("127.0.0.1:2525");
        assert_eq!(
            (r.host.as_str(), r.port, r.security, r.login.is_none()),
            ("127.0.0.1", 2525, Security::Plain, true)
        );
        assert_eq!(relay("[::1]:25").host, "::1");
        assert_eq!(
            relay("mail.example.net:25").to_string(),
            "smtp://mail.example.net:25"
        );
    }

    #[test]
    fn urls_give_the_security_and_default_ports() {
        let r = relay("smtp://mail.example.net");
        assert_eq!((r.port, r.security), (25, Security::Plain));
        let r = relay("smtp://mail.example.net?tls=required");
        assert_eq!((r.port, r.security), (587, Security::StartTls));
        let r = relay("smtps://mail.example.net");
        assert_eq!((r.port, r.security), (465, Security::Tls));
        let r = relay("smtps://[2001:db8::25]:4650/");
        assert_eq!((r.host.as_str(), r.port), ("2001:db8::25", 4650));
        assert_eq!(r.to_string(), "smtps://[2001:db8::25]:4650");
        assert_eq!(
            relay("smtp://127.0.0.1:2587?tls=required").to_string(),
            "smtp://127.0.0.1:2587?tls=required"
        );
    }

    #[test]
    fn a_login_is_decoded_and_never_shown() {
        let r = relay("smtps://noc%40example.net:p%40ss%3Aword@mail.example.net");
        let login = r.login.clone().unwrap();
        assert_eq!(
            (login.user.as_str(), login.password.as_str()),
            ("noc@example.net", "p@ss:word")
        );
        for shown in [r.to_string(), format!("{r:?}")] {
            assert!(
                !shown.contains("p@ss") && !shown.contains("p%40ss"),
                "{shown}"
            );
        }
        assert_eq!(
            r.to_string(),
            "smtps://noc%40example.net@mail.example.net:465"
        );
    }

    #[test]
    fn bad_relays_say_why_in_both_languages() {
        for (s, why) in [
            ("mail.example.net", "no port"),
            ("mail.example.net:0", "1 to 65535"),
            ("mail.example.net:smtp", "1 to 65535"),
            (":25", "no valid host"),
            ("http://mail.example.net", "smtp or smtps"),
            ("smtp://", "no host"),
            ("smtp://mail.example.net?tls=maybe", "only tls= value"),
            ("smtps://mail.example.net?tls=required", "TLS already"),
            ("smtp://mail.example.net?starttls=1", "unknown parameter"),
            ("smtp://mail.example.net/inbox", "no path"),
            ("smtp://noc:secret@mail.example.net", "over TLS only"),
            ("smtps://:secret@mail.example.net", "without a user"),
        ] {
            let e = s.parse::<SmtpRelay>().unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
            assert!(
                e.contains(" / ") && !e.is_ascii(),
                "English and Japanese: {e}"
            );
            assert!(!e.contains("secret"), "the password is not repeated: {e}");
        }
    }
}
