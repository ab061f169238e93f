//! `bugyo serve` crashed and restarted while a leak is open and a notice is
//! owed, on both backends (an SQLite file and a PostgreSQL server), with a
//! real router (Debian's gobgpd) carrying the leak and a real SMTP server
//! (Debian's exim4) receiving the notices:
//!
//! - the victim's notice, queued while the mail relay was down, survives a
//!   SIGKILL and is sent after the restart, once;
//! - the leak, still announced when the router reconnects, goes on as the
//!   same incident through a SIGKILL and a SIGTERM: no second incident, no
//!   second "opened" notice;
//! - when the leak ends, the incident resolves and the victim is told once.

mod common;

use bugyo_testdata::gobgp::{free_port, gobgpd, Gobgpd, WAIT};
use bugyo_testdata::postgres::Postgres;
use bugyo_testdata::smtp::Smtp;
use bugyo_testdata::wait_until;
use common::serve::{add_leak, metric, wait_leak, Serve};
use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

/// The quiet period: long enough for gobgpd to reconnect after a restart
/// before an incident whose routes have not come back resolves.
const QUIET_SECS: u64 = 20;

#[test]
fn sqlite() {
    let dir = scratch("serve-restart-notices-sqlite");
    let store = vec![
        "--data-dir".to_string(),
        dir.join("data").display().to_string(),
    ];
    incidents_and_notices_survive_restarts(&dir, &store);
}

#[test]
fn postgres() {
    let dir = scratch("serve-restart-notices-postgres");
    let pg = Postgres::start();
    let store = vec!["--database".to_string(), pg.url()];
    incidents_and_notices_survive_restarts(&dir, &store);
}

/// The leaks in the store, through `bugyo`'s own store API.
fn stored_leaks(store: &[String]) -> Vec<bugyo_store::StoredIncident> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = match store[0].as_str() {
            "--database" => bugyo_store::Store::open(&store[1]).await,
            _ => bugyo_store::Store::open_data_dir(Path::new(&store[1])).await,
        }
        .expect("open the store");
        let all = s
            .incidents(&bugyo_store::IncidentFilter {
                kind: Some("route-leak".into()),
                ..Default::default()
            })
            .await
            .expect("list");
        s.close().await;
        all
    })
}

/// The `Message-ID`s of the mails received.
fn message_ids(mails: &[String]) -> BTreeSet<String> {
    mails
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(|l| l[11..].trim().to_string())
        })
        .collect()
}

/// `bugyo serve` with gobgpd (AS2497) as its peer on `port`, mail through
/// `smtp_port`, the store `store`.
fn start(dir: &Path, port: u16, smtp_port: u16, store: &[String]) -> Serve {
    let mut args: Vec<String> = [
        "--bgp-listen",
        &format!("127.0.0.1:{port}"),
        "--peer",
        "2497@127.0.0.1",
        "--quiet-secs",
        &QUIET_SECS.to_string(),
        "--smtp",
        &format!("127.0.0.1:{smtp_port}"),
        "--retry-secs",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // `Serve` gives the data directory; a database replaces its store.
    if store[0] == "--database" {
        args.extend_from_slice(store);
    }
    Serve::start(dir, &args)
}

/// Waits until gobgpd's session is up and the leaked route is in the RIB.
fn wait_leak_route(serve: &mut Serve) {
    serve.wait_metrics(WAIT * 2, "the session and the leaked route", |m| {
        metric(m, "bugyo_bgp_session_up{peer=\"AS2497@127.0.0.1\"}") == Some(1.0)
            && metric(m, "bugyo_rib_routes").unwrap_or(0.0) >= 1.0
    });
}

fn incidents_and_notices_survive_restarts(dir: &Path, store: &[String]) {
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
    ];
    org.extend(store.iter().map(String::as_str));
    bugyo(&org);
    let port = free_port();

    // 1. The mail relay is down (nothing listens on its port): the notice
    // of the leak is decided, fails, and waits.
    let dead = free_port();
    let mut serve = start(dir, port, dead, store);
    let g: Gobgpd = gobgpd(dir, 2497, 65535, port, None);
    add_leak(&g, "60.1.2.0/24");
    let opened = wait_leak(&serve, "60.1.2.0/24");
    assert_eq!(opened["culprit_asn"], 15169);
    wait_until(
        WAIT,
        || serve.log().contains("notice not delivered").then_some(()),
        || format!("no failed delivery\n{}", serve.log()),
    );
    serve.assert_running();

    // 2. A crash with the notice queued; the relay comes back; a restart.
    serve.child.kill().unwrap();
    serve.child.wait().unwrap();
    let smtp = Smtp::start();
    let mut serve = start(dir, port, smtp.port(), store);
    let mails = smtp.wait_for(1, WAIT);
    assert_eq!(mails.len(), 1, "the queued notice, once");
    // The router sends the leak again: it joins the incident taken over.
    wait_leak_route(&mut serve);
    std::thread::sleep(Duration::from_secs(3));
    let leaks = stored_leaks(store);
    assert_eq!(leaks.len(), 1, "the same incident goes on: {leaks:#?}");
    assert_eq!(leaks[0].status, "open");

    // 3. Another crash, and a clean stop and start: still one incident,
    // still one message.
    for crash in [true, false] {
        if crash {
            serve.child.kill().unwrap();
            serve.child.wait().unwrap();
        } else {
            serve.stop();
        }
        serve = start(dir, port, smtp.port(), store);
        wait_leak_route(&mut serve);
        std::thread::sleep(Duration::from_secs(3));
        let leaks = stored_leaks(store);
        assert_eq!(leaks.len(), 1, "after a restart: {leaks:#?}");
        assert_eq!(leaks[0].status, "open");
        assert_eq!(smtp.messages().len(), 1, "nothing sent twice");
    }

    // 4. The leak ends: the incident resolves after the quiet period and
    // the victim is told, once.
    g.cli(&["global", "rib", "del", "-a", "ipv4", "60.1.2.0/24"]);
    let mails = smtp.wait_for(2, WAIT + Duration::from_secs(QUIET_SECS));
    let leaks = stored_leaks(store);
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    assert_eq!(leaks[0].status, "resolved");
    std::thread::sleep(Duration::from_secs(3));
    let mails_after = smtp.messages();
    assert_eq!(mails_after.len(), 2, "opened and resolved, each once");
    assert_eq!(message_ids(&mails).len(), 2, "two distinct messages");
    serve.stop();
    drop(g);
    let _ = std::fs::remove_dir_all(dir);
}
