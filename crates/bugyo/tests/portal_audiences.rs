//! The portal keeps the store's audience rules on every page, on both
//! backends, over plain HTTP (no browser): who is not signed in is sent to
//! sign in (but for the public status page); a member unconcerned by the
//! leak sees no prefix and no AS path of it, nor another member's unshared
//! report, nor an advisory not addressed to it, nor the regulator's pages;
//! the victim sees its own prefixes; the regulator sees counts, not routes;
//! the hub sees everything. Every page that showed raw routes wrote a
//! `read-routes` entry for its reader, every regulator read of an unshared
//! report a `read-report` entry. A form posted from another site is
//! refused and stores nothing, and only reports marked for the public are
//! public.

mod common;

use common::portal::{populate, replay_leak};
use common::serve::{api, http_raw, Serve};
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A page as the holder of `session` (the portal's cookie); (status,
/// headers and body).
fn page(port: u16, path: &str, session: Option<&str>) -> (u16, String) {
    let cookie = session.map_or(String::new(), |t| format!("Cookie: bugyo_session={t}\r\n"));
    let resp = http_raw(
        port,
        &format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Connection: close\r\n\r\n"
        ),
    );
    let status = resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, resp)
}

fn post(port: u16, path: &str, session: &str, origin: &str, form: &str) -> (u16, String) {
    let resp = http_raw(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: bugyo_session={session}\r\nOrigin: {origin}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    let status = resp.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, resp)
}

/// Signs in with `token` as a browser would; gives the session cookie's
/// value, which is not the token.
fn sign_in(port: u16, token: &str) -> String {
    let (s, r) = post(
        port,
        "/login",
        "",
        &format!("http://127.0.0.1:{port}"),
        &format!("token={token}&next=%2F"),
    );
    assert_eq!(s, 303, "{r}");
    let cookie = r
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: bugyo_session="))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("a session cookie: {r}"))
        .to_string();
    assert!(
        !cookie.contains(token) && cookie.starts_with("bugyosession_"),
        "{cookie}"
    );
    assert!(
        r.contains("HttpOnly") && r.contains("SameSite=Strict"),
        "{r}"
    );
    cookie
}

const PREFIX: &str = "60.0.1.0/24";
const PATH: &str = "2497 701 15169 4713";

fn walk(port: u16, t: &BTreeMap<&'static str, String>, incident: i64) {
    let tok = |w: &str| Some(t[w].as_str());
    let sessions: BTreeMap<&str, String> = ["ocn", "kddi", "regulator", "analyst"]
        .into_iter()
        .map(|w| (w, sign_in(port, &t[w])))
        .collect();
    let se = |w: &str| Some(sessions[w].as_str());
    // Reports: OCN's, unshared; and a public one of OCN's.
    let (s, unshared) = api(
        port,
        "POST",
        "/api/v1/reports",
        tok("ocn"),
        Some(
            r#"{"occurred_at": "2017-08-25T12:22:00+09:00", "situation": "社内向け: 原因調査中"}"#,
        ),
    );
    assert_eq!(s, 201, "{unshared}");
    let unshared = unshared["id"].as_i64().unwrap();
    let (s, public) = api(
        port,
        "POST",
        "/api/v1/reports",
        tok("ocn"),
        Some(
            r#"{"occurred_at": "2017-08-25T12:22:00+09:00", "situation": "一部で接続不安定", "share_public": true, "public_summary_en": "Unstable access for some customers"}"#,
        ),
    );
    assert_eq!(s, 201, "{public}");
    let public = public["id"].as_i64().unwrap();
    let (s, adv) = api(
        port,
        "POST",
        "/api/v1/advisories",
        tok("regulator"),
        Some(
            r#"{"title_ja": "注意", "title_en": "Note", "body_ja": "本文", "body_en": "Text", "orgs": ["ocn"]}"#,
        ),
    );
    assert_eq!(s, 201, "{adv}");
    let adv = adv["id"].as_i64().unwrap();

    let inc = format!("/incidents/{incident}");
    // Not signed in: to the sign-in page, except the public pages.
    for p in [
        "/",
        "/reports",
        inc.as_str(),
        "/picture",
        "/statistics",
        "/advisories",
        "/reports/new",
    ] {
        let (s, r) = page(port, p, None);
        assert_eq!(s, 303, "{p}: {r}");
        assert!(r.contains("location: /login?next="), "{p}: {r}");
    }
    let (s, r) = page(port, "/status", None);
    assert_eq!(s, 200);
    assert!(
        r.contains(&format!("/status/reports/{public}")),
        "the public report is listed"
    );
    assert!(
        !r.contains(&format!("/status/reports/{unshared}\"")),
        "the unshared one is not"
    );
    assert_eq!(
        page(port, &format!("/status/reports/{unshared}"), None).0,
        404
    );
    let (_, feed) = page(port, "/status/feed.atom?lang=en", None);
    assert!(
        feed.contains("Unstable access") && !feed.contains("原因調査中"),
        "{feed}"
    );

    // A member unconcerned by the leak.
    let (s, r) = page(port, &inc, se("kddi"));
    assert_eq!(s, 200, "{r}");
    assert!(
        !r.contains(PREFIX) && !r.contains(PATH),
        "kddi sees no routes: {r}"
    );
    assert!(r.contains("TLP:GREEN"), "a summary for the community");
    assert_eq!(
        page(port, &format!("/reports/{unshared}"), se("kddi")).0,
        404
    );
    assert_eq!(
        page(port, &format!("/reports/{unshared}/amend"), se("kddi")).0,
        404
    );
    let (_, list) = page(port, "/reports", se("kddi"));
    assert!(
        !list.contains(&format!("href=\"/reports/{unshared}\"")),
        "{list}"
    );
    assert_eq!(page(port, &format!("/advisories/{adv}"), se("kddi")).0, 404);
    for p in [
        "/picture",
        "/statistics",
        "/statistics.csv?period=FY2017",
        "/advisories/new",
    ] {
        assert_eq!(page(port, p, se("kddi")).0, 403, "{p}");
    }
    // The victim: its own prefixes and the routes to them.
    let (_, r) = page(port, &inc, se("ocn"));
    assert!(
        r.contains(PREFIX) && r.contains(PATH),
        "ocn sees its own: {r}"
    );
    assert!(r.contains("TLP:AMBER+STRICT"));
    let (_, r) = page(port, "/?lang=en", se("ocn"));
    assert!(r.contains("Note"), "the advisory on the dashboard: {r}");
    // The live RIB (no peer feeds this server) answers for OCN's prefix.
    assert!(
        r.contains("60.0.0.0/16") && r.contains("Not seen by any peer"),
        "the prefix's state now: {r}"
    );
    assert!(
        r.contains("AS4713@127.0.0.9"),
        "OCN's own session in feed health: {r}"
    );
    let (_, r) = page(port, "/", se("kddi"));
    assert!(
        !r.contains("127.0.0.9"),
        "not another member's session: {r}"
    );
    // Every page is script-free.
    for p in ["/", inc.as_str(), "/reports", "/status", "/reports/new"] {
        let (_, r) = page(port, p, se("ocn"));
        assert!(!r.contains("<script"), "{p} has no script");
    }
    // The regulator: counts and the whole picture, no routes.
    let (_, r) = page(port, &inc, se("regulator"));
    assert!(
        !r.contains(PREFIX) && !r.contains(PATH),
        "the regulator sees no routes: {r}"
    );
    assert!(r.contains("TLP:AMBER<"), "{r}");
    assert_eq!(
        page(port, &format!("/reports/{unshared}"), se("regulator")).0,
        200
    );
    assert_eq!(
        page(
            port,
            "/picture?since=2017-08-20&until=2017-08-31",
            se("regulator")
        )
        .0,
        200
    );
    let (s, csv) = page(port, "/statistics.csv?period=FY2017", se("regulator"));
    assert_eq!(s, 200, "{csv}");
    assert!(csv.contains("text/csv"), "{csv}");
    let (s, r) = page(port, "/statistics?period=FY20x7", se("regulator"));
    assert_eq!(s, 400, "{r}");
    assert!(r.contains("FY20x7"), "the bad value is named");
    // The hub: everything.
    let (_, r) = page(port, &inc, se("analyst"));
    assert!(
        r.contains(PREFIX) && r.contains(PATH),
        "the hub sees all: {r}"
    );
    assert!(
        r.contains("AS2497@192.0.2.1"),
        "per peer timeline for the hub: {r}"
    );
    // Bad ids are errors, not panics.
    for p in [
        "/incidents/0",
        "/incidents/x",
        "/reports/-1",
        "/advisories/99999",
    ] {
        let (s, _) = page(port, p, se("analyst"));
        assert!(s == 400 || s == 404, "{p}: {s}");
    }
    // A form posted from another site is refused; nothing is stored.
    let before = api(port, "GET", "/api/v1/reports", tok("ocn"), None).1["items"]
        .as_array()
        .map_or(0, Vec::len);
    let form = "occurred_at=2017-08-25T12%3A22&situation=forged";
    assert_eq!(
        post(
            port,
            "/reports/new",
            &sessions["ocn"],
            "http://evil.example",
            form
        )
        .0,
        403
    );
    let after = api(port, "GET", "/api/v1/reports", tok("ocn"), None).1["items"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(before, after, "a forged post stores nothing");
    // The same post from our own page files the report.
    let (s, r) = post(
        port,
        "/reports/new",
        &sessions["ocn"],
        &format!("http://127.0.0.1:{port}"),
        form,
    );
    assert_eq!(s, 303, "{r}");

    // The browser holds a session, never the token: a token as the cookie
    // opens nothing, nor does a wrong token sign in.
    let (s, r) = page(port, "/", tok("ocn"));
    assert_eq!(s, 303, "a token is no session: {r}");
    let (s, r) = post(
        port,
        "/login",
        "",
        &format!("http://127.0.0.1:{port}"),
        "token=bugyo_nonsense",
    );
    assert_eq!(s, 401, "{r}");
    assert!(
        r.contains("id=\"token-error\""),
        "the message by its field: {r}"
    );
    // ... and a session is no API token.
    let (s, _) = api(port, "GET", "/api/v1/me", se("ocn"), None);
    assert_eq!(s, 401, "a session opens no API");
    // Signing out ends the session in the store, at once.
    let (s, _) = post(
        port,
        "/logout",
        &sessions["kddi"],
        &format!("http://127.0.0.1:{port}"),
        "",
    );
    assert_eq!(s, 303);
    let (s, _) = page(port, "/", se("kddi"));
    assert_eq!(s, 303, "an ended session is refused");
    assert_eq!(page(port, "/", se("ocn")).0, 200, "other sessions go on");
}

fn run(dir: &Path, store: &[&str], url: &str) {
    replay_leak(dir, store);
    let tokens = populate(store);
    let incident = read_store(url, async |s| {
        s.incidents(&bugyo_store::IncidentFilter::default())
            .await
            .unwrap()
    });
    let leak = incident
        .iter()
        .find(|i| i.kind == "route-leak")
        .unwrap_or_else(|| panic!("a leak: {incident:?}"))
        .id;
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    // OCN's router, configured but never connecting: OCN sees its own
    // session on the dashboard.
    let mut extra: Vec<String> = vec![
        "--bgp-listen".into(),
        bgp,
        "--peer".into(),
        "4713@127.0.0.9".into(),
    ];
    extra.extend(common::serve::store_flags(store));
    let mut serve = Serve::start(dir, &extra);
    serve.metrics();
    walk(serve.http_port, &tokens, leak);
    serve.stop();
    // Reads of raw routes are audited for those who saw them, only.
    let log = audit_log(url);
    let users = read_store(url, async |s| s.users(None).await.unwrap());
    let org_of = |name: &str| users.iter().find(|u| u.name == name).and_then(|u| u.org_id);
    let routes: Vec<Option<i64>> = log
        .iter()
        .filter(|e| e.action == "read-routes")
        .map(|e| e.org_id)
        .collect();
    assert!(
        routes.contains(&org_of("ocn")),
        "the victim's read: {routes:?}"
    );
    assert!(
        routes.contains(&org_of("analyst")),
        "the hub's read: {routes:?}"
    );
    assert!(!routes.contains(&org_of("kddi")), "{routes:?}");
    assert!(!routes.contains(&org_of("regulator")), "{routes:?}");
    assert!(
        log.iter()
            .any(|e| e.action == "read-report" && e.org_id == org_of("regulator")),
        "the regulator's read of the unshared report"
    );
}

#[test]
fn sqlite() {
    on_sqlite("portal-audiences", run);
}

#[test]
fn postgres() {
    on_postgres("portal-audiences", run);
}

/// A server with no peer and no BMP listener (a portal that routers join
/// later) keeps its detection loop: the dashboard's questions about the
/// live RIB are answered (nobody carries the member's prefix), not left
/// unanswered because no feed could ever come.
#[test]
fn dashboard_answers_without_feeds() {
    on_sqlite("portal-no-feeds", |dir, store, _| {
        let tokens = populate(store);
        let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
        let mut serve = Serve::start(dir, &["--bgp-listen".into(), bgp]);
        serve.metrics();
        let session = sign_in(serve.http_port, &tokens["ocn"]);
        let (status, body) = page(serve.http_port, "/?lang=en", Some(&session));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("60.0.0.0/16"), "{body}");
        assert!(body.contains("Not seen by any peer"), "{body}");
        assert!(!body.contains("did not answer"), "{body}");
        serve.assert_running();
        serve.stop();
    });
}

/// The deadlines page's withdrawal form: a blank reason comes back with
/// its message and stores nothing; a post from another site is refused.
#[test]
fn withdrawing_a_filing_needs_a_reason() {
    on_sqlite("portal-withdraw", |dir, store, url| {
        let tokens = populate(store);
        let mut a = vec![
            "report",
            "quarterly",
            "--org",
            "ocn",
            "--quarter",
            "FY2017Q2",
        ];
        a.extend_from_slice(store);
        bugyo(&a);
        let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
        let mut serve = Serve::start(dir, &["--bgp-listen".into(), bgp]);
        serve.metrics();
        let port = serve.http_port;
        let session = sign_in(port, &tokens["ocn"]);
        let here = format!("http://127.0.0.1:{port}");
        let form = "quarter=FY2017Q2&reason=+";
        let (status, body) = post(port, "/deadlines/quarterly/withdraw", &session, &here, form);
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("reason"), "{body}");
        let (status, _) = post(
            port,
            "/deadlines/quarterly/withdraw",
            &session,
            "http://evil.example",
            "quarter=FY2017Q2&reason=x",
        );
        assert_eq!(status, 403);
        let withdrawn = read_store(url, async |s| s.quarterly_withdrawals(None).await.unwrap());
        assert!(withdrawn.is_empty(), "{withdrawn:?}");
        let (status, body) = post(
            port,
            "/deadlines/quarterly/withdraw",
            &session,
            &here,
            "quarter=FY2017Q2&reason=%E8%AA%A4%E3%82%8A",
        );
        assert_eq!(status, 303, "{body}");
        let (_, page_now) = page(port, "/deadlines", Some(&session));
        assert!(page_now.contains("quarterly-withdrawn") && page_now.contains("誤り"));
        serve.assert_running();
        serve.stop();
    });
}

/// Signing in with an e-mail address and a password set by
/// `bugyo user password`: a short password is refused naming the field;
/// a wrong password comes back with its message by the password field
/// (audited as sign-in-refused), the right one opens a session that shows
/// the person's organisation; the fifth wrong one in a row locks the
/// account, even against the right password (audited as sign-in-locked).
#[test]
fn password_sign_in() {
    on_sqlite("portal-password", |dir, store, url| {
        populate(store);
        let run = |a: &[&str]| {
            let v: Vec<&str> = a.iter().chain(store.iter()).copied().collect();
            bugyo(&v).0
        };
        let out = run(&[
            "user",
            "add",
            "--name",
            "alice",
            "--role",
            "member",
            "--org",
            "ocn",
            "--email",
            "alice@ocn.example",
        ]);
        let id = common::portal::user_id(&out);
        let mut set = vec!["user", "password", id.as_str()];
        set.extend_from_slice(store);
        let (ok, _, err) = try_bugyo_input("short\n", &set);
        assert!(!ok && err.contains("password"), "{err}");
        let (ok, out, err) = try_bugyo_input("correct horse battery staple\n", &set);
        assert!(ok, "{err}");
        assert!(out.contains("password set"), "{out}");

        let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
        let mut serve = Serve::start(dir, &["--bgp-listen".into(), bgp]);
        serve.metrics();
        let port = serve.http_port;
        let here = format!("http://127.0.0.1:{port}");
        let login = |email: &str, password: &str| {
            post(
                port,
                "/login?lang=en",
                "",
                &here,
                &format!("email={email}&password={password}&next=%2F"),
            )
        };
        let (status, body) = login("alice%40ocn.example", "wrong+guess+number");
        assert_eq!(status, 401, "{body}");
        assert!(
            body.contains("id=\"password-error\"") && body.contains("aria-invalid=\"true\""),
            "{body}"
        );
        let (status, resp) = login("ALICE%40ocn.example", "correct+horse+battery+staple");
        assert_eq!(status, 303, "{resp}");
        let cookie = resp
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: bugyo_session="))
            .and_then(|v| v.split(';').next())
            .unwrap_or_else(|| panic!("a session cookie: {resp}"))
            .to_string();
        let (status, dash) = page(port, "/?lang=en", Some(&cookie));
        assert_eq!(status, 200, "{dash}");
        assert!(
            dash.contains("NTT Communications") || dash.contains("ocn"),
            "{dash}"
        );
        // Alice changes her password on /account: messages by the field,
        // nothing changed until all are right.
        let (status, acct) = page(port, "/account?lang=en", Some(&cookie));
        assert_eq!(status, 200, "{acct}");
        assert!(acct.contains("alice@ocn.example"), "{acct}");
        let change = |form: &str| post(port, "/account/password?lang=en", &cookie, &here, form);
        for (form, field) in [
            (
                "current_password=correct+horse+battery+staple&new_password=a+brand+new+passphrase&new_password_again=a+brand+new+passphrase+2",
                "new_password_again",
            ),
            (
                "current_password=wrong+guess+number&new_password=a+brand+new+passphrase&new_password_again=a+brand+new+passphrase",
                "current_password",
            ),
            (
                "current_password=correct+horse+battery+staple&new_password=short&new_password_again=short",
                "new_password",
            ),
        ] {
            let (status, body) = change(form);
            assert_eq!(status, 422, "{field}: {body}");
            assert!(body.contains(&format!("id=\"{field}-error\"")), "{field}: {body}");
        }
        let (status, body) = change(
            "current_password=correct+horse+battery+staple&new_password=a+brand+new+passphrase&new_password_again=a+brand+new+passphrase",
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("id=\"changed\""), "{body}");
        let (status, _) = login("alice%40ocn.example", "correct+horse+battery+staple");
        assert_eq!(status, 401, "the old password");
        let (status, _) = login("alice%40ocn.example", "a+brand+new+passphrase");
        assert_eq!(status, 303, "the new password");
        // Four more wrong ones (five in a row) lock the account.
        for _ in 0..4 {
            login("alice%40ocn.example", "wrong+guess+number");
        }
        let (status, body) = login("alice%40ocn.example", "wrong+guess+number");
        assert_eq!(status, 429, "{body}");
        assert!(body.contains("locked until"), "{body}");
        let (status, _) = login("alice%40ocn.example", "a+brand+new+passphrase");
        assert_eq!(status, 429, "locked even against the right password");
        serve.stop();

        let log = audit_log(url);
        let count = |action: &str| log.iter().filter(|e| e.action == action).count();
        assert_eq!(count("sign-in-refused"), 6, "{log:?}");
        assert_eq!(count("sign-in-locked"), 2);
        assert_eq!(count("password-change-refused"), 1);
        assert_eq!(
            count("user-password"),
            6,
            "populate's four, alice's and her change"
        );
        assert!(log.iter().any(|e| e.action == "session-open"));
    });
}
