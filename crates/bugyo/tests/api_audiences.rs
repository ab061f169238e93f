//! The API end to end, on both backends: a leak of OCN's (AS4713)
//! more-specifics by AS15169 to AS701, seen by IIJ's (AS2497) router, is
//! replayed into the store; four member organisations (victim, observer,
//! culprit, bystander) and the hub's, the regulator's and an admin's tokens
//! are registered from the command line; then `bugyo serve` answers.
//!
//! The audience matrix: every role and relation × every incident endpoint,
//! asserting what each sees and what it must not (raw routes: prefixes,
//! sample routes, peers), its TLP label, and that exactly the reads of raw
//! routes are in the audit log. Then bad input to every endpoint: a JSON
//! error with a code (and the field), nothing stored, the server still up.

mod common;

use common::serve::{api, Serve, AS_REL};
use common::small_leak::{scenario, LEAKED};
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Tokens by who holds them.
struct Tokens(BTreeMap<&'static str, String>);

impl Tokens {
    fn of(&self, who: &str) -> &str {
        &self.0[who]
    }
}

/// Replays the scenario into the store `store` (CLI arguments selecting it)
/// and registers the organisations and tokens.
fn populate(dir: &Path, as_rel: &Path, store: &[&str]) -> Tokens {
    let (rib, updates) = scenario(dir);
    let mut args = vec![
        "replay",
        "--rib",
        &rib,
        "--as-rel",
        as_rel.to_str().unwrap(),
        "--learning-secs",
        "0",
    ];
    args.extend_from_slice(store);
    args.push(&updates);
    bugyo(&args);
    let with =
        |a: &[&str]| -> Vec<String> { a.iter().chain(store).map(|s| s.to_string()).collect() };
    let run = |a: &[&str]| {
        let v = with(a);
        bugyo(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    for (handle, asn) in [
        ("ocn", "4713"),
        ("iij", "2497"),
        ("google", "15169"),
        ("kddi", "2516"),
    ] {
        run(&[
            "org", "add", "--handle", handle, "--name", handle, "--asn", asn,
        ]);
    }
    let mut tokens = BTreeMap::new();
    for who in ["ocn", "iij", "google", "kddi"] {
        let (t, _) = run(&["token", "create", "--org", who, "--role", "member"]);
        tokens.insert(who, t.trim().to_string());
    }
    for role in ["analyst", "regulator", "admin"] {
        let (t, _) = run(&["token", "create", "--role", role]);
        tokens.insert(role, t.trim().to_string());
    }
    let (t, _) = run(&["token", "create", "--role", "analyst", "--label", "rate"]);
    tokens.insert("rate", t.trim().to_string());
    Tokens(tokens)
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// What a view must and must not hold, per viewer.
fn check_view(who: &str, v: &Value) {
    let has = |k: &str| v.get(k).is_some();
    let len = |k: &str| v.get(k).and_then(Value::as_array).map_or(0, Vec::len);
    let raw = ["prefixes", "samples", "peers", "own_prefixes"];
    assert_eq!(v["kind"], "route-leak", "{who}");
    assert_eq!(v["culprit_asn"], 15169, "{who}");
    assert_eq!(v["prefix_count"], LEAKED, "{who}");
    match who {
        "analyst" | "admin" => {
            assert_eq!(v["tlp"], "TLP:AMBER+STRICT", "{who}");
            assert_eq!(len("prefixes"), LEAKED as usize, "{who}");
            assert!(len("samples") > 0, "{who}");
            assert_eq!(v["peers"], serde_json::json!([2497]), "{who}");
        }
        "regulator" => {
            assert_eq!(v["tlp"], "TLP:AMBER", "{who}");
            for k in raw {
                assert!(!has(k), "{who} sees no {k}: {:?}", keys(v));
            }
            assert_eq!(v["victims"][0]["asn"], 4713);
            assert_eq!(v["peer_count"], 1);
        }
        "ocn" => {
            assert_eq!(v["tlp"], "TLP:AMBER+STRICT");
            assert_eq!(v["relation"]["victim"], true);
            assert!(!has("prefixes") && !has("peers"), "{who}: {:?}", keys(v));
            assert_eq!(len("own_prefixes"), LEAKED as usize);
            assert!(len("samples") > 0);
        }
        "iij" => {
            assert_eq!(v["tlp"], "TLP:AMBER+STRICT");
            assert_eq!(v["relation"]["observer"], true);
            assert!(
                !has("prefixes") && !has("own_prefixes") && !has("peers"),
                "{who}: {:?}",
                keys(v)
            );
            let s = v["samples"].as_array().unwrap();
            assert!(!s.is_empty() && s.iter().all(|s| s["peer_asn"] == 2497));
        }
        "google" => {
            assert_eq!(v["relation"]["culprit"], true);
            assert_eq!(len("prefixes"), LEAKED as usize);
        }
        "kddi" => {
            assert_eq!(v["tlp"], "TLP:GREEN");
            for k in raw {
                assert!(!has(k), "{who} sees no {k}: {:?}", keys(v));
            }
            assert_eq!(
                v["relation"],
                serde_json::json!({"victim": false, "observer": false, "culprit": false})
            );
        }
        _ => unreachable!(),
    }
}

const VIEWERS: [&str; 7] = [
    "analyst",
    "admin",
    "regulator",
    "ocn",
    "iij",
    "google",
    "kddi",
];

/// The matrix and the bad input, against a running server; gives the
/// audit log's `read-routes` count per token secret holder.
fn walk(port: u16, tokens: &Tokens) -> i64 {
    // Unauthenticated or with a bad token: nothing.
    for path in [
        "/api/v1/incidents",
        "/api/v1/incidents/1",
        "/api/v1/incidents/1/history",
        "/api/v1/me",
        "/api/v1/orgs",
        "/api/v1/situation?asn=4713",
    ] {
        for token in [None, Some("bugyo_0000"), Some("' OR 1=1 --")] {
            let (status, body) = api(port, "GET", path, token, None);
            assert_eq!(status, 401, "{path} with {token:?}");
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    // The list: one incident, a summary for everyone.
    let mut id = None;
    for who in VIEWERS {
        let (status, body) = api(port, "GET", "/api/v1/incidents", Some(tokens.of(who)), None);
        assert_eq!(status, 200, "{who}: {body}");
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{who}");
        let item = &items[0];
        assert_eq!(item["tlp"], "TLP:GREEN");
        for k in ["prefixes", "samples", "peers"] {
            assert!(item.get(k).is_none(), "{who}: the list holds no {k}");
        }
        assert_eq!(*id.get_or_insert(item["id"].clone()), item["id"]);
        assert_eq!(body["next_after"], Value::Null);
    }
    let id = id.unwrap();
    // One incident and its history, in each viewer's view.
    for who in VIEWERS {
        let t = Some(tokens.of(who));
        let (status, v) = api(port, "GET", &format!("/api/v1/incidents/{id}"), t, None);
        assert_eq!(status, 200, "{who}: {v}");
        check_view(who, &v);
        let (status, h) = api(
            port,
            "GET",
            &format!("/api/v1/incidents/{id}/history"),
            t,
            None,
        );
        assert_eq!(status, 200, "{who}: {h}");
        let versions = h["versions"].as_array().unwrap();
        assert!(!versions.is_empty());
        assert_eq!(versions[0]["event"], "opened");
        check_view(who, &versions.last().unwrap()["incident"]);
    }
    // Filters.
    let count = |q: &str| -> usize {
        let (status, body) = api(
            port,
            "GET",
            &format!("/api/v1/incidents?{q}"),
            Some(tokens.of("analyst")),
            None,
        );
        assert_eq!(status, 200, "{q}: {body}");
        body["items"].as_array().unwrap().len()
    };
    assert_eq!(
        count("asn=4713&kind=route-leak&severity=info&status=open"),
        1
    );
    assert_eq!(count("asn=2516"), 0);
    assert_eq!(count("prefix=60.0.0.0/8"), 1);
    assert_eq!(count("prefix=61.0.0.0/8"), 0);
    assert_eq!(count("since=2017-08-24T18:50:00Z&until=1503700000"), 1);
    assert_eq!(count("since=1503700000"), 0);
    assert_eq!(count("active_since=2017-08-24T18:50:00Z"), 1);
    assert_eq!(count("active_since=1503700000"), 0, "ended before");
    assert_eq!(count("limit=1"), 1);
    // Bad input: a JSON error naming the field.
    for (q, field) in [
        ("limit=abc", "limit"),
        ("active_since=yesterday", "active_since"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("bogus=1", "bogus"),
        ("kind=x%27%20OR%20%271%27%3D%271", "kind"),
        ("severity=dire", "severity"),
        ("asn=-1", "asn"),
        ("prefix=60.0.0.0%2F33", "prefix"),
        ("since=yesterday", "since"),
        ("status=%3Bdrop", "status"),
        ("after=x", "after"),
    ] {
        let (status, body) = api(
            port,
            "GET",
            &format!("/api/v1/incidents?{q}"),
            Some(tokens.of("analyst")),
            None,
        );
        assert_eq!(status, 400, "{q}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{q}");
        assert_eq!(body["error"]["field"], field, "{q}: {body}");
    }
    let admin = Some(tokens.of("admin"));
    for (path, status) in [
        ("/api/v1/incidents/abc", 400),
        ("/api/v1/incidents/0", 400),
        ("/api/v1/incidents/999", 404),
        ("/api/v1/incidents/999/history", 404),
        ("/api/v2/anything", 404),
        ("/api/v1/orgs/nobody", 404),
    ] {
        let (got, body) = api(port, "GET", path, admin, None);
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    // Unreadable encodings: still a JSON error.
    for path in [
        "/api/v1/incidents?kind=%FF%FE",
        "/api/v1/incidents/%FF",
        "/api/v1/orgs/%C3%28",
    ] {
        let (status, body) = api(port, "GET", path, admin, None);
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{path}: {body}");
    }
    let (status, body) = api(port, "DELETE", "/api/v1/incidents", admin, None);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
    // Members: roles.
    let (status, _) = api(port, "GET", "/api/v1/orgs", Some(tokens.of("ocn")), None);
    assert_eq!(status, 403);
    let (status, _) = api(
        port,
        "GET",
        "/api/v1/orgs/iij",
        Some(tokens.of("ocn")),
        None,
    );
    assert_eq!(status, 403, "a member sees only its own organisation");
    let (status, body) = api(
        port,
        "GET",
        "/api/v1/orgs/ocn",
        Some(tokens.of("ocn")),
        None,
    );
    assert_eq!(
        (status, body["asns"].clone()),
        (200, serde_json::json!([4713]))
    );
    let (status, body) = api(port, "GET", "/api/v1/me", Some(tokens.of("iij")), None);
    assert_eq!((status, body["org"]["handle"].as_str()), (200, Some("iij")));
    let org = r#"{"handle":"jpix","name":"JPIX","language":"ja","asns":[7527]}"#;
    for who in ["ocn", "analyst", "regulator"] {
        let (status, _) = api(
            port,
            "POST",
            "/api/v1/orgs",
            Some(tokens.of(who)),
            Some(org),
        );
        assert_eq!(status, 403, "{who} may not register organisations");
    }
    for (body, status, field) in [
        (
            r#"{"handle":"x","name":"x","language":"ja","extra":1}"#,
            422,
            None,
        ),
        (
            r#"{"handle":"x","name":"x","language":"ja","asns":"many"}"#,
            422,
            None,
        ),
        (r#"{"handle":"x","name":"x""#, 400, None),
        (
            r#"{"handle":"x'; DROP TABLE orgs; --","name":"x","language":"ja"}"#,
            400,
            Some("handle"),
        ),
        (
            r#"{"handle":"x","name":"x","language":"fr"}"#,
            400,
            Some("language"),
        ),
        (
            r#"{"handle":"x","name":"x","language":"ja","prefixes":["10.0.0.0/33"]}"#,
            422,
            None,
        ),
        (
            r#"{"handle":"ocn","name":"again","language":"ja"}"#,
            409,
            None,
        ),
    ] {
        let (got, resp) = api(port, "POST", "/api/v1/orgs", admin, Some(body));
        assert_eq!(got, status, "{body}: {resp}");
        assert!(resp["error"]["message"].is_string(), "{body}: {resp}");
        if let Some(f) = field {
            assert_eq!(resp["error"]["field"], f, "{body}: {resp}");
        }
    }
    let big = format!(
        r#"{{"handle":"big","name":"{}","language":"ja"}}"#,
        "x".repeat(70_000)
    );
    let (status, resp) = api(port, "POST", "/api/v1/orgs", admin, Some(&big));
    assert_eq!(
        (status, resp["error"]["code"].as_str()),
        (413, Some("too_large"))
    );
    let (status, body) = api(port, "POST", "/api/v1/orgs", admin, Some(org));
    assert_eq!(status, 201, "{body}");
    let (status, orgs) = api(port, "GET", "/api/v1/orgs", admin, None);
    assert_eq!(status, 200);
    let handles: Vec<&str> = orgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["handle"].as_str().unwrap())
        .collect();
    assert_eq!(
        handles,
        ["google", "iij", "jpix", "kddi", "ocn"],
        "nothing else was stored"
    );
    // Tokens over the API.
    let (status, body) = api(
        port,
        "POST",
        "/api/v1/tokens",
        admin,
        Some(r#"{"org":"jpix","role":"member"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let jpix = body["secret"].as_str().unwrap().to_string();
    let (status, me) = api(port, "GET", "/api/v1/me", Some(&jpix), None);
    assert_eq!((status, me["org"]["handle"].as_str()), (200, Some("jpix")));
    // People over the API: a user's token speaks for the user's
    // organisation and role; a member sees its own organisation's people.
    let (status, user) = api(
        port,
        "POST",
        "/api/v1/users",
        admin,
        Some(r#"{"org":"jpix","name":"Jiro","email":"jiro@jpix.example","role":"member"}"#),
    );
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_i64().unwrap();
    let (status, body) = api(
        port,
        "POST",
        "/api/v1/tokens",
        admin,
        Some(&format!(r#"{{"user":{user_id},"label":"jiro"}}"#)),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["token"]["user_id"], user_id);
    let jiro = body["secret"].as_str().unwrap().to_string();
    let (status, me) = api(port, "GET", "/api/v1/me", Some(&jiro), None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["org"]["handle"].as_str(), me["user"]["name"].as_str()),
        (Some("jpix"), Some("Jiro"))
    );
    let (status, list) = api(port, "GET", "/api/v1/users", Some(&jiro), None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _) = api(port, "GET", "/api/v1/users?org=ocn", Some(&jiro), None);
    assert_eq!(status, 403, "another member's people");
    let (status, _) = api(
        port,
        "POST",
        "/api/v1/users",
        Some(&jiro),
        Some(r#"{"name":"x","role":"admin"}"#),
    );
    assert_eq!(status, 403, "only admins register people");
    for (body, field) in [
        (r#"{"name":"x","role":"member"}"#, "org"),
        (r#"{"name":"x","role":"analyst","email":"x"}"#, "email"),
        (r#"{"name":"","role":"analyst"}"#, "name"),
        (r#"{"name":"x","role":"emperor"}"#, "role"),
        (r#"{"org":"nobody","name":"x","role":"member"}"#, "org"),
    ] {
        let (status, resp) = api(port, "POST", "/api/v1/users", admin, Some(body));
        assert_eq!(
            (status, resp["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}: {resp}"
        );
    }
    for body in [
        r#"{"name":"x","role":"analyst","extra":1}"#,
        r#"{"name":7,"role":"analyst"}"#,
    ] {
        let (status, resp) = api(port, "POST", "/api/v1/users", admin, Some(body));
        assert_eq!(status, 422, "{body}: {resp}");
        assert!(resp["error"]["message"].is_string(), "{body}: {resp}");
    }
    for (q, field) in [
        ("org=x%27%20OR%20%271%27%3D%271", "org"),
        ("bogus=1", "bogus"),
    ] {
        let (status, resp) = api(port, "GET", &format!("/api/v1/users?{q}"), admin, None);
        assert_eq!(
            (status, resp["error"]["field"].as_str()),
            (400, Some(field)),
            "{q}: {resp}"
        );
    }
    let (_, all) = api(port, "GET", "/api/v1/users", admin, None);
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        1,
        "nothing else stored"
    );
    for (body, field) in [
        (r#"{"role":"emperor"}"#, "role"),
        (r#"{"role":"member"}"#, "org"),
        (r#"{"org":"nobody","role":"member"}"#, "org"),
        (r#"{}"#, "role"),
        (r#"{"user":1,"role":"admin"}"#, "user"),
        (r#"{"user":999}"#, "user"),
    ] {
        let (status, resp) = api(port, "POST", "/api/v1/tokens", admin, Some(body));
        assert_eq!(
            (status, resp["error"]["field"].as_str()),
            (400, Some(field)),
            "{body}: {resp}"
        );
    }
    // The OpenAPI document names every path used here.
    let (status, doc) = api(port, "GET", "/api/openapi.json", None, None);
    assert_eq!(status, 200);
    for p in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/incidents/{id}/history",
        "/api/v1/orgs",
        "/api/v1/orgs/{handle}",
        "/api/v1/tokens",
        "/api/v1/users",
        "/api/v1/me",
        "/api/v1/situation",
    ] {
        assert!(doc["paths"].get(p).is_some(), "{p} is documented");
    }
    // Is it only us? OCN (the victim) learns that one other member (IIJ,
    // whose router saw the same leak) is concerned, named since the
    // incident is shared; KDDI learns how many, not who.
    let since = "since=1500000000";
    let (status, s) = api(
        port,
        "GET",
        &format!("/api/v1/situation?asn=4713&{since}"),
        Some(tokens.of("ocn")),
        None,
    );
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["only_us"], false);
    assert_eq!(s["other_members_affected"], 1);
    assert_eq!(s["ours"][0]["other_members"], serde_json::json!(["iij"]));
    let (status, s) = api(
        port,
        "GET",
        &format!("/api/v1/situation?asn=2516&{since}"),
        Some(tokens.of("kddi")),
        None,
    );
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["other_members_affected"], 2);
    assert_eq!(s["by_kind"][0]["kind"], "route-leak");
    assert_eq!(s["ours"], serde_json::json!([]));
    let text = s.to_string();
    assert!(
        !text.contains("ocn") && !text.contains("iij"),
        "no names for a bystander: {text}"
    );
    let (status, _) = api(
        port,
        "GET",
        "/api/v1/situation?asn=2516",
        Some(tokens.of("ocn")),
        None,
    );
    assert_eq!(status, 403, "a member asks about its own ASNs only");
    for (q, field) in [
        ("", "asn"),
        ("asn=x", "asn"),
        ("asn=4713&since=x", "since"),
        ("asn=4713&who=1", "who"),
    ] {
        let (status, body) = api(
            port,
            "GET",
            &format!("/api/v1/situation?{q}"),
            Some(tokens.of("analyst")),
            None,
        );
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (400, Some(field)),
            "{q}: {body}"
        );
    }
    // Rate limit (50 per second, bursts of 100): a quick run of 300 is cut.
    let limited = (0..300)
        .map(|_| api(port, "GET", "/api/v1/me", Some(tokens.of("rate")), None))
        .filter(|(s, b)| *s == 429 && b["error"]["code"] == "rate_limited")
        .count();
    assert!(limited > 0, "no request was rate limited");
    // Still up.
    let (status, _) = api(port, "GET", "/api/v1/me", admin, None);
    assert_eq!(status, 200);
    2 * 5 // analyst, admin, ocn, iij, google: one read of the incident and one of its history each
}

/// A token revoked (`bugyo token revoke`, another process) is refused
/// within the time the server remembers an authenticated caller.
fn revoked_token_stops_working(port: u16, tokens: &Tokens, store_args: &[&str]) {
    let kddi = tokens.of("kddi");
    let (status, me) = api(port, "GET", "/api/v1/me", Some(kddi), None);
    assert_eq!(status, 200, "{me}");
    let id = me["token"]["id"].as_i64().expect("token id").to_string();
    let mut revoke = vec!["token", "revoke", &id];
    revoke.extend_from_slice(store_args);
    bugyo(&revoke);
    let deadline = std::time::Instant::now() + bugyo_api::CALLER_TTL + Duration::from_secs(2);
    loop {
        let (status, body) = api(port, "GET", "/api/v1/me", Some(kddi), None);
        if status == 401 {
            assert_eq!(body["error"]["code"], "unauthorized", "{body}");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "a revoked token still works after {:?}",
            bugyo_api::CALLER_TTL
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn read_routes_audited(url: &str) -> Vec<(Option<i64>, String)> {
    audit_log(url)
        .into_iter()
        .filter(|e| e.action == "read-routes")
        .map(|e| (e.token_id, e.object))
        .collect()
}

fn run(dir: &Path, store_args: &[&str], url: &str) {
    let as_rel = dir.join("as-rel.txt");
    std::fs::write(&as_rel, AS_REL).unwrap();
    let tokens = populate(dir, &as_rel, store_args);
    // The harness gives serve --data-dir DIR/data: the SQLite store there.
    // Its own BGP port: the two backends' runs overlap.
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    let mut extra: Vec<String> = vec!["--api-rate".into(), "50".into(), "--bgp-listen".into(), bgp];
    extra.extend(common::serve::store_flags(store_args));
    let mut serve = Serve::start_with(dir, &as_rel, &extra);
    serve.metrics();
    let reads = walk(serve.http_port, &tokens);
    revoked_token_stops_working(serve.http_port, &tokens, store_args);
    serve.stop();
    let audited = read_routes_audited(url);
    assert_eq!(audited.len() as i64, reads, "{audited:?}");
}

#[test]
fn sqlite() {
    on_sqlite("api", run);
}

#[test]
fn postgres() {
    on_postgres("api", run);
}
