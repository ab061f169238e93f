//! Reminders of quarterly reports (四半期報告), end to end on both
//! backends: outage reports are filed into the store, one organisation
//! records its quarterly report as filed with `bugyo report quarterly`,
//! and `bugyo notify` reminds the others through a real SMTP server
//! (Debian's exim4 on loopback) and a webhook receiver — a week before the
//! quarterly report is due and once it is overdue, in each organisation's
//! language, once per contact; nothing for the one that filed, nothing
//! twice, nothing once filed. Then over the API (`bugyo serve`): a
//! member lists its own, the regulator every organisation's with the one
//! overdue, a member records its filing, and bad input is refused naming
//! the field.
//!
//! The due dates are fixed (the last day of the second month after a
//! quarter), so the notifier is run as if today were five days before one
//! (`bugyo notify --today`, hidden), over quarters that have ended.

mod common;

use bugyo_model::Timestamp;
use bugyo_report::{Date, FiscalQuarter};
use bugyo_store::quarterly::due_date;
use bugyo_store::reports::Author;
use bugyo_testdata::smtp::Smtp;
use bugyo_testdata::webhook::Receiver;
use common::mail::subject;
use common::serve::{api, Serve};
use common::*;
use serde_json::{json, Map, Value};
use std::path::Path;

#[test]
fn sqlite() {
    let dir = scratch("quarterly-reminders-sqlite");
    let store = dir.join("data");
    let url = bugyo_store::sqlite_url(&store);
    quarterly_reports_are_reminded_once(&dir, &["--data-dir", store.to_str().unwrap()], &url);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres() {
    let dir = scratch("quarterly-reminders-postgres");
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    quarterly_reports_are_reminded_once(&dir, &["--database", &url], &url);
    let _ = std::fs::remove_dir_all(dir);
}

/// A report's fields: a voice outage at noon (JST) ten days into
/// `quarter`, of `users` users for `duration`.
fn report(quarter: FiscalQuarter, users: u64, duration: &str) -> Map<String, Value> {
    let at = Timestamp::from_secs((quarter.first_day().days() + 10) * 86_400 + 3 * 3_600);
    let v = json!({
        "occurred_at": at.rfc3339(),
        "situation": "IP電話が発信できない",
        "service_class": "voice",
        "users": users,
        "duration": duration,
    });
    v.as_object().unwrap().clone()
}

fn add_org(handle: &str, language: &str, hook: &str, store: &[&str]) {
    let email = format!("noc@{handle}.example");
    let mut org = vec![
        "org",
        "add",
        "--handle",
        handle,
        "--name",
        handle,
        "--language",
        language,
        "--email",
        &email,
        "--webhook",
        hook,
        "--webhook-secret",
        "k",
    ];
    org.extend_from_slice(store);
    bugyo(&org);
}

fn quarterly_reports_are_reminded_once(dir: &Path, store: &[&str], url: &str) {
    let smtp = Smtp::start();
    let hooks = Receiver::http(&[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    // Two quarters back has ended, and so has its due date; the notifier
    // runs five days before that date.
    let q = FiscalQuarter::of(Date::jst(Timestamp::from_micros(now)))
        .previous()
        .previous();
    let due = due_date(q).unwrap();
    let today = due.plus_days(-5).to_string();
    let earlier = q.previous();
    assert!(due_date(earlier).unwrap() < due.plus_days(-5));
    for (handle, language) in [("ocn", "ja"), ("iij", "en"), ("kddi", "en")] {
        add_org(handle, language, &hooks.url(&format!("/{handle}")), store);
    }
    // ocn: a quarterly-report accident and a major accident (its detailed
    // report filed) in q; iij: one in q, quarterly report filed; kddi: one
    // in the quarter before, overdue.
    let (listed, kddi) = read_store(url, async |s| {
        let id = async |h: &str| s.org(h).await.unwrap().unwrap().id;
        let file = async |org: i64, fields: Map<String, Value>| {
            s.file_report(org, &fields, Author::default())
                .await
                .expect("file")
                .id
        };
        let ocn = id("ocn").await;
        let quarterly = file(ocn, report(q, 1_000, "3h")).await;
        let major = file(ocn, report(q, 100_000, "3h")).await;
        let detailed = json!({"stage": "detailed", "cause_category": "equipment"});
        s.amend_report(
            major,
            detailed.as_object().unwrap(),
            None,
            Author::default(),
        )
        .await
        .expect("amend")
        .expect("the report");
        file(ocn, report(q, 100, "10m")).await; // no statutory report
        file(id("iij").await, report(q, 40_000, "1h")).await;
        let kddi = file(id("kddi").await, report(earlier, 50_000, "1h")).await;
        (vec![quarterly, major], kddi)
    });
    let quarter = q.to_string();
    let mut filing = vec![
        "report",
        "quarterly",
        "--org",
        "iij",
        "--quarter",
        &quarter,
        "--note",
        "受付番号 42",
    ];
    filing.extend_from_slice(store);
    let (out, _) = bugyo(&filing);
    assert!(out.contains("recorded"), "{out}");
    // A bad quarter is refused naming the flag; a second filing too.
    for bad in ["FY2021Q5", &quarter[..]] {
        let mut a = vec!["report", "quarterly", "--org", "iij", "--quarter", bad];
        a.extend_from_slice(store);
        let (ok, _, err) = try_bugyo(&a);
        assert!(!ok && err.contains("--quarter"), "{bad}: {err}");
    }

    let smtp_at = format!("127.0.0.1:{}", smtp.port());
    let notify = |today: &str| {
        let mut a = vec!["notify", "--once", "--smtp", &smtp_at, "--today", today];
        a.extend_from_slice(store);
        bugyo(&a)
    };
    notify(&today);
    let mails = smtp.wait_for(2, std::time::Duration::from_secs(20));
    assert_eq!(mails.len(), 2, "{mails:#?}");
    // Compared without spaces: RFC 2047 drops those between encoded words.
    let subjects: Vec<String> = mails.iter().map(|m| subject(m).replace(' ', "")).collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("四半期報告の期限が近づいています")
                && s.contains(&quarter)
                && s.contains("あと5日")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Quarterlyreportoverdue") && s.contains(&earlier.to_string())),
        "{subjects:?}"
    );
    let ocn = hooks.on("/ocn");
    assert_eq!(ocn.len(), 1);
    let v: Value = serde_json::from_str(&ocn[0].body).unwrap();
    assert_eq!(v["reminder"], "quarterly-week");
    assert_eq!(v["quarter"], quarter);
    assert_eq!(v["due"], due.to_string());
    assert_eq!(v["days_left"], 5);
    assert_eq!(v["reports"], json!(listed), "quarterly and major accidents");
    assert_eq!(v["language"], "ja");
    let kddi_posts = hooks.on("/kddi");
    assert_eq!(kddi_posts.len(), 1);
    let v: Value = serde_json::from_str(&kddi_posts[0].body).unwrap();
    assert_eq!(v["reminder"], "quarterly-overdue");
    assert_eq!(v["reports"], json!([kddi]));
    assert_eq!(v["language"], "en");
    assert!(hooks.on("/iij").is_empty(), "filed: no reminder");

    // Nothing twice.
    notify(&today);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2, "no reminder sent twice");
    assert_eq!(hooks.on("/ocn").len(), 1);
    assert_eq!(hooks.on("/kddi").len(), 1);

    // Listed: iij filed, ocn and kddi owed (overdue by now).
    let mut list = vec!["report", "quarterly", "--list"];
    list.extend_from_slice(store);
    let (out, _) = bugyo(&list);
    assert!(
        out.contains(&format!("iij {quarter}")) && out.contains("受付番号 42"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ocn {quarter} due / 期限 {due}")),
        "{out}"
    );
    assert!(out.contains(&format!("kddi {earlier}")), "{out}");

    // Once ocn files, its day-before and overdue reminders are not sent.
    let mut filing = vec!["report", "quarterly", "--org", "ocn", "--quarter", &quarter];
    filing.extend_from_slice(store);
    bugyo(&filing);
    notify(&due.plus_days(1).to_string());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2, "filed: no more reminders");
    assert_eq!(hooks.on("/ocn").len(), 1);

    // Over the API; serve's own notifier owes nothing more (kddi's overdue
    // reminder was sent).
    let run = |a: &[&str]| {
        let v: Vec<&str> = a.iter().chain(store).copied().collect();
        bugyo(&v).0.trim().to_string()
    };
    let kddi_token = run(&["token", "create", "--org", "kddi", "--role", "member"]);
    let iij_token = run(&["token", "create", "--org", "iij", "--role", "member"]);
    let regulator = run(&["token", "create", "--role", "regulator"]);
    let admin = run(&["token", "create", "--role", "admin"]);
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    let mut extra: Vec<String> = vec!["--bgp-listen".into(), bgp];
    if store.first() == Some(&"--database") {
        extra.extend(store.iter().map(|s| s.to_string()));
    }
    let mut serve = Serve::start(dir, &extra);
    serve.metrics();
    let port = serve.http_port;
    let path = "/api/v1/quarterly-reports";
    let (status, mine) = api(port, "GET", path, Some(&iij_token), None);
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["filed"].as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine["filed"][0]["note"], "受付番号 42");
    assert_eq!(mine["owed"], json!([]));
    assert!(mine.get("overdue_orgs").is_none(), "members see their own");
    let (status, all) = api(port, "GET", path, Some(&regulator), None);
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["filed"].as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all["overdue_orgs"], json!(["kddi"]));
    assert_eq!(all["owed"][0]["quarter"], earlier.to_string());
    assert_eq!(all["owed"][0]["overdue"], true);
    assert_eq!(all["owed"][0]["reports"], json!([kddi]));
    let refused = |token: &str, body: &str, status: u16, field: Option<&str>| {
        let (s, v) = api(port, "POST", path, Some(token), Some(body));
        assert_eq!(s, status, "{body}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{body}: {v}");
    };
    refused(
        &kddi_token,
        r#"{"quarter": "FY2021Q5"}"#,
        400,
        Some("quarter"),
    );
    refused(&kddi_token, r#"{"note": "x"}"#, 400, Some("quarter"));
    refused(&kddi_token, r#"{"quarter": 3}"#, 400, Some("quarter"));
    let unknown = format!(r#"{{"quarter": "{earlier}", "reason": "x"}}"#);
    refused(&kddi_token, &unknown, 400, Some("reason"));
    let other = format!(r#"{{"quarter": "{earlier}", "org": "ocn"}}"#);
    refused(&kddi_token, &other, 403, None);
    let body = format!(r#"{{"quarter": "{earlier}", "note": "遅れて提出"}}"#);
    refused(&regulator, &body, 403, None);
    refused(&admin, &body, 400, Some("org"));
    let (status, filed) = api(port, "POST", path, Some(&kddi_token), Some(&body));
    assert_eq!(status, 201, "{filed}");
    assert_eq!(
        (&filed["org"], &filed["quarter"], &filed["note"]),
        (
            &json!("kddi"),
            &json!(earlier.to_string()),
            &json!("遅れて提出")
        )
    );
    refused(&kddi_token, &body, 400, Some("quarter"));
    let (_, all) = api(port, "GET", path, Some(&regulator), None);
    assert_eq!(
        (all["overdue_orgs"].clone(), all["owed"].clone()),
        (json!([]), json!([]))
    );
    // iij withdraws its filing, recorded by mistake: bad input names the
    // field; the quarter is owed again and the filing kept as withdrawn.
    let withdraw = "/api/v1/quarterly-reports/withdraw";
    let refused = |token: &str, body: &str, status: u16, field: Option<&str>| {
        let (s, v) = api(port, "POST", withdraw, Some(token), Some(body));
        assert_eq!(s, status, "{body}: {v}");
        assert_eq!(v["error"]["field"].as_str(), field, "{body}: {v}");
    };
    let no_reason = format!(r#"{{"quarter": "{quarter}"}}"#);
    refused(&iij_token, &no_reason, 400, Some("reason"));
    let blank = format!(r#"{{"quarter": "{quarter}", "reason": "  "}}"#);
    refused(&iij_token, &blank, 400, Some("reason"));
    let body = format!(r#"{{"quarter": "{quarter}", "reason": "受付番号を取り違えた"}}"#);
    refused(&kddi_token, &body, 400, Some("quarter")); // kddi filed no such
    refused(&regulator, &body, 403, None);
    let of_ocn = format!(r#"{{"quarter": "{quarter}", "reason": "x", "org": "ocn"}}"#);
    refused(&iij_token, &of_ocn, 403, None);
    let (status, w) = api(port, "POST", withdraw, Some(&iij_token), Some(&body));
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        (&w["filing"]["org"], &w["filing"]["note"], &w["reason"]),
        (
            &json!("iij"),
            &json!("受付番号 42"),
            &json!("受付番号を取り違えた")
        )
    );
    refused(&iij_token, &body, 400, Some("quarter"));
    let (_, mine) = api(port, "GET", path, Some(&iij_token), None);
    assert_eq!(mine["filed"], json!([]), "{mine}");
    assert_eq!(mine["owed"][0]["quarter"], quarter, "owed again: {mine}");
    assert_eq!(mine["withdrawn"][0]["reason"], "受付番号を取り違えた");
    let (_, all) = api(port, "GET", path, Some(&regulator), None);
    assert_eq!(all["withdrawn"].as_array().map(Vec::len), Some(1), "{all}");
    let (_, doc) = api(port, "GET", "/api/openapi.json", None, None);
    assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    assert!(
        doc["paths"].get(withdraw).is_some(),
        "{withdraw} is documented"
    );
    serve.stop();

    // And from the command line: a reason is required; ocn withdraws.
    let mut cli = vec![
        "report",
        "quarterly",
        "--org",
        "ocn",
        "--quarter",
        &quarter,
        "--withdraw",
    ];
    let mut blank = cli.clone();
    blank.push(" ");
    blank.extend_from_slice(store);
    let (ok, _, err) = try_bugyo(&blank);
    assert!(!ok && err.contains("--withdraw"), "{err}");
    cli.push("担当者の誤操作");
    cli.extend_from_slice(store);
    let (out, _) = bugyo(&cli);
    assert!(out.contains("withdrawn"), "{out}");
    let (out, _) = bugyo(&list);
    assert!(out.contains("withdrawn / 取り下げ: 2"), "{out}");
    assert!(out.contains("担当者の誤操作"), "{out}");

    let log = audit_log(url);
    // serve's own notifier may remind iij of the quarter owed again (its
    // timing is not the test's): the count is of the others.
    let reminded = log
        .iter()
        .filter(|e| e.action == "remind" && !e.object.starts_with("quarterly-report/iij/"))
        .count();
    assert_eq!(reminded, 4, "every reminder sent is audited");
    let withdrawals: Vec<String> = log
        .iter()
        .filter(|e| e.action == "quarterly-report-withdraw")
        .map(|e| format!("{} {}", e.object, e.detail))
        .collect();
    assert_eq!(
        withdrawals,
        vec![
            format!("quarterly-report/iij/{quarter} 受付番号を取り違えた"),
            format!("quarterly-report/ocn/{quarter} 担当者の誤操作"),
        ]
    );
    let filed: Vec<String> = log
        .iter()
        .filter(|e| e.action == "quarterly-report-file")
        .map(|e| e.object.clone())
        .collect();
    assert_eq!(
        filed,
        vec![
            format!("quarterly-report/iij/{quarter}"),
            format!("quarterly-report/ocn/{quarter}"),
            format!("quarterly-report/kddi/{earlier}"),
        ]
    );
    let reads = log
        .iter()
        .filter(|e| e.action == "read-quarterly-reports")
        .count();
    assert_eq!(reads, 3, "the regulator's reads are audited");
}
