//! Notices over TLS, against real servers on loopback: Debian's Exim
//! ([`bugyo_testdata::smtp`]) with required STARTTLS, with TLS from the
//! first byte (`smtps://`) and a login, and HTTPS webhook and Slack
//! receivers ([`bugyo_testdata::webhook`]), each with a certificate of a
//! CA made for the test ([`bugyo_testdata::tls`]), which `bugyo notify`
//! trusts through `--ca-file`.
//!
//! Asserted: the notice arrives over TLS (Exim's `Received:` header says
//! `esmtps`, `esmtpsa` after the login; the webhook is signed); a server
//! whose certificate does not chain to a trusted CA (another CA's, or ours
//! without `--ca-file`) gets nothing, and the notice stays queued with the
//! error and its attempt counted, to go out at a later round; a wrong
//! password is refused the same way; plain `HOST:PORT` still sends in the
//! clear, as before.
//!
//! The incident is the small leak of [`common::small_leak`]: OCN (AS4713)
//! is its victim and the one member registered.

mod common;

use bugyo_store::notifications::Notice;
use bugyo_testdata::smtp::{Options, Smtp};
use bugyo_testdata::tls::TestCa;
use bugyo_testdata::webhook::Receiver;
use common::serve::AS_REL;
use common::small_leak::scenario;
use common::*;
use std::path::PathBuf;
use std::time::Duration;

/// Longest wait for a message to be delivered.
const DELIVERY: Duration = Duration::from_secs(30);

/// Wait after a failed round before the notice is due again (the rounds
/// run with `--retry-secs 1`).
const RETRY: Duration = Duration::from_millis(1200);

/// One test's store with the leak replayed into it and OCN registered with
/// `contacts` (`org add` arguments), and the test CA's certificate file.
struct Setup {
    dir: PathBuf,
    data: String,
    ca: TestCa,
    ca_file: String,
}

impl Setup {
    fn new(name: &str, contacts: &[&str]) -> Setup {
        let dir = scratch(name);
        let (rib, updates) = scenario(&dir);
        let as_rel = dir.join("as-rel.txt");
        std::fs::write(&as_rel, AS_REL).unwrap();
        let data = dir.join("data").to_str().unwrap().to_string();
        bugyo(&[
            "replay",
            "--rib",
            &rib,
            "--as-rel",
            as_rel.to_str().unwrap(),
            "--learning-secs",
            "0",
            "--data-dir",
            &data,
            &updates,
        ]);
        let mut args = vec![
            "org",
            "add",
            "--data-dir",
            &data,
            "--handle",
            "ocn",
            "--name",
            "NTT OCN",
            "--language",
            "en",
            "--asn",
            "4713",
        ];
        args.extend_from_slice(contacts);
        bugyo(&args);
        let ca = TestCa::new("bugyo test CA");
        let ca_path = dir.join("ca.pem");
        ca.write_cert(&ca_path);
        Setup {
            ca_file: ca_path.to_str().unwrap().to_string(),
            dir,
            data,
            ca,
        }
    }

    /// One round of `bugyo notify --once` with `args`: (success, stderr).
    fn notify(&self, args: &[&str]) -> (bool, String) {
        self.notify_env(&[], args)
    }

    /// [`Setup::notify`] with the environment variables `env` set.
    fn notify_env(&self, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
        let mut all = vec![
            "notify",
            "--once",
            "--retry-secs",
            "1",
            "--data-dir",
            &self.data,
        ];
        all.extend_from_slice(args);
        let (ok, _, err) = try_bugyo_env(env, &all);
        (ok, err)
    }

    /// Every notice in the store.
    fn notices(&self) -> Vec<Notice> {
        let url = bugyo_store::sqlite_url(std::path::Path::new(&self.data));
        read_store(&url, async |s| s.notices(100).await.expect("notices"))
    }

    /// The one notice in the store, for OCN's one contact.
    fn the_notice(&self) -> Notice {
        let notices = self.notices();
        assert_eq!(notices.len(), 1, "one notice: {notices:#?}");
        notices[0].clone()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Asserts that `notice` is still waiting after `attempts` failed
/// attempts, its last error mentioning `error`.
fn assert_waiting(notice: &Notice, attempts: i64, error: &str) {
    assert_eq!(notice.status, "pending", "{notice:#?}");
    assert_eq!(notice.attempts, attempts, "{notice:#?}");
    let last = notice.last_error.as_deref().unwrap_or_default();
    assert!(last.contains(error), "the error says why ({error}): {last}");
}

fn assert_sent(notice: &Notice) {
    assert_eq!(notice.status, "sent", "{notice:#?}");
    assert!(notice.message_id.is_some(), "{notice:#?}");
}

#[test]
fn required_starttls_sends_over_tls_to_a_relay_the_ca_file_vouches_for() {
    let s = Setup::new("tls-starttls", &["--email", "noc@ocn.example"]);
    let smtp = Smtp::start_with(&Options {
        tls: Some(s.ca.server_cert()),
        ..Options::default()
    });
    let relay = format!("smtp://127.0.0.1:{}?tls=required", smtp.port());

    // Without --ca-file the test CA is unknown: nothing goes out.
    let (ok, err) = s.notify(&["--smtp", &relay]);
    assert!(!ok, "an untrusted relay fails the round: {err}");
    assert_waiting(&s.the_notice(), 1, "certificate");
    assert!(smtp.messages().is_empty(), "nothing sent in the clear");

    // With it, the notice goes out, over TLS.
    std::thread::sleep(RETRY);
    let (ok, err) = s.notify(&["--smtp", &relay, "--ca-file", &s.ca_file]);
    assert!(ok, "{err}");
    let mail = &smtp.wait_for(1, DELIVERY)[0];
    assert!(mail.contains("To: noc@ocn.example"), "{mail}");
    assert!(mail.contains("with esmtps"), "received over TLS: {mail}");
    assert_sent(&s.the_notice());
}

#[test]
fn smtps_with_a_login_sends_over_tls_and_a_wrong_password_waits() {
    let s = Setup::new("tls-smtps", &["--email", "noc@ocn.example"]);
    let smtp = Smtp::start_with(&Options {
        tls: Some(s.ca.server_cert()),
        tls_on_connect: true,
        login: Some(("bugyo".into(), "secret42".into())),
    });
    let port = smtp.port();

    let wrong = format!("smtps://bugyo:wrong@127.0.0.1:{port}");
    let (ok, err) = s.notify(&["--smtp", &wrong, "--ca-file", &s.ca_file]);
    assert!(!ok, "a wrong password fails the round: {err}");
    assert!(!err.contains("wrong"), "the password is not shown: {err}");
    assert_waiting(&s.the_notice(), 1, "smtps://bugyo@127.0.0.1");
    assert!(
        !s.the_notice()
            .last_error
            .unwrap_or_default()
            .contains("wrong"),
        "the password is not recorded"
    );

    std::thread::sleep(RETRY);
    let right = format!("smtps://bugyo:secret42@127.0.0.1:{port}");
    let (ok, err) = s.notify(&["--smtp", &right, "--ca-file", &s.ca_file]);
    assert!(ok, "{err}");
    let mail = &smtp.wait_for(1, DELIVERY)[0];
    assert!(mail.contains("To: noc@ocn.example"), "{mail}");
    assert!(
        mail.contains("with esmtpsa"),
        "received over TLS after the login: {mail}"
    );
    assert_sent(&s.the_notice());
}

#[test]
fn relays_another_ca_vouches_for_are_refused_and_plain_host_port_still_works() {
    let s = Setup::new("tls-untrusted", &["--email", "noc@ocn.example"]);
    let stranger = TestCa::new("someone else's CA");
    let starttls = Smtp::start_with(&Options {
        tls: Some(stranger.server_cert()),
        ..Options::default()
    });
    let smtps = Smtp::start_with(&Options {
        tls: Some(stranger.server_cert()),
        tls_on_connect: true,
        ..Options::default()
    });
    let relays = [
        format!("smtp://127.0.0.1:{}?tls=required", starttls.port()),
        format!("smtps://127.0.0.1:{}", smtps.port()),
    ];
    for (round, relay) in relays.iter().enumerate() {
        if round > 0 {
            std::thread::sleep(RETRY);
        }
        let (ok, err) = s.notify(&["--smtp", relay, "--ca-file", &s.ca_file]);
        assert!(!ok, "{relay} is refused: {err}");
        assert!(err.contains("1 deliveries failed"), "{err}");
        assert_waiting(&s.the_notice(), round as i64 + 1, "certificate");
    }
    assert!(
        starttls.messages().is_empty() && smtps.messages().is_empty(),
        "nothing went out"
    );

    // The notice was kept: plain HOST:PORT sends it, in the clear as
    // before (no STARTTLS tried, though the relay offers it).
    std::thread::sleep(Duration::from_millis(2200));
    let plain = format!("127.0.0.1:{}", starttls.port());
    let (ok, err) = s.notify(&["--smtp", &plain]);
    assert!(ok, "{err}");
    let mail = &starttls.wait_for(1, DELIVERY)[0];
    assert!(mail.contains("To: noc@ocn.example"), "{mail}");
    assert!(
        mail.contains("with esmtp ") || mail.contains("with esmtp\n"),
        "received in the clear: {mail}"
    );
    let notice = s.the_notice();
    assert_sent(&notice);
    assert_eq!(notice.attempts, 3, "two failures and the delivery");
}

#[test]
fn https_webhooks_and_slack_are_verified_and_signed() {
    let ca = TestCa::new("bugyo test CA");
    let good = Receiver::https(&ca.server_cert(), &[]);
    let stranger = Receiver::https(&TestCa::new("someone else's CA").server_cert(), &[]);
    let (hook, slack, bad) = (
        good.url("/ocn"),
        good.url("/ocn-slack"),
        stranger.url("/ocn"),
    );
    let s = Setup::new(
        "tls-https",
        &[
            "--webhook",
            &hook,
            "--webhook",
            &bad,
            "--webhook-secret",
            "ocn-key",
            "--slack",
            &slack,
        ],
    );
    let ca_file = s.dir.join("receiver-ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();

    let (ok, err) = s.notify(&["--ca-file", ca_file.to_str().unwrap()]);
    assert!(!ok, "the stranger's receiver fails the round: {err}");

    let got = good.on("/ocn");
    assert_eq!(got.len(), 1, "{:#?}", good.requests());
    let h = &got[0];
    assert_eq!(
        h.header("x-bugyo-signature"),
        Some(
            format!(
                "sha256={}",
                bugyo_notify::deliver::sign("ocn-key", h.body.as_bytes())
            )
            .as_str()
        )
    );
    let payload: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(payload["notices"][0]["notice"], "opened", "{payload}");
    assert_eq!(good.on("/ocn-slack").len(), 1, "Slack over HTTPS");

    assert!(
        stranger.requests().is_empty(),
        "nothing sent to the stranger"
    );
    assert!(
        stranger.broken_connections() >= 1,
        "bugyo connected and refused the certificate"
    );
    let notices = s.notices();
    assert_eq!(notices.len(), 3, "{notices:#?}");
    let sent = notices.iter().filter(|n| n.status == "sent").count();
    assert_eq!(sent, 2, "{notices:#?}");
    let waiting: Vec<_> = notices.iter().filter(|n| n.status == "pending").collect();
    assert_eq!(waiting.len(), 1, "{notices:#?}");
    assert_waiting(waiting[0], 1, &bad);
    assert_waiting(waiting[0], 1, "certificate");
}

#[test]
fn with_no_ca_certificate_at_all_https_is_refused_saying_so_and_http_still_works() {
    let ca = TestCa::new("bugyo test CA");
    let https = Receiver::https(&ca.server_cert(), &[]);
    let http = Receiver::http(&[]);
    let s = Setup::new(
        "tls-no-ca",
        &[
            "--webhook",
            &https.url("/ocn"),
            "--webhook",
            &http.url("/ocn"),
        ],
    );
    // The system's CA store, as rustls finds it, made empty.
    let (no_file, no_dir) = (s.dir.join("no-certs.pem"), s.dir.join("no-certs"));
    std::fs::write(&no_file, "").unwrap();
    std::fs::create_dir(&no_dir).unwrap();
    let env = [
        ("SSL_CERT_FILE", no_file.to_str().unwrap()),
        ("SSL_CERT_DIR", no_dir.to_str().unwrap()),
    ];

    let (ok, err) = s.notify_env(&env, &[]);
    assert!(!ok, "{err}");
    assert_eq!(http.on("/ocn").len(), 1, "plain HTTP goes out");
    assert!(https.requests().is_empty(), "HTTPS does not");
    let waiting: Vec<_> = s
        .notices()
        .into_iter()
        .filter(|n| n.status == "pending")
        .collect();
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert_waiting(&waiting[0], 1, "no CA certificate");
    assert_waiting(&waiting[0], 1, "--ca-file");
}
