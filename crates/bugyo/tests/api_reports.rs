//! Outage reports over the API end to end, on both backends: an operator
//! (OCN) files a first report with an estimate of the users affected, the
//! regulator lists it, the operator corrects the users and adds the
//! duration, and the report becomes a major accident with its
//! detailed-report due date; the history shows each field before and after;
//! another member (IIJ) sees the report only once it is marked
//! `share_operators`, and then without the private fields. Every read by
//! the regulator of a report not shared with operators is in the audit log.
//! Bad input to every endpoint gives a JSON error and stores nothing.

mod common;

use common::serve::{api, Serve};
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Registers the organisations and tokens in the store `store` (CLI
/// arguments selecting it).
fn populate(store: &[&str]) -> BTreeMap<&'static str, String> {
    let run = |a: &[&str]| {
        let v: Vec<&str> = a.iter().chain(store).copied().collect();
        bugyo(&v)
    };
    for (handle, asn) in [("ocn", "4713"), ("iij", "2497")] {
        run(&[
            "org", "add", "--handle", handle, "--name", handle, "--asn", asn,
        ]);
    }
    let mut tokens = BTreeMap::new();
    for who in ["ocn", "iij"] {
        let (t, _) = run(&["token", "create", "--org", who, "--role", "member"]);
        tokens.insert(who, t.trim().to_string());
    }
    for role in ["regulator", "analyst", "admin"] {
        let (t, _) = run(&["token", "create", "--role", role]);
        tokens.insert(role, t.trim().to_string());
    }
    tokens
}

/// Asserts a JSON error with `status` (and `field`, if given).
fn refused(got: (u16, Value), status: u16, field: Option<&str>, what: &str) {
    let (s, body) = got;
    assert_eq!(s, status, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {body}");
    assert!(body["error"]["code"].is_string(), "{what}: {body}");
    if let Some(f) = field {
        assert_eq!(body["error"]["field"], f, "{what}: {body}");
    }
}

const FIRST: &str = r#"{
    "occurred_at": "2021-10-09T07:56:00+09:00",
    "area": "東京都、神奈川県",
    "services": "FTTH インターネット接続",
    "service_class": "other",
    "situation": "一部の利用者がウェブサイトに接続できない / some users cannot reach some web sites",
    "users_estimate": "about 30,000 (under investigation)",
    "response": "investigating the DNS servers",
    "impact_enterprise": "a bank's branches",
    "contact": "NOC Taro 03-0000-0000"
}"#;

/// The walk against a running server; gives the number of `read-report`
/// entries the audit log must hold for the regulator.
fn walk(port: u16, t: &BTreeMap<&'static str, String>) -> usize {
    let tok = |who: &str| Some(t[who].as_str());
    // No valid token: nothing.
    for (method, path) in [
        ("GET", "/api/v1/reports"),
        ("POST", "/api/v1/reports"),
        ("GET", "/api/v1/reports/1"),
        ("GET", "/api/v1/reports/1/history"),
        ("POST", "/api/v1/reports/1/versions"),
    ] {
        for token in [None, Some("bugyo_0000"), Some("' OR 1=1 --")] {
            let got = api(port, method, path, token, Some(FIRST));
            refused(got, 401, None, path);
        }
    }
    // The first report: fast, with an estimate.
    let (status, first) = api(port, "POST", "/api/v1/reports", tok("ocn"), Some(FIRST));
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["org"], "ocn");
    assert_eq!(first["stage"], "first");
    assert_eq!(first["version"], 1);
    assert_eq!(first["classification"], "pending");
    assert_eq!(first["quarter"], "FY2021Q3");
    assert_eq!(first["tlp"], "TLP:AMBER+STRICT");
    assert_eq!(first["statutory"], Value::Null);
    assert_eq!(
        first["report"]["users_estimate"],
        "about 30,000 (under investigation)"
    );
    // The regulator lists it (a read of an unshared report: audited).
    let mut regulator_reads = 0;
    let (status, list) = api(port, "GET", "/api/v1/reports", tok("regulator"), None);
    assert_eq!(status, 200, "{list}");
    regulator_reads += 1;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["org"], "ocn");
    assert!(
        list["items"][0].get("report").is_none(),
        "the list is a summary"
    );
    // Another member knows nothing of it.
    let (status, list) = api(port, "GET", "/api/v1/reports", tok("iij"), None);
    assert_eq!((status, list["items"].clone()), (200, json!([])));
    for path in [
        format!("/api/v1/reports/{id}"),
        format!("/api/v1/reports/{id}/history"),
    ] {
        refused(api(port, "GET", &path, tok("iij"), None), 404, None, &path);
    }
    refused(
        api(
            port,
            "POST",
            &format!("/api/v1/reports/{id}/versions"),
            tok("iij"),
            Some(r#"{"users":1}"#),
        ),
        404,
        None,
        "another org's unshared report",
    );
    // The correction: 120,000 users for 2 h 30 min: a major accident.
    let (status, second) = api(
        port,
        "POST",
        &format!("/api/v1/reports/{id}/versions"),
        tok("ocn"),
        Some(
            r#"{"stage":"follow-up","users":120000,"duration":"2h30m","users_estimate":null,
                "reason":"users counted / 利用者数を確定"}"#,
        ),
    );
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["version"], 2);
    assert_eq!(second["classification"], "major");
    assert_eq!(second["detailed_report_due"], "2021-11-08");
    assert_eq!(second["statutory"]["classification"], "major");
    assert_eq!(second["statutory"]["detailed_report_due"], "2021-11-08");
    assert_eq!(second["report"]["users"], 120000);
    // The history: users before and after.
    let (status, h) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}/history"),
        tok("ocn"),
        None,
    );
    assert_eq!(status, 200, "{h}");
    let versions = h["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["reason"], "users counted / 利用者数を確定");
    assert!(
        versions[1]["token_id"].is_i64(),
        "the reporter sees who: {h}"
    );
    let change = |v: &Value, f: &str| {
        v["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["field"] == f)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let users = change(&versions[1], "users");
    assert_eq!(
        (users["before"].clone(), users["after"].clone()),
        (Value::Null, json!(120000))
    );
    let est = change(&versions[1], "users_estimate");
    assert_eq!(est["before"], "about 30,000 (under investigation)");
    assert_eq!(est["after"], Value::Null);
    assert_eq!(change(&versions[1], "duration")["after"], "2h30m");
    // The regulator reads it and filters by classification and quarter.
    let (status, r) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}"),
        tok("regulator"),
        None,
    );
    assert_eq!(
        (status, r["access"].as_str()),
        (200, Some("oversight")),
        "{r}"
    );
    assert_eq!(r["report"]["contact"], "NOC Taro 03-0000-0000");
    regulator_reads += 1;
    let count = |who: &str, q: &str| -> usize {
        let (status, body) = api(port, "GET", &format!("/api/v1/reports?{q}"), tok(who), None);
        assert_eq!(status, 200, "{q}: {body}");
        body["items"].as_array().unwrap().len()
    };
    assert_eq!(
        count(
            "regulator",
            "classification=major&quarter=FY2021Q3&org=ocn&stage=follow-up"
        ),
        1
    );
    regulator_reads += 1;
    assert_eq!(count("regulator", "classification=quarterly"), 0);
    assert_eq!(count("regulator", "quarter=FY2022Q1"), 0);
    assert_eq!(
        count("regulator", "since=2021-10-01T00:00:00Z&until=1640000000"),
        1
    );
    regulator_reads += 1;
    // Roles: the regulator and the hub's analysts neither file nor amend.
    for who in ["regulator", "analyst"] {
        refused(
            api(port, "POST", "/api/v1/reports", tok(who), Some(FIRST)),
            403,
            None,
            who,
        );
        refused(
            api(
                port,
                "POST",
                &format!("/api/v1/reports/{id}/versions"),
                tok(who),
                Some(r#"{"users":1}"#),
            ),
            403,
            None,
            who,
        );
    }
    // Shared with operators: IIJ sees it, without the private fields.
    let (status, third) = api(
        port,
        "POST",
        &format!("/api/v1/reports/{id}/versions"),
        tok("ocn"),
        Some(r#"{"share_operators":true,"contact":"NOC Hanako 03-1111-1111"}"#),
    );
    assert_eq!(status, 201, "{third}");
    assert_eq!(third["tlp"], "TLP:GREEN");
    assert_eq!(count("iij", ""), 1);
    let (status, seen) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}"),
        tok("iij"),
        None,
    );
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["access"], "operator");
    assert_eq!(seen["report"]["users"], 120000);
    for private in ["contact", "impact_enterprise"] {
        assert!(seen["report"].get(private).is_none(), "{private}: {seen}");
    }
    let (status, h) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}/history"),
        tok("iij"),
        None,
    );
    assert_eq!(status, 200, "{h}");
    let text = h.to_string();
    assert!(
        !text.contains("Taro") && !text.contains("Hanako") && !text.contains("bank"),
        "{text}"
    );
    assert!(h["versions"][0].get("token_id").is_none(), "{h}");
    refused(
        api(
            port,
            "POST",
            &format!("/api/v1/reports/{id}/versions"),
            tok("iij"),
            Some(r#"{"users":1}"#),
        ),
        403,
        None,
        "another org's shared report",
    );
    // Shared now: the regulator's reads are no longer audited.
    let (status, _) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}"),
        tok("regulator"),
        None,
    );
    assert_eq!(status, 200);
    // Bad input: a JSON error naming the field, nothing stored.
    for (body, status, field) in [
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","users":"many"}"#,
            400,
            Some("users"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","extra":1}"#,
            400,
            Some("extra"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z"}"#,
            400,
            Some("situation"),
        ),
        (
            r#"{"occurred_at":"yesterday","situation":"x"}"#,
            400,
            Some("occurred_at"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","duration":"2 hours"}"#,
            400,
            Some("duration"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","service_class":"x'; DROP TABLE reports; --"}"#,
            400,
            Some("service_class"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","share_operators":"yes"}"#,
            400,
            Some("share_operators"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","incidents":[424242]}"#,
            400,
            Some("incidents"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","stage":"detailed"}"#,
            400,
            Some("cause_category"),
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","org":"iij"}"#,
            403,
            None,
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","org":7}"#,
            400,
            Some("org"),
        ),
        (r#"[1,2]"#, 400, Some("body")),
        (r#"{"occurred_at":"#, 400, None),
    ] {
        refused(
            api(port, "POST", "/api/v1/reports", tok("ocn"), Some(body)),
            status,
            field,
            body,
        );
    }
    for (body, field) in [
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x"}"#,
            "org",
        ),
        (
            r#"{"occurred_at":"2021-10-09T07:56:00Z","situation":"x","org":"x' OR '1'='1"}"#,
            "org",
        ),
    ] {
        refused(
            api(port, "POST", "/api/v1/reports", tok("admin"), Some(body)),
            400,
            Some(field),
            body,
        );
    }
    let big = format!(
        r#"{{"occurred_at":"2021-10-09T07:56:00Z","situation":"{}"}}"#,
        "x".repeat(70_000)
    );
    let (status, resp) = api(port, "POST", "/api/v1/reports", tok("ocn"), Some(&big));
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let versions_path = format!("/api/v1/reports/{id}/versions");
    for (body, field) in [
        (r#"{"users":"many"}"#, "users"),
        (r#"{"reason":5,"users":1}"#, "reason"),
        (r#"{"bogus":1}"#, "bogus"),
        (r#"{}"#, "body"),
        (r#"{"share_operators":true}"#, "body"),
        (r#"{"stage":"first"}"#, "stage"),
        (r#"{"situation":null}"#, "situation"),
        (r#""text""#, "body"),
    ] {
        refused(
            api(port, "POST", &versions_path, tok("ocn"), Some(body)),
            400,
            Some(field),
            body,
        );
    }
    for (path, status) in [
        ("/api/v1/reports/abc", 400),
        ("/api/v1/reports/0", 400),
        ("/api/v1/reports/%FF", 400),
        ("/api/v1/reports/999", 404),
        ("/api/v1/reports/999/history", 404),
    ] {
        refused(
            api(port, "GET", path, tok("admin"), None),
            status,
            None,
            path,
        );
    }
    refused(
        api(
            port,
            "POST",
            "/api/v1/reports/999/versions",
            tok("admin"),
            Some(r#"{"users":1}"#),
        ),
        404,
        None,
        "no report",
    );
    refused(
        api(
            port,
            "DELETE",
            &format!("/api/v1/reports/{id}"),
            tok("admin"),
            None,
        ),
        405,
        None,
        "DELETE",
    );
    for (q, field) in [
        ("stage=second", "stage"),
        ("classification=severe", "classification"),
        ("quarter=2021Q3", "quarter"),
        ("quarter=FY2021Q5", "quarter"),
        ("org=x%27%20OR%20%271%27%3D%271", "org"),
        ("since=yesterday", "since"),
        ("limit=0", "limit"),
        ("after=x", "after"),
        ("bogus=1", "bogus"),
    ] {
        refused(
            api(
                port,
                "GET",
                &format!("/api/v1/reports?{q}"),
                tok("regulator"),
                None,
            ),
            400,
            Some(field),
            q,
        );
    }
    let (_, all) = api(port, "GET", "/api/v1/reports", tok("admin"), None);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        1,
        "nothing else stored: {all}"
    );
    let (_, h) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{id}/history"),
        tok("admin"),
        None,
    );
    assert_eq!(
        h["versions"].as_array().unwrap().len(),
        3,
        "no version added by bad input"
    );
    // An admin files for any organisation.
    let (status, r) = api(
        port,
        "POST",
        "/api/v1/reports",
        tok("admin"),
        Some(
            r#"{"org":"iij","occurred_at":"2022-04-01T00:30:00+09:00","situation":"DNS fails","stage":"final","service_class":"other","users":5000,"duration":"3h","share_public":true,"share_operators":true,
                "public_summary_ja":"DNS の障害により一部のお客さまが接続できません。","public_summary_en":"Some customers cannot connect: DNS fails."}"#,
        ),
    );
    assert_eq!(status, 201, "{r}");
    assert_eq!(
        (
            r["org"].as_str(),
            r["classification"].as_str(),
            r["tlp"].as_str()
        ),
        (Some("iij"), Some("quarterly"), Some("TLP:CLEAR"))
    );
    assert_eq!(count("ocn", ""), 2);
    // What the public is told, in both languages, round-trips and each
    // update shows in the history as before and after.
    let public = r["id"].as_i64().unwrap();
    assert_eq!(
        r["report"]["public_summary_ja"],
        "DNS の障害により一部のお客さまが接続できません。"
    );
    assert_eq!(
        r["report"]["public_summary_en"],
        "Some customers cannot connect: DNS fails."
    );
    let (status, update) = api(
        port,
        "POST",
        &format!("/api/v1/reports/{public}/versions"),
        tok("admin"),
        Some(
            r#"{"public_summary_en":"Recovered at 03:30. Restart your router if it still fails."}"#,
        ),
    );
    assert_eq!(status, 201, "{update}");
    assert_eq!(
        update["report"]["public_summary_ja"], "DNS の障害により一部のお客さまが接続できません。",
        "left out: kept"
    );
    let (status, h) = api(
        port,
        "GET",
        &format!("/api/v1/reports/{public}/history"),
        tok("ocn"),
        None,
    );
    assert_eq!(status, 200, "{h}");
    let changes = h["versions"][1]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{h}");
    assert_eq!(changes[0]["field"], "public_summary_en");
    assert_eq!(
        changes[0]["before"],
        "Some customers cannot connect: DNS fails."
    );
    assert_eq!(
        changes[0]["after"],
        "Recovered at 03:30. Restart your router if it still fails."
    );
    refused(
        api(
            port,
            "POST",
            &format!("/api/v1/reports/{public}/versions"),
            tok("admin"),
            Some(r#"{"public_summary_ja":["not", "a text"]}"#),
        ),
        400,
        Some("public_summary_ja"),
        "public summary not a text",
    );
    // The OpenAPI document names every path.
    let (_, doc) = api(port, "GET", "/api/openapi.json", None, None);
    for p in [
        "/api/v1/reports",
        "/api/v1/reports/{id}",
        "/api/v1/reports/{id}/versions",
        "/api/v1/reports/{id}/history",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }
    regulator_reads
}

fn run(dir: &Path, store_args: &[&str], url: &str) {
    let tokens = populate(store_args);
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    let mut extra: Vec<String> = vec!["--bgp-listen".into(), bgp];
    extra.extend(common::serve::store_flags(store_args));
    let mut serve = Serve::start(dir, &extra);
    serve.metrics();
    let reads = walk(serve.http_port, &tokens);
    serve.stop();
    let log = audit_log(url);
    let reads_logged: Vec<&bugyo_store::AuditEntry> =
        log.iter().filter(|e| e.action == "read-report").collect();
    assert_eq!(reads_logged.len(), reads, "{reads_logged:?}");
    assert!(
        reads_logged.iter().all(|e| e.org_id.is_none()),
        "the regulator's reads"
    );
    let filed = log.iter().filter(|e| e.action == "report-file").count();
    let amended = log.iter().filter(|e| e.action == "report-version").count();
    assert_eq!((filed, amended), (2, 3), "filings and versions are audited");
}

#[test]
fn sqlite() {
    on_sqlite("api-reports", run);
}

#[test]
fn postgres() {
    on_postgres("api-reports", run);
}
