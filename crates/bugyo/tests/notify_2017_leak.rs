//! Notifications end to end: the 2017-class leak rebuilt from real routes
//! (see `replay_2017_leak.rs`) is replayed into a store with member
//! organisations — OCN (AS4713, a victim, Japanese), IIJ (AS2497, whose
//! router saw the leak, English), AT&T (AS7018, a bystander, Japanese for
//! the test) and one whose webhook is down (AS4777, the other observer) —
//! and with the regulator and the hub, who hear of every incident from
//! "high" on —
//! then `bugyo notify` sends what each is owed to a real SMTP server
//! (Debian's exim4 on loopback), a webhook receiver, a Slack-compatible
//! receiver and a syslog socket.
//!
//! On both backends (an SQLite file, a PostgreSQL server).
//!
//! Asserted: each concerned member gets one message per contact whatever
//! the number of prefixes (a digest of its notices), in its language, with
//! only what it may see; the bystander gets nothing; webhooks are signed;
//! a delivery that failed is retried and recorded; a contact that keeps
//! failing is reported; nothing is sent twice.

mod common;

use bugyo_testdata::smtp::Smtp;
use bugyo_testdata::webhook::Receiver;
use common::leak2017::{self, Leak2017};
use common::mail::decode;
use common::*;
use std::net::UdpSocket;
use std::time::Duration;

fn hmac_hex(key: &str, body: &str) -> String {
    bugyo_notify::deliver::sign(key, body.as_bytes())
}

#[test]
fn sqlite() {
    let dir = scratch("notify2017-sqlite");
    let store = dir.join("store");
    let url = bugyo_store::sqlite_url(&store);
    leak_of_2017_notifies_each_member_once_in_its_language(
        &dir,
        &["--data-dir", store.to_str().unwrap()],
        &url,
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres() {
    let dir = scratch("notify2017-postgres");
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    leak_of_2017_notifies_each_member_once_in_its_language(&dir, &["--database", &url], &url);
    let _ = std::fs::remove_dir_all(dir);
}

/// The whole walk on the store that `store` (command-line arguments)
/// selects, at `url`.
fn leak_of_2017_notifies_each_member_once_in_its_language(
    dir: &std::path::Path,
    store: &[&str],
    store_url: &str,
) {
    let Leak2017 {
        rib_path,
        upd_path,
        caida,
        per_victim,
        ..
    } = leak2017::build(dir);
    let mut replay = vec![
        "replay",
        "--rib",
        rib_path.to_str().unwrap(),
        "--as-rel",
        caida.to_str().unwrap(),
    ];
    replay.extend_from_slice(store);
    replay.push(upd_path.to_str().unwrap());
    bugyo(&replay);

    let smtp = Smtp::start();
    let hooks = Receiver::http(&["/iij"]);
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // A port nobody listens on (below the ephemeral range: no outgoing
    // connection takes it meanwhile).
    let dead = bugyo_testdata::gobgp::free_port();
    let url = |p: &str| hooks.url(p);
    let syslog_at = syslog.local_addr().unwrap().to_string();
    let dead_url = format!("http://127.0.0.1:{dead}/hook");
    let (ocn_hook, iij_hook, iij_slack) = (url("/ocn"), url("/iij"), url("/iij-slack"));
    let hub_hook = url("/hub");
    for args in [
        vec![
            "--handle",
            "ocn",
            "--name",
            "NTT OCN",
            "--language",
            "ja",
            "--asn",
            "4713",
            "--email",
            "noc@ocn.example",
            "--webhook",
            &ocn_hook,
            "--webhook-secret",
            "ocn-key",
        ],
        vec![
            "--handle",
            "iij",
            "--name",
            "IIJ",
            "--language",
            "en",
            "--asn",
            "2497",
            "--email",
            "noc@iij.example",
            "--webhook",
            &iij_hook,
            "--webhook-secret",
            "iij-key",
            "--slack",
            &iij_slack,
            "--syslog",
            &syslog_at,
        ],
        vec![
            "--handle",
            "att",
            "--name",
            "AT&T",
            "--language",
            "ja",
            "--asn",
            "7018",
            "--email",
            "noc@att.example",
        ],
        // The regulator (Japanese, e-mail) and the hub (English, webhook):
        // told of every incident from "high" on, each in its own view.
        vec![
            "--handle",
            "soumu",
            "--name",
            "MIC",
            "--kind",
            "regulator",
            "--language",
            "ja",
            "--email",
            "report@soumu.example",
        ],
        vec![
            "--handle",
            "hub",
            "--name",
            "The hub",
            "--kind",
            "hub",
            "--language",
            "en",
            "--webhook",
            &hub_hook,
            "--webhook-secret",
            "hub-key",
        ],
        vec![
            "--handle",
            "broken",
            "--name",
            "Broken",
            "--language",
            "en",
            "--asn",
            "4777",
            "--webhook",
            &dead_url,
        ],
    ] {
        let mut a = vec!["org", "add"];
        a.extend(args);
        a.extend_from_slice(store);
        bugyo(&a);
    }

    let smtp_at = format!("127.0.0.1:{}", smtp.port());
    let notify = || {
        let mut a = vec!["notify", "--once", "--smtp", &smtp_at, "--retry-secs", "1"];
        a.extend_from_slice(store);
        try_bugyo(&a)
    };
    let (ok, _, err) = notify();
    assert!(
        !ok,
        "failed deliveries make the exit status non-zero: {err}"
    );
    eprintln!("{err}");

    // E-mail: one message each to OCN, IIJ and the regulator, none to the
    // bystander.
    let mails = smtp.wait_for(3, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(500));
    let mails = if smtp.messages().len() > mails.len() {
        smtp.messages()
    } else {
        mails
    };
    assert_eq!(mails.len(), 3, "{mails:#?}");
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.contains(&format!("To: {who}")))
            .unwrap_or_else(|| panic!("no mail to {who}: {mails:#?}"))
    };
    let ocn = decode(to("noc@ocn.example"));
    let iij = decode(to("noc@iij.example"));
    let soumu = decode(to("report@soumu.example"));
    assert!(
        !mails.iter().any(|m| m.contains("att.example")),
        "the bystander is not told"
    );
    assert!(
        !per_victim.contains_key(&bugyo_model::Asn(7018)),
        "AS7018 stands by"
    );
    assert!(
        ocn.starts_with("TLP:AMBER+STRICT") || ocn.contains("\nTLP:AMBER+STRICT"),
        "{ocn}"
    );
    assert!(ocn.contains("経路リーク"), "Japanese for OCN: {ocn}");
    let own = per_victim[&bugyo_model::Asn(4713)];
    assert!(
        ocn.contains(&format!(
            "貴組織のプレフィックスで影響を受けたもの: {own} 件"
        )),
        "OCN's own count {own}: {ocn}"
    );
    assert!(
        ocn.contains("インシデントが解消"),
        "the resolution is in the digest: {ocn}"
    );
    assert!(
        iij.contains("Your routers saw these routes."),
        "English for IIJ: {iij}"
    );
    assert!(
        !iij.contains("Your prefixes affected"),
        "IIJ is no victim: {iij}"
    );
    assert!(
        iij.contains("2497 701 15169"),
        "IIJ sees its own router's routes: {iij}"
    );
    assert!(
        !iij.contains("AS4777"),
        "IIJ does not see the other observer's routes: {iij}"
    );

    // The regulator: the multi-operator summary, in Japanese, no routes.
    assert!(soumu.lines().any(|l| l.trim() == "TLP:AMBER"), "{soumu}");
    assert!(
        soumu.contains("経路リーク"),
        "Japanese for the regulator: {soumu}"
    );
    assert!(
        !soumu.contains("2497 701 15169") && !soumu.contains("701 15169 4713"),
        "the regulator sees no raw routes: {soumu}"
    );

    // The hub: everything, from "high" on.
    let hub = hooks.on("/hub");
    assert_eq!(hub.len(), 1, "one digest for the hub");
    let payload: serde_json::Value = serde_json::from_str(&hub[0].body).unwrap();
    assert_eq!(payload["tlp"], "TLP:AMBER+STRICT");
    let hub_notices = payload["notices"].as_array().unwrap();
    assert!(!hub_notices.is_empty());
    for n in hub_notices {
        let severity: bugyo_detect::Severity =
            n["incident"]["severity"].as_str().unwrap().parse().unwrap();
        assert!(severity >= bugyo_detect::Severity::High, "{n}");
    }
    assert!(
        hub_notices.iter().any(|n| n["incident"]["samples"]
            .as_array()
            .is_some_and(|s| !s.is_empty())),
        "the hub sees the routes"
    );

    // Webhooks: OCN's signed and in its view; IIJ's failed once.
    let on = |p: &str| hooks.on(p);
    let ocn_hooks = on("/ocn");
    assert_eq!(
        ocn_hooks.len(),
        1,
        "one digest, whatever the number of prefixes"
    );
    let h = &ocn_hooks[0];
    assert_eq!(
        h.header("x-bugyo-signature"),
        Some(format!("sha256={}", hmac_hex("ocn-key", &h.body)).as_str())
    );
    let payload: serde_json::Value = serde_json::from_str(&h.body).unwrap();
    assert_eq!(payload["language"], "ja");
    assert_eq!(payload["tlp"], "TLP:AMBER+STRICT");
    let notices = payload["notices"].as_array().unwrap();
    assert!(
        notices.len() >= 2 && notices.len() <= 16,
        "opened, a few growths, resolved: {}",
        notices.len()
    );
    assert_eq!(notices[0]["notice"], "opened");
    assert_eq!(notices.last().unwrap()["notice"], "resolved");
    for n in notices {
        assert!(
            n["incident"].get("prefixes").is_none(),
            "a victim sees only its own prefixes"
        );
        assert!(n["incident"]["own_prefixes"].is_array());
    }
    assert_eq!(on("/iij").len(), 1);
    assert_eq!(on("/iij-slack").len(), 1, "Slack: one message");
    let slack: serde_json::Value = serde_json::from_str(&on("/iij-slack")[0].body).unwrap();
    assert!(slack["text"].as_str().unwrap().contains("TLP:AMBER+STRICT"));
    let mut buf = [0u8; 4096];
    let (n, _) = syslog.recv_from(&mut buf).expect("a syslog line");
    let line = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(line.starts_with("<13") || line.starts_with("<12"), "{line}");
    assert!(
        line.contains(" bugyo - ") && line.contains("kind=\"route-leak\""),
        "{line}"
    );

    // The retry: IIJ's webhook gets it the second time; nothing else is
    // sent again. The dead webhook keeps failing and is reported.
    std::thread::sleep(Duration::from_millis(1200));
    let (_, _, err2) = notify();
    std::thread::sleep(Duration::from_millis(2200));
    let (_, _, err3) = notify();
    let count = |p: &str| hooks.on(p).len();
    assert_eq!(count("/iij"), 2, "retried once, then delivered: {err2}");
    assert_eq!(count("/ocn"), 1, "not sent twice");
    assert_eq!(count("/iij-slack"), 1, "not sent twice");
    assert_eq!(count("/hub"), 1, "not sent twice");
    assert_eq!(smtp.messages().len(), 3, "no mail sent twice");
    assert!(
        err3.contains("failing") && err3.contains(&dead_url),
        "the dead webhook is reported: {err3}"
    );
    let audit = audit_log(store_url);
    let notified = audit.iter().filter(|e| e.action == "notify").count();
    assert_eq!(notified, 8, "every message sent is audited: {audit:#?}");
}
