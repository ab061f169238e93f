//! Advisories end to end, on both backends: the regulator (an organisation
//! of kind regulator named 総務省) issues an advisory through the API of a
//! running `bugyo serve` to two of three members; the notifier that `serve`
//! runs delivers it through a real SMTP server (Debian's exim4 on loopback)
//! and a webhook receiver — one mail and one webhook per recipient, in its
//! language (OCN Japanese, IIJ English), nothing to the third (KDDI), which
//! also gets 404 when it asks for it. IIJ's webhook refuses the first try:
//! the same message is retried and then delivered. A member cannot issue
//! one; bad input names the field and stores nothing; a second notifier
//! pass (`bugyo notify --once`) sends nothing more; every message sent is
//! audited.

mod common;

use bugyo_testdata::smtp::Smtp;
use bugyo_testdata::webhook::Receiver;
use common::mail::{decode, subject};
use common::serve::{api, Serve};
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

#[test]
fn sqlite() {
    on_sqlite("advisories", run);
}

#[test]
fn postgres() {
    on_postgres("advisories", run);
}

/// Registers the regulator and three members (each with a mailbox and a
/// webhook on `hooks`) in the store selected by `store`; gives the tokens.
fn populate(store: &[&str], hooks: &Receiver) -> BTreeMap<&'static str, String> {
    let run = |a: &[&str]| {
        let v: Vec<&str> = a.iter().chain(store).copied().collect();
        bugyo(&v)
    };
    run(&[
        "org",
        "add",
        "--handle",
        "mic",
        "--name",
        "総務省",
        "--kind",
        "regulator",
    ]);
    for (handle, asn, language) in [
        ("ocn", "4713", "ja"),
        ("iij", "2497", "en"),
        ("kddi", "2516", "ja"),
    ] {
        let email = format!("noc@{handle}.example");
        let hook = hooks.url(&format!("/{handle}"));
        run(&[
            "org",
            "add",
            "--handle",
            handle,
            "--name",
            handle,
            "--asn",
            asn,
            "--language",
            language,
            "--email",
            &email,
            "--webhook",
            &hook,
            "--webhook-secret",
            "k",
        ]);
    }
    let mut tokens = BTreeMap::new();
    let (t, _) = run(&["token", "create", "--org", "mic", "--role", "regulator"]);
    tokens.insert("regulator", t.trim().to_string());
    for who in ["ocn", "iij", "kddi"] {
        let (t, _) = run(&["token", "create", "--org", who, "--role", "member"]);
        tokens.insert(who, t.trim().to_string());
    }
    let (t, _) = run(&["token", "create", "--role", "analyst"]);
    tokens.insert("analyst", t.trim().to_string());
    tokens
}

/// Asserts a JSON error with `status` naming `field` (if given).
fn refused(got: (u16, Value), status: u16, field: Option<&str>, what: &str) {
    let (s, body) = got;
    assert_eq!(s, status, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    if let Some(f) = field {
        assert_eq!(body["error"]["field"], f, "{what}: {body}");
    }
}

fn advisory() -> Value {
    json!({
        "title_ja": "AS64500 による経路リークについて",
        "title_en": "Route leak by AS64500",
        "body_ja": "AS64500 が複数事業者の経路を漏えいしています。\n経路フィルターと最大経路数の設定を確認してください。",
        "body_en": "AS64500 is leaking the routes of several operators.\nCheck your route filters and max-prefix limits.",
        "orgs": ["ocn", "iij"],
        "tlp": "TLP:GREEN",
    })
}

/// The mail sent to `to`, decoded.
fn mail_to<'a>(mails: &'a [String], to: &str) -> Vec<&'a String> {
    mails
        .iter()
        .filter(|m| m.lines().any(|l| l.starts_with("To:") && l.contains(to)))
        .collect()
}

fn run(dir: &Path, store: &[&str], url: &str) {
    let smtp = Smtp::start();
    let hooks = Receiver::http(&["/iij"]);
    let t = populate(store, &hooks);
    let tok = |who: &str| Some(t[who].as_str());
    let smtp_at = format!("127.0.0.1:{}", smtp.port());
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    let mut extra: Vec<String> = vec![
        "--bgp-listen".into(),
        bgp,
        "--smtp".into(),
        smtp_at.clone(),
        "--retry-secs".into(),
        "1".into(),
    ];
    extra.extend(common::serve::store_flags(store));
    let mut serve = Serve::start(dir, &extra);
    serve.metrics();
    let port = serve.http_port;
    let body = advisory().to_string();

    // Members do not issue advisories; no token, nothing.
    refused(
        api(port, "POST", "/api/v1/advisories", tok("ocn"), Some(&body)),
        403,
        None,
        "a member issues",
    );
    refused(
        api(port, "POST", "/api/v1/advisories", None, Some(&body)),
        401,
        None,
        "no token",
    );
    // Bad input names the field and stores nothing: each case lays its
    // fields over a good advisory (null: left out).
    let cases = [
        ("title_en", json!({"title_en": "  "})),
        ("body_ja", json!({"body_ja": null})),
        ("title_ja", json!({"title_ja": 7})),
        ("body_en", json!({"body_en": "x".repeat(10_001)})),
        ("orgs", json!({"orgs": []})),
        ("orgs", json!({"orgs": ["ocn", "nope"]})),
        ("orgs", json!({"orgs": "ocn"})),
        ("incidents", json!({"incidents": [999]})),
        ("reports", json!({"reports": ["1"]})),
        ("tlp", json!({"tlp": "TLP:RED"})),
        ("to", json!({"to": ["ocn"]})),
    ];
    for (field, patch) in &cases {
        let mut v = advisory();
        for (k, x) in patch.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        let got = api(
            port,
            "POST",
            "/api/v1/advisories",
            tok("regulator"),
            Some(&v.to_string()),
        );
        refused(got, 400, Some(field), field);
    }
    let (status, list) = api(port, "GET", "/api/v1/advisories", tok("analyst"), None);
    assert_eq!((status, list["items"].clone()), (200, json!([])), "{list}");

    // The regulator issues it to OCN and IIJ.
    let (status, issued) = api(
        port,
        "POST",
        "/api/v1/advisories",
        tok("regulator"),
        Some(&body),
    );
    assert_eq!(status, 201, "{issued}");
    let id = issued["id"].as_i64().unwrap();
    assert_eq!(issued["orgs"], json!(["ocn", "iij"]));
    assert_eq!(issued["tlp"], "TLP:GREEN");
    assert_eq!(issued["issuer"]["org"], "mic");
    assert_eq!(issued["issuer"]["role"], "regulator");

    // serve's notifier delivers it: one mail each, in its language.
    let mails = smtp.wait_for(2, Duration::from_secs(30));
    assert_eq!(mails.len(), 2, "{mails:#?}");
    let ocn = mail_to(&mails, "noc@ocn.example");
    let iij = mail_to(&mails, "noc@iij.example");
    assert_eq!((ocn.len(), iij.len()), (1, 1), "{mails:#?}");
    // Compared without spaces: RFC 2047 drops those between encoded words.
    let ja = subject(ocn[0]).replace(' ', "");
    assert!(
        ja.contains("[bugyo]総務省からの注意喚起:AS64500による経路リークについて"),
        "{ja}"
    );
    let ja_text = decode(ocn[0]);
    assert!(ja_text.contains("TLP:GREEN"), "{ja_text}");
    assert!(
        ja_text.contains("経路フィルターと最大経路数の設定を確認してください。"),
        "{ja_text}"
    );
    assert!(
        !ja_text.contains("iij"),
        "a recipient is not told who else got it"
    );
    let en = subject(iij[0]).replace(' ', "");
    assert!(
        en.contains("[bugyo]Advisoryfrom総務省:RouteleakbyAS64500"),
        "{en}"
    );
    assert!(
        decode(iij[0]).contains("Check your route filters and max-prefix limits."),
        "{}",
        decode(iij[0])
    );
    // And one webhook each, signed, in its language (IIJ's on the retry).
    let wait_hooks = || {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while hooks.on("/ocn").len() + hooks.on("/iij").len() < 3
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_hooks();
    for (path, language, title, tries) in [
        ("/ocn", "ja", "AS64500 による経路リークについて", 1),
        ("/iij", "en", "Route leak by AS64500", 2),
    ] {
        let posts = hooks.on(path);
        assert_eq!(posts.len(), tries, "{path}");
        assert!(
            posts
                .iter()
                .all(|p| p.header("x-bugyo-delivery") == posts[0].header("x-bugyo-delivery")),
            "a retry sends the same message"
        );
        assert!(posts[0].header("x-bugyo-signature").is_some(), "{path}");
        let v: Value = serde_json::from_str(&posts[0].body).unwrap();
        assert_eq!(v["language"], language, "{v}");
        assert_eq!(v["tlp"], "TLP:GREEN", "{v}");
        assert_eq!(v["advisory"]["id"], id, "{v}");
        assert_eq!(v["advisory"]["title"], title, "{v}");
    }
    assert!(hooks.on("/kddi").is_empty(), "KDDI is not addressed");

    // Who reads it: the recipients and the regulator; KDDI gets 404.
    let path = format!("/api/v1/advisories/{id}");
    refused(
        api(port, "GET", &path, tok("kddi"), None),
        404,
        None,
        "kddi",
    );
    let (status, list) = api(port, "GET", "/api/v1/advisories", tok("kddi"), None);
    assert_eq!((status, list["items"].clone()), (200, json!([])), "{list}");
    for who in ["ocn", "iij"] {
        let (status, a) = api(port, "GET", &path, tok(who), None);
        assert_eq!(status, 200, "{who}: {a}");
        assert_eq!(a["title_en"], "Route leak by AS64500");
        assert!(a.get("orgs").is_none(), "{who} sees no recipient list: {a}");
        let (_, list) = api(port, "GET", "/api/v1/advisories", tok(who), None);
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    }
    // The analyst's empty list above held nothing to audit.
    let mut oversight_reads = 0;
    for who in ["regulator", "analyst"] {
        let (status, a) = api(port, "GET", &path, tok(who), None);
        assert_eq!(
            (status, a["orgs"].clone()),
            (200, json!(["ocn", "iij"])),
            "{a}"
        );
        let (_, list) = api(port, "GET", "/api/v1/advisories", tok(who), None);
        assert_eq!(list["items"][0]["id"], id, "{list}");
        oversight_reads += 2;
    }
    refused(
        api(port, "GET", "/api/v1/advisories/0", tok("ocn"), None),
        400,
        Some("id"),
        "id 0",
    );
    refused(
        api(port, "GET", "/api/v1/advisories/99", tok("regulator"), None),
        404,
        None,
        "no such advisory",
    );
    let (_, doc) = api(port, "GET", "/api/openapi.json", None, None);
    for p in ["/api/v1/advisories", "/api/v1/advisories/{id}"] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }
    serve.stop();

    // A second pass sends nothing more.
    let mut again = vec!["notify", "--once", "--smtp", &smtp_at];
    again.extend_from_slice(store);
    bugyo(&again);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 2, "no advisory sent twice");
    assert_eq!(hooks.on("/ocn").len() + hooks.on("/iij").len(), 3);
    assert!(hooks.on("/kddi").is_empty());

    let deliveries = read_store(url, async |s| {
        s.advisory_deliveries(id).await.expect("deliveries")
    });
    assert_eq!(deliveries.len(), 4, "two contacts of each recipient");
    assert!(
        deliveries.iter().all(|(_, status, _)| status == "sent"),
        "{deliveries:?}"
    );
    let mut attempts: Vec<i64> = deliveries.iter().map(|(_, _, n)| *n).collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [1, 1, 1, 2], "IIJ's webhook took a retry");
    let log = audit_log(url);
    let count = |action: &str| log.iter().filter(|e| e.action == action).count();
    assert_eq!(count("advise"), 4, "every message sent is audited");
    assert_eq!(count("advisory-issue"), 1, "only the advisory issued");
    assert_eq!(count("read-advisory"), oversight_reads);
}
