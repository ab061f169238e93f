//! Reminders of detailed reports, end to end on both backends: outage
//! reports of major accidents are filed into the store, and `bugyo notify`
//! reminds the reporting organisation through a real SMTP server (Debian's
//! exim4 on loopback) and a webhook receiver — a week before the detailed
//! report is due and once it is overdue, in its language, each once; not
//! for a report that is no major accident, nor for one whose detailed
//! report was filed.

mod common;

use bugyo_model::Timestamp;
use bugyo_store::reports::Author;
use bugyo_testdata::smtp::Smtp;
use bugyo_testdata::webhook::Receiver;
use common::mail::subject;
use common::*;
use serde_json::{json, Map, Value};

#[test]
fn sqlite() {
    let dir = scratch("report-reminders-sqlite");
    let store = dir.join("store");
    let url = bugyo_store::sqlite_url(&store);
    detailed_reports_are_reminded_once(&["--data-dir", store.to_str().unwrap()], &url);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres() {
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    detailed_reports_are_reminded_once(&["--database", &url], &url);
}

/// A report's fields: a voice outage `days_ago` days ago with `users`
/// users for two hours.
fn report(days_ago: i64, users: u64) -> Map<String, Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let at = Timestamp::from_secs(now - days_ago * 86_400);
    let v = json!({
        "occurred_at": at.rfc3339(),
        "situation": "IP電話が発信できない",
        "service_class": "voice",
        "users": users,
        "duration": "2h",
    });
    v.as_object().unwrap().clone()
}

fn detailed_reports_are_reminded_once(store: &[&str], url: &str) {
    let smtp = Smtp::start();
    let hooks = Receiver::http(&[]);
    let hook = hooks.url("/ocn");
    let mut org = vec![
        "org",
        "add",
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
        &hook,
        "--webhook-secret",
        "k",
    ];
    org.extend_from_slice(store);
    bugyo(&org);
    // Due in 5 days; overdue by 10; no major accident; detailed report
    // filed; overdue by 370 days (past the 90 days an overdue reminder is
    // owed for; its quarter's report too).
    let ids: Vec<i64> = read_store(url, async |s| {
        let org = s.org("ocn").await.unwrap().unwrap().id;
        let mut ids = Vec::new();
        for (days_ago, users) in [
            (25, 100_000),
            (40, 100_000),
            (25, 1_000),
            (25, 100_000),
            (400, 100_000),
        ] {
            let r = s
                .file_report(org, &report(days_ago, users), Author::default())
                .await
                .expect("file");
            ids.push(r.id);
        }
        let detailed = json!({"stage": "detailed", "cause_category": "equipment"});
        s.amend_report(
            ids[3],
            detailed.as_object().unwrap(),
            None,
            Author::default(),
        )
        .await
        .expect("amend")
        .expect("the report");
        ids
    });
    let smtp_at = format!("127.0.0.1:{}", smtp.port());
    let notify = || {
        let mut a = vec!["notify", "--once", "--smtp", &smtp_at];
        a.extend_from_slice(store);
        bugyo(&a)
    };
    notify();
    let mails = smtp.wait_for(2, std::time::Duration::from_secs(20));
    assert_eq!(mails.len(), 2, "{mails:#?}");
    // Compared without spaces: RFC 2047 drops those between encoded words.
    let subjects: Vec<String> = mails.iter().map(|m| subject(m).replace(' ', "")).collect();
    let week = format!("報告{}", ids[0]);
    let overdue = format!("報告{}", ids[1]);
    assert!(
        subjects.iter().any(|s| s.contains("期限が近づいています")
            && s.contains(&week)
            && s.contains("あと5日")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("期限を過ぎています") && s.contains(&overdue)),
        "{subjects:?}"
    );
    let posts = hooks.on("/ocn");
    assert_eq!(posts.len(), 2);
    let mut got: Vec<(i64, String)> = posts
        .iter()
        .map(|p| {
            let v: Value = serde_json::from_str(&p.body).unwrap();
            (
                v["report"].as_i64().unwrap(),
                v["reminder"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (ids[0], "detailed-week".to_string()),
            (ids[1], "detailed-overdue".to_string())
        ]
    );
    // Nothing twice.
    notify();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2, "no reminder sent twice");
    assert_eq!(hooks.on("/ocn").len(), 2);
    let reminded = audit_log(url)
        .into_iter()
        .filter(|e| e.action == "remind")
        .count();
    assert_eq!(reminded, 4, "every reminder sent is audited");
}
