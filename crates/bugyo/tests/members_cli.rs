//! `bugyo org`, `bugyo user` and `bugyo token` on both backends:
//! organisations are registered, listed and shown; bad fields and taken
//! handles are refused with a message naming them and nothing stored; a
//! token is printed once and only its hash is kept; a user's token dies
//! with the user; every change is in the audit log.

mod common;

use common::*;

/// The whole walk against one store (`--data-dir` or `--database`);
/// returns the secret of the member token created.
fn walk(store: &[&str]) -> String {
    let with = |args: &[&str]| -> Vec<String> {
        args.iter().chain(store).map(|s| s.to_string()).collect()
    };
    let run = |args: &[&str]| {
        let a = with(args);
        bugyo(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let fails = |args: &[&str], field: &str| {
        let a = with(args);
        let (ok, _, err) = try_bugyo(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(!ok, "{args:?} must fail");
        assert!(
            err.contains(field),
            "{args:?}: the message names {field}: {err}"
        );
    };
    run(&[
        "org",
        "add",
        "--handle",
        "ocn",
        "--name",
        "NTT OCN",
        "--asn",
        "4713",
        "--prefix",
        "153.128.0.0/10",
        "--email",
        "noc@ocn.example",
        "--webhook",
        "https://hooks.example/ocn",
        "--webhook-secret",
        "k3y",
    ]);
    run(&[
        "org",
        "add",
        "--handle",
        "iij",
        "--name",
        "IIJ",
        "--language",
        "en",
        "--asn",
        "2497",
    ]);
    fails(
        &["org", "add", "--handle", "ocn", "--name", "again"],
        "already registered",
    );
    fails(
        &[
            "org",
            "add",
            "--handle",
            "x'; DROP TABLE orgs;--",
            "--name",
            "x",
        ],
        "handle",
    );
    fails(
        &[
            "org",
            "add",
            "--handle",
            "x",
            "--name",
            "x",
            "--language",
            "fr",
        ],
        "language",
    );
    fails(
        &[
            "org", "add", "--handle", "x", "--name", "x", "--email", "nobody",
        ],
        "contacts",
    );
    fails(
        &[
            "org",
            "add",
            "--handle",
            "x",
            "--name",
            "x",
            "--prefix",
            "10.0.0.0/33",
        ],
        "prefix",
    );
    // The regulator: told of every incident from "high" on, by default.
    run(&[
        "org",
        "add",
        "--handle",
        "soumu",
        "--name",
        "MIC",
        "--kind",
        "regulator",
        "--email",
        "report@soumu.example",
    ]);
    fails(
        &[
            "org", "add", "--handle", "y", "--name", "y", "--kind", "emperor",
        ],
        "member, hub, regulator",
    );
    fails(
        &[
            "org",
            "add",
            "--handle",
            "y",
            "--name",
            "y",
            "--notify-min-severity",
            "urgent",
        ],
        "info, low, medium, high, critical",
    );
    let (out, _) = run(&["org", "list", "--json"]);
    let orgs = json_lines(&out);
    let handles: Vec<&str> = orgs.iter().map(|o| o["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["iij", "ocn", "soumu"]);
    assert_eq!(orgs[1]["kind"], "member");
    assert_eq!(orgs[1]["notify_min_severity"], "info");
    assert_eq!(orgs[2]["kind"], "regulator");
    assert_eq!(orgs[2]["notify_min_severity"], "high");
    let (out, _) = run(&["org", "show", "ocn", "--json"]);
    let ocn = &json_lines(&out)[0];
    assert_eq!(ocn["asns"], serde_json::json!([4713]));
    assert_eq!(ocn["prefixes"], serde_json::json!(["153.128.0.0/10"]));
    assert_eq!(ocn["contacts"][1]["kind"], "webhook");
    assert!(!out.contains("k3y"), "a webhook key is never shown: {out}");
    fails(&["org", "show", "nobody"], "no such organisation");

    let (secret, err) = run(&[
        "token", "create", "--org", "ocn", "--role", "member", "--label", "noc",
    ]);
    let secret = secret.trim().to_string();
    assert!(
        secret.starts_with("bugyo_") && secret.len() == 70,
        "{secret}"
    );
    assert!(err.contains("shown only now"), "{err}");
    let (analyst, _) = run(&["token", "create", "--role", "analyst"]);
    assert_ne!(analyst.trim(), secret);
    fails(&["token", "create", "--role", "member"], "organisation");
    fails(&["token", "create", "--role", "emperor"], "member, analyst");
    fails(
        &["token", "create", "--org", "nobody", "--role", "member"],
        "no such organisation",
    );
    run(&["token", "revoke", "2"]);
    fails(&["token", "revoke", "2"], "already revoked");

    // People: a user's token speaks for the user's organisation and role,
    // and dies with the user.
    let (out, _) = run(&[
        "user",
        "add",
        "--name",
        "山田 太郎",
        "--role",
        "member",
        "--org",
        "ocn",
        "--email",
        "taro@ocn.example",
    ]);
    assert!(out.contains("山田 太郎 [member]"), "{out}");
    fails(&["user", "add", "--name", "x", "--role", "member"], "org");
    fails(
        &[
            "user", "add", "--name", "x", "--role", "analyst", "--email", "x",
        ],
        "email",
    );
    fails(
        &["token", "create", "--user", "1", "--role", "admin"],
        "--role",
    );
    let (user_secret, _) = run(&["token", "create", "--user", "1", "--label", "taro"]);
    assert!(user_secret.trim().starts_with("bugyo_"));
    let (out, _) = run(&["user", "disable", "1"]);
    assert!(out.contains("1 tokens revoked"), "{out}");
    fails(&["user", "disable", "1"], "already disabled");
    fails(&["token", "create", "--user", "1"], "no active user");
    let (out, _) = run(&["user", "list", "--org", "ocn", "--json"]);
    let users = json_lines(&out);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["role"], "member");
    assert!(users[0]["disabled_at"].is_i64(), "{out}");
    secret
}

/// The actions in the audit log.
fn audit_actions(url: &str) -> Vec<String> {
    audit_log(url).into_iter().map(|e| e.action).collect()
}

const ACTIONS: [&str; 9] = [
    "org-add",
    "org-add",
    "org-add",
    "token-create",
    "token-create",
    "token-revoke",
    "user-add",
    "token-create",
    "user-disable",
];

#[test]
fn sqlite() {
    let dir = scratch("members-cli");
    let secret = walk(&["--data-dir", dir.to_str().unwrap()]);
    let db = std::fs::read(dir.join(bugyo_store::SQLITE_FILE)).expect("the store file");
    let wal =
        std::fs::read(dir.join(format!("{}-wal", bugyo_store::SQLITE_FILE))).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the token's secret must not be stored"
        );
    }
    assert_eq!(audit_actions(&bugyo_store::sqlite_url(&dir)), ACTIONS);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres() {
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    let secret = walk(&["--database", &url]);
    let hashes = pg.psql("SELECT hash FROM api_tokens ORDER BY id");
    assert!(
        !hashes.contains(&secret),
        "the token's secret must not be stored"
    );
    assert_eq!(hashes.lines().count(), 3);
    assert_eq!(audit_actions(&url), ACTIONS);
}
