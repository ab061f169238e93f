//! Outage reports by e-mail taken in by the server itself: `bugyo serve
//! --report-maildir` with a real Exim delivering the reports into that
//! maildir and another real Exim as the relay the replies go out through.
//! A report arrives, appears in the API within the bounded wait, and its
//! sender is answered (in the organisation's language, threaded under the
//! original) with the report number and the tag for follow-ups; a
//! follow-up carrying that tag amends the same report and is answered
//! too; a mail from an unknown sender is refused without a reply
//! (backscatter); `/metrics` counts them.

mod common;

use bugyo_testdata::smtp::Smtp;
use common::mail::{decode, send, subject};
use common::serve::{api, metric, store_flags, Serve};
use common::{bugyo, read_store};
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

const REPORT: &str = "From: NOC <noc@ocn.example>
To: report@mic.example
Subject: Outage report: Tokyo voice
Message-ID: <serve-1@ocn.example>
Content-Type: text/plain; charset=utf-8

Occurred at: 2026-11-20 09:00 +0900
Area: Tokyo
Services: IP telephony
Service class: voice-emergency
Situation: Calls, emergency calls included, fail in Tokyo.
Users affected: 50000
Duration: 3h
";

fn follow_up(id: i64) -> String {
    format!(
        "From: noc@ocn.example\nTo: report@mic.example\nSubject: Re: [bugyo report {id}] Report received\nMessage-ID: <serve-2@ocn.example>\nIn-Reply-To: <serve-1@ocn.example>\nContent-Type: text/plain; charset=utf-8\n\n原因: 設定誤り\n"
    )
}

const UNKNOWN: &str = "From: someone@unknown.example
Subject: outage
Message-ID: <serve-unknown@unknown.example>

Occurred at: 2026-11-20 10:00
Situation: our line is down
";

/// The report list as the regulator sees it.
fn reports(port: u16, token: &str) -> Vec<Value> {
    let (status, list) = api(port, "GET", "/api/v1/reports", Some(token), None);
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn sqlite() {
    common::on_sqlite("report-mail-serve", walk);
}

#[test]
fn postgres() {
    common::on_postgres("report-mail-serve", walk);
}

fn walk(dir: &std::path::Path, store: &[&str], url: &str) {
    let inbox = Smtp::start();
    let outbox = Smtp::start();
    let run = |a: &[&str]| {
        let v: Vec<&str> = a.iter().chain(store).copied().collect();
        bugyo(&v).0
    };
    run(&[
        "org",
        "add",
        "--handle",
        "ocn",
        "--name",
        "NTT OCN",
        "--language",
        "en",
        "--email",
        "noc@ocn.example",
    ]);
    let token = run(&["token", "create", "--role", "regulator"])
        .trim()
        .to_string();

    let maildir = inbox.maildir();
    let mut extra: Vec<String> = [
        "--bgp-listen",
        &format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port()),
        "--report-maildir",
        maildir.to_str().unwrap(),
        "--intake-secs",
        "1",
        "--smtp",
        &format!("127.0.0.1:{}", outbox.port()),
        "--mail-from",
        "report@mic.example",
        "--retry-secs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    extra.extend(store_flags(store));
    let mut serve = Serve::start(dir, &extra);
    serve.metrics();
    let port = serve.http_port;

    // A report arrives and is filed.
    send(inbox.port(), "noc@ocn.example", REPORT.as_bytes());
    let filed = bugyo_testdata::wait_until(
        WAIT,
        || reports(port, &token).into_iter().next(),
        || format!("no report in the API\nbugyo log:\n{}", serve.log()),
    );
    let id = filed["id"].as_i64().unwrap();
    assert_eq!(filed["org"], "ocn");
    assert_eq!(filed["area"], "Tokyo");
    assert_eq!(filed["classification"], "major", "{filed}");

    // Its sender is answered with the number, in English, under the
    // original.
    let replies = outbox.wait_for(1, WAIT);
    let reply = decode(&replies[0]);
    assert!(
        reply
            .lines()
            .any(|l| l.starts_with("To:") && l.contains("noc@ocn.example")),
        "{reply}"
    );
    assert_eq!(
        subject(&replies[0]).trim(),
        format!("[bugyo report {id}] Report received: report {id}")
    );
    assert!(
        reply.contains("In-Reply-To: <serve-1@ocn.example>"),
        "{reply}"
    );
    assert!(
        reply.contains("References: <serve-1@ocn.example>"),
        "{reply}"
    );
    assert!(reply.contains("Auto-Submitted: auto-replied"), "{reply}");
    assert!(
        reply.contains(&format!("Your mail was filed as report {id}.")),
        "{reply}"
    );
    assert!(reply.contains(&format!("[bugyo report {id}]")), "{reply}");
    assert!(reply.contains("Classification: major accident"), "{reply}");
    let due = filed["detailed_report_due"].as_str().unwrap();
    assert!(
        reply.contains(&format!("The detailed report is due on {due}")),
        "{reply}"
    );

    // A follow-up naming the report amends it, and is answered too.
    send(inbox.port(), "noc@ocn.example", follow_up(id).as_bytes());
    let amended = bugyo_testdata::wait_until(
        WAIT,
        || {
            reports(port, &token)
                .into_iter()
                .find(|r| r["id"] == id && r["version"] == 2)
        },
        || format!("report {id} not amended\nbugyo log:\n{}", serve.log()),
    );
    assert_eq!(amended["stage"], "follow-up", "{amended}");
    let replies = outbox.wait_for(2, WAIT);
    let second = replies
        .iter()
        .find(|m| m.contains("<serve-2@ocn.example>"))
        .expect("a reply to the follow-up");
    assert_eq!(
        subject(second).trim(),
        format!("[bugyo report {id}] Report {id} updated (version 2)")
    );

    // A mail from an unknown sender is refused, and not answered.
    send(inbox.port(), "someone@unknown.example", UNKNOWN.as_bytes());
    let m = serve.wait_metrics(WAIT, "the refusal counted", |m| {
        metric(m, "bugyo_report_mail_rejected_total") == Some(1.0)
    });
    assert_eq!(
        metric(&m, "bugyo_report_mail_filed_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "bugyo_report_mail_amended_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "bugyo_report_mail_errors_total"),
        Some(0.0),
        "{m}"
    );
    assert!(
        metric(&m, "bugyo_report_mail_runs_total").unwrap() >= 3.0,
        "{m}"
    );
    assert_eq!(reports(port, &token).len(), 1);
    serve.stop();

    assert_eq!(outbox.messages().len(), 2, "no reply to the unknown sender");
    let (refused, audit) = read_store(url, async |s| {
        (
            s.mail_reply_status("<serve-unknown@unknown.example>")
                .await
                .unwrap(),
            s.audit_log(1000).await.unwrap(),
        )
    });
    assert_eq!(refused, None);
    let answered: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "report-mail-reply")
        .map(|e| e.object.as_str())
        .collect();
    assert_eq!(answered.len(), 2, "{answered:?}");
    assert!(answered.contains(&"<serve-1@ocn.example>"));
    assert!(answered.contains(&"<serve-2@ocn.example>"));
    // The maildir: filed in cur/, refused in rejected/ with a .why.
    let cur = std::fs::read_dir(maildir.join("cur")).unwrap().count();
    assert_eq!(cur, 2);
    assert!(maildir.join("rejected").read_dir().unwrap().count() == 2);
}
