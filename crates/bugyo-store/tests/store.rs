//! The store's behaviour, run case by case on both backends: an SQLite file
//! and a throwaway PostgreSQL server (a fresh database per case).
//!
//! Incidents come from the real detection engine on a small 2017-style leak,
//! so what is stored is what `bugyo serve` and `bugyo replay` would store.

use bugyo_detect::{Engine, EngineConfig, Incident, Reference, Severity};
use bugyo_model::{AsLink, AsPath, Asn, PathAttributes, Peer, Prefix, Relationship, Timestamp};
use bugyo_state::AsGraph;
use bugyo_store::{
    AuditEntry, Contact, ContactKind, IncidentFilter, NewOrg, NewUser, OrgKind, Role, Store,
    StoreError,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type Case = (&'static str, fn(Store) -> Pin<Box<dyn Future<Output = ()>>>);

/// Every case, each on a fresh store.
const CASES: &[Case] = &[
    ("incident versions and history", |s| {
        Box::pin(incident_versions(s))
    }),
    ("incident filters and pages", |s| {
        Box::pin(incident_filters(s))
    }),
    ("organisations", |s| Box::pin(organisations(s))),
    ("tokens", |s| Box::pin(tokens(s))),
    ("portal sessions", |s| Box::pin(portal_sessions(s))),
    ("audit log", |s| Box::pin(audit_log(s))),
    ("audiences", |s| Box::pin(audiences(s))),
    ("users", |s| Box::pin(users(s))),
    ("open incidents for a restart", |s| {
        Box::pin(open_incidents_for_a_restart(s))
    }),
    ("outage reports and their versions", |s| {
        Box::pin(outage_reports(s))
    }),
    ("outage reports refuse bad input", |s| {
        Box::pin(outage_reports_bad_input(s))
    }),
    ("who sees an outage report", |s| {
        Box::pin(outage_report_audiences(s))
    }),
    ("report statistics", |s| Box::pin(report_statistics(s))),
    ("whole picture", |s| Box::pin(whole_picture(s))),
    ("public summaries of an outage report", |s| {
        Box::pin(report_public_summaries(s))
    }),
    ("advisories", |s| Box::pin(advisories(s))),
    ("quarterly reports filed and owed", |s| {
        Box::pin(quarterly_reports(s))
    }),
    ("portal passwords", |s| Box::pin(portal_passwords(s))),
];

#[tokio::test]
async fn sqlite() {
    for (name, case) in CASES {
        let dir = bugyo_testdata::scratch(&format!("store-{}", name.replace(' ', "-")));
        eprintln!("sqlite: {name}");
        let store = Store::open_data_dir(&dir).await.expect("open");
        case(store.clone()).await;
        store.close().await;
        // What was written is there after reopening (and the schema is not
        // migrated twice).
        let again = Store::open_data_dir(&dir).await.expect("reopen");
        assert!(again.incidents(&IncidentFilter::default()).await.is_ok());
        again.close().await;
    }
}

#[tokio::test]
async fn postgres() {
    let pg = tokio::task::spawn_blocking(bugyo_testdata::postgres::Postgres::start)
        .await
        .expect("start PostgreSQL");
    for (i, (name, case)) in CASES.iter().enumerate() {
        eprintln!("postgres: {name}");
        let db = format!("case{i}");
        pg.psql(&format!("CREATE DATABASE {db}"));
        let url = format!("{}/{db}", pg.url().rsplit_once('/').expect("a URL").0);
        let store = Store::open(&url).await.expect("open");
        case(store.clone()).await;
        store.close().await;
        let again = Store::open(&url).await.expect("reopen");
        assert!(again.incidents(&IncidentFilter::default()).await.is_ok());
        again.close().await;
    }
}

fn attrs(path: &[u32]) -> Arc<PathAttributes> {
    Arc::new(PathAttributes {
        as_path: AsPath::from_sequence(path.iter().copied()),
        ..Default::default()
    })
}

/// A leak in three steps, as the engine reports them: opened with 64
/// prefixes of AS4713 leaked by AS15169 to AS701, grown to 256, then
/// resolved; each state with its event name and time.
fn leak() -> Vec<(Incident, &'static str, Timestamp)> {
    let l = AsLink::new;
    let graph = AsGraph::new([
        l(701, 15169, Relationship::ProviderToCustomer),
        l(701, 2516, Relationship::ProviderToCustomer),
        l(2914, 4713, Relationship::ProviderToCustomer),
        l(701, 2914, Relationship::PeerToPeer),
    ]);
    let mut e = Engine::new(
        Reference {
            graph,
            ..Reference::default()
        },
        EngineConfig::default(),
    );
    let peer = Peer::new(Asn(2516), "192.0.2.2".parse().unwrap());
    let t0 = Timestamp::from_secs(1_503_600_000);
    for i in 0..256u32 {
        let p = Prefix::v4((60 << 24) | (i << 16), 16).unwrap();
        e.load_rib_route(t0, peer, p, 0, &attrs(&[2516, 701, 2914, 4713]));
    }
    let t = Timestamp::from_secs(1_503_631_320);
    let leaked = attrs(&[2516, 701, 15169, 4713]);
    let mut states = Vec::new();
    let snapshot = |e: &mut Engine, states: &mut Vec<_>| {
        for ev in bugyo_detect::incident::coalesce_events(e.drain_events()) {
            let inc = e.incident(ev.id).expect("incident").clone();
            let name = match ev.event {
                bugyo_detect::incident::IncidentEventKind::Opened => "opened",
                bugyo_detect::incident::IncidentEventKind::Updated => "updated",
                bugyo_detect::incident::IncidentEventKind::Resolved => "resolved",
            };
            states.push((inc, name, ev.time));
        }
    };
    for i in 0..256u32 {
        let p = Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap();
        e.announce(t.plus_secs(i64::from(i / 64)), peer, p, 0, &leaked);
        // As the live loop does: the incident's state after each batch.
        if i % 64 == 63 {
            snapshot(&mut e, &mut states);
        }
    }
    let tw = t.plus_secs(480);
    for i in 0..256u32 {
        let p = Prefix::v4((60 << 24) | (i << 16) | (1 << 8), 24).unwrap();
        e.withdraw(tw, peer, p, 0);
    }
    e.advance(tw.plus_secs(301));
    snapshot(&mut e, &mut states);
    states
}

fn body(inc: &Incident) -> serde_json::Value {
    inc.to_json(&|_| None)
}

/// What `bugyo serve` takes over at a restart: the open incidents, in the
/// detector's state of their latest version, with all their prefixes.
async fn open_incidents_for_a_restart(store: Store) {
    let states = leak();
    let (last_open, _, _) = &states[states.len() - 2];
    for (inc, event, time) in &states[..states.len() - 1] {
        store
            .record_incident(inc, event, *time, &body(inc))
            .await
            .expect("record");
    }
    let open = store
        .open_incident_states(Timestamp::from_secs(1_503_600_000))
        .await
        .expect("open states");
    assert_eq!(open.len(), 1);
    let back = &open[0];
    assert_eq!(back.kind, last_open.kind);
    assert_eq!(back.first_seen, last_open.first_seen);
    assert_eq!(back.last_seen, last_open.last_seen);
    assert_eq!(back.culprit, last_open.culprit);
    assert_eq!(back.leaked_to, last_open.leaked_to);
    assert_eq!(back.peers, last_open.peers);
    assert_eq!(back.evidence, last_open.evidence);
    assert_eq!(back.samples, last_open.samples);
    assert_eq!(back.version, last_open.version);
    assert_eq!(
        back.prefixes, last_open.prefixes,
        "every prefix, with its victim"
    );
    assert_eq!(back.prefixes.len(), 256);
    assert_eq!(
        bugyo_store::incidents::natural_key(back),
        bugyo_store::incidents::natural_key(last_open),
        "the same incident in the store"
    );
    // Too old to take over, then resolved: none.
    let later = last_open.last_seen.plus_secs(1);
    assert!(store.open_incident_states(later).await.unwrap().is_empty());
    let (resolved, event, time) = states.last().unwrap();
    store
        .record_incident(resolved, event, *time, &body(resolved))
        .await
        .unwrap();
    assert!(store
        .open_incident_states(Timestamp::from_secs(0))
        .await
        .unwrap()
        .is_empty());
}

async fn incident_versions(store: Store) {
    let states = leak();
    assert!(
        states.len() >= 3,
        "opened, updated, resolved: {}",
        states.len()
    );
    assert_eq!(states[0].1, "opened");
    assert_eq!(states.last().unwrap().1, "resolved");
    let mut id = None;
    for (n, (inc, event, time)) in states.iter().enumerate() {
        let r = store
            .record_incident(inc, event, *time, &body(inc))
            .await
            .expect("record");
        assert!(r.new_version, "{event}");
        assert_eq!(r.version, n as i64 + 1);
        assert_eq!(
            *id.get_or_insert(r.id),
            r.id,
            "one incident across versions"
        );
        // The same content again is not a new version.
        let again = store
            .record_incident(inc, event, *time, &body(inc))
            .await
            .expect("record again");
        assert_eq!(
            (again.id, again.version, again.new_version),
            (r.id, r.version, false)
        );
    }
    let id = id.unwrap();
    let history = store.incident_history(id).await.expect("history");
    assert_eq!(history.len(), states.len());
    for (v, (inc, event, time)) in history.iter().zip(&states) {
        assert_eq!(v.event, *event);
        assert_eq!(v.event_time, time.secs * 1_000_000 + i64::from(time.micros));
        assert_eq!(
            v.body["id"],
            serde_json::json!(id),
            "the store's id in the body"
        );
        assert_eq!(
            v.body["prefix_count"],
            serde_json::json!(inc.prefixes.len())
        );
    }
    assert_eq!(history[0].body["status"], "open");
    let latest = store.incident(id).await.expect("get").expect("stored");
    let last = &states.last().unwrap().0;
    assert_eq!(latest.status, "resolved");
    assert_eq!(latest.kind, "route-leak");
    assert_eq!(latest.culprit_asn, Some(15169));
    assert_eq!(latest.leaked_to_asn, Some(701));
    assert_eq!(latest.prefix_count, last.prefixes.len() as i64);
    assert_eq!(latest.version, states.len() as i64);
    assert!(latest.summary.contains("AS15169"), "{}", latest.summary);
    assert!(!latest.summary_ja.is_empty());
    let asns = store.incident_asns(id).await.expect("asns");
    assert!(
        asns.contains(&(4713, "victim".to_string(), last.prefixes.len() as i64)),
        "{asns:?}"
    );
    assert!(
        asns.contains(&(15169, "culprit".to_string(), 0)),
        "{asns:?}"
    );
    assert!(
        asns.contains(&(2516, "observer".to_string(), 0)),
        "{asns:?}"
    );
    assert!(store.incident(id + 1000).await.expect("get").is_none());
    // A bad event name is refused, naming the field.
    match store
        .record_incident(last, "deleted", states[0].2, &body(last))
        .await
    {
        Err(StoreError::Invalid { field: "event", .. }) => {}
        r => panic!("{r:?}"),
    }
}

async fn incident_filters(store: Store) {
    let states = leak();
    let (inc, event, time) = &states[0];
    let leak_id = store
        .record_incident(inc, event, *time, &body(inc))
        .await
        .expect("record")
        .id;
    let all = |f: IncidentFilter| {
        let store = store.clone();
        async move {
            store
                .incidents(&f)
                .await
                .expect("list")
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<i64>>()
        }
    };
    assert_eq!(all(IncidentFilter::default()).await, vec![leak_id]);
    let f = |g: fn(&mut IncidentFilter)| {
        let mut f = IncidentFilter::default();
        g(&mut f);
        f
    };
    assert_eq!(all(f(|f| f.asn = Some(4713))).await, vec![leak_id]);
    assert_eq!(all(f(|f| f.asn = Some(15169))).await, vec![leak_id]);
    assert!(all(f(|f| f.asn = Some(9999))).await.is_empty());
    assert_eq!(
        all(f(|f| f.kind = Some("route-leak".into()))).await,
        vec![leak_id]
    );
    assert!(all(f(|f| f.kind = Some("hijack".into()))).await.is_empty());
    assert!(all(f(|f| f.kind = Some("x' OR '1'='1".into())))
        .await
        .is_empty());
    assert_eq!(
        all(f(|f| f.status = Some("open".into()))).await,
        vec![leak_id]
    );
    assert!(all(f(|f| f.status = Some("resolved".into())))
        .await
        .is_empty());
    assert_eq!(
        all(f(|f| f.min_severity = Some(Severity::Info))).await,
        vec![leak_id]
    );
    let first_seen = time.secs * 1_000_000;
    assert_eq!(
        all(f(|f| f.since = Some(1_503_631_320_000_000))).await,
        vec![leak_id]
    );
    assert!(all(f(|f| f.until = Some(1_503_631_320_000_000)))
        .await
        .is_empty());
    assert!(first_seen >= 1_503_631_320_000_000);
    assert!(all(f(|f| f.after_id = Some(i64::MAX - 1))).await.is_empty());
    // Prefixes: the leak's /24s are in 60.0.0.0/8, each inside a /16.
    assert_eq!(
        all(f(|f| f.prefix = Some("60.0.0.0/8".parse().unwrap()))).await,
        vec![leak_id]
    );
    assert_eq!(
        all(f(|f| f.prefix = Some("60.0.1.0/24".parse().unwrap()))).await,
        vec![leak_id]
    );
    assert_eq!(
        all(f(|f| f.prefix = Some("60.0.1.128/25".parse().unwrap()))).await,
        vec![leak_id]
    );
    assert!(all(f(|f| f.prefix = Some("60.0.2.0/24".parse().unwrap())))
        .await
        .is_empty());
    assert!(all(f(|f| f.prefix = Some("61.0.0.0/8".parse().unwrap())))
        .await
        .is_empty());
    assert!(
        all(f(|f| f.prefix = Some("2001:db8::/32".parse().unwrap())))
            .await
            .is_empty()
    );
    // Pages: 5 more incidents (each a different culprit), 2 at a time.
    let mut ids = vec![leak_id];
    for k in 1..=5u32 {
        let mut other = inc.clone();
        other.culprit = Some(Asn(64_500 + k));
        ids.push(
            store
                .record_incident(&other, "opened", *time, &body(&other))
                .await
                .expect("record")
                .id,
        );
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .incidents(&IncidentFilter {
                after_id: after,
                limit: Some(2),
                ..Default::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(|i| i.id);
        seen.extend(page.into_iter().map(|i| i.id));
    }
    assert_eq!(seen, ids);
}

fn org(handle: &str, asns: &[u32]) -> NewOrg {
    NewOrg {
        handle: handle.to_string(),
        name: format!("{handle} Inc."),
        language: "ja".to_string(),
        asns: asns.to_vec(),
        prefixes: vec!["203.0.113.0/24".parse().unwrap()],
        contacts: vec![Contact {
            kind: ContactKind::Email,
            address: format!("noc@{handle}.example"),
            role: "noc".to_string(),
            secret: None,
        }],
        ..NewOrg::default()
    }
}

async fn organisations(store: Store) {
    let ocn = store
        .add_org(&org("ocn", &[4713, 4713]))
        .await
        .expect("add");
    assert_eq!(ocn.asns, vec![4713]);
    let kddi = store.add_org(&org("kddi", &[2516])).await.expect("add");
    assert_ne!(ocn.id, kddi.id);
    let err = store
        .add_org(&org("ocn", &[64500]))
        .await
        .expect_err("duplicate");
    assert!(err.is_conflict(), "{err}");
    let listed: Vec<String> = store
        .orgs()
        .await
        .expect("list")
        .into_iter()
        .map(|o| o.handle)
        .collect();
    assert_eq!(listed, vec!["kddi", "ocn"]);
    let got = store.org("ocn").await.expect("get").expect("found");
    assert_eq!(got, ocn);
    assert!(store.org("nobody").await.expect("get").is_none());
    assert_eq!(
        store.orgs_of_asn(2516).await.expect("by asn"),
        vec![kddi.id]
    );
    // The hub and the regulator: told of everything from their floor on.
    assert_eq!(ocn.kind, OrgKind::Member);
    assert_eq!(ocn.notify_min_severity, Severity::Info);
    let soumu = store
        .add_org(&NewOrg {
            kind: OrgKind::Regulator,
            ..org("soumu", &[])
        })
        .await
        .expect("add the regulator");
    let hub = store
        .add_org(&NewOrg {
            kind: OrgKind::Hub,
            notify_min_severity: Some(Severity::Medium),
            ..org("hub", &[])
        })
        .await
        .expect("add the hub");
    assert_eq!(
        store
            .org("soumu")
            .await
            .unwrap()
            .unwrap()
            .notify_min_severity,
        Severity::High,
        "the regulator's default floor"
    );
    assert_eq!(store.org("hub").await.unwrap().unwrap(), hub);
    let r = store.notice_recipients().await.expect("recipients");
    let mut watchers: Vec<i64> = r.watchers().collect();
    watchers.sort_unstable();
    assert_eq!(watchers, vec![soumu.id, hub.id]);
    assert!(r.worth_telling(ocn.id, Severity::Info));
    assert!(!r.worth_telling(soumu.id, Severity::Medium));
    assert!(r.worth_telling(soumu.id, Severity::High));
    assert!(r.worth_telling(hub.id, Severity::Medium));
    assert!(!r.worth_telling(-1, Severity::Critical), "no such org");
    // Every bad field is named, and nothing is stored.
    for (bad, field) in [
        (
            NewOrg {
                handle: "a b".into(),
                ..org("x", &[1])
            },
            "handle",
        ),
        (
            NewOrg {
                handle: "x'; DROP TABLE orgs; --".into(),
                ..org("x", &[1])
            },
            "handle",
        ),
        (
            NewOrg {
                name: " ".into(),
                ..org("x", &[1])
            },
            "name",
        ),
        (
            NewOrg {
                language: "fr".into(),
                ..org("x", &[1])
            },
            "language",
        ),
        (org("x", &[0]), "asns"),
        (
            NewOrg {
                contacts: vec![Contact {
                    kind: ContactKind::Email,
                    address: "not-an-address".into(),
                    role: "noc".into(),
                    secret: None,
                }],
                ..org("x", &[1])
            },
            "contacts",
        ),
        (
            NewOrg {
                contacts: vec![Contact {
                    kind: ContactKind::Webhook,
                    address: "ftp://x".into(),
                    role: "noc".into(),
                    secret: None,
                }],
                ..org("x", &[1])
            },
            "contacts",
        ),
    ] {
        match store.add_org(&bad).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            r => panic!("{bad:?}: {r:?}"),
        }
    }
    assert_eq!(store.orgs().await.expect("list").len(), 4, "nothing more");
}

/// People: registered with a role (and an organisation for members),
/// tokens made for them speak for both, disabling one revokes its tokens.
async fn users(store: Store) {
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add org");
    let taro = store
        .add_user(&NewUser {
            org_id: Some(ocn.id),
            name: "山田 太郎".into(),
            email: Some("taro@ocn.example".into()),
            role: Role::Member,
        })
        .await
        .expect("add a member");
    let hana = store
        .add_user(&NewUser {
            org_id: None,
            name: "Hana".into(),
            email: None,
            role: Role::Analyst,
        })
        .await
        .expect("add an analyst");
    assert_eq!(store.user(taro.id).await.unwrap(), Some(taro.clone()));
    assert_eq!(store.users(Some(ocn.id)).await.unwrap(), vec![taro.clone()]);
    assert_eq!(store.users(None).await.unwrap().len(), 2);
    for (bad, field) in [
        (
            NewUser {
                org_id: None,
                role: Role::Member,
                ..new_user()
            },
            "org",
        ),
        (
            NewUser {
                email: Some("not an address".into()),
                ..new_user()
            },
            "email",
        ),
        (
            NewUser {
                name: " ".into(),
                ..new_user()
            },
            "name",
        ),
        (
            NewUser {
                org_id: Some(9999),
                ..new_user()
            },
            "org",
        ),
    ] {
        match store.add_user(&bad).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{bad:?}"),
            r => panic!("{bad:?}: {r:?}"),
        }
    }
    assert_eq!(store.users(None).await.unwrap().len(), 2, "nothing stored");
    let (token, secret) = store
        .create_user_token(taro.id, "laptop")
        .await
        .expect("token");
    assert_eq!(
        (token.user_id, token.org_id, token.role),
        (Some(taro.id), Some(ocn.id), Role::Member)
    );
    let (analyst_token, analyst_secret) = store.create_user_token(hana.id, "").await.unwrap();
    assert_eq!(analyst_token.role, Role::Analyst);
    assert_eq!(store.authenticate(&secret).await.unwrap(), Some(token));
    assert_eq!(store.disable_user(taro.id).await.unwrap(), Some(1));
    assert_eq!(
        store.authenticate(&secret).await.unwrap(),
        None,
        "revoked with the user"
    );
    assert!(
        store.authenticate(&analyst_secret).await.unwrap().is_some(),
        "others live on"
    );
    assert_eq!(
        store.disable_user(taro.id).await.unwrap(),
        None,
        "already disabled"
    );
    assert!(store
        .user(taro.id)
        .await
        .unwrap()
        .unwrap()
        .disabled_at
        .is_some());
    match store.create_user_token(taro.id, "again").await {
        Err(StoreError::Invalid { field, .. }) => assert_eq!(field, "user"),
        r => panic!("a disabled user gets no token: {r:?}"),
    }
}

/// A valid analyst to vary.
fn new_user() -> NewUser {
    NewUser {
        org_id: None,
        name: "Someone".into(),
        email: None,
        role: Role::Analyst,
    }
}

async fn tokens(store: Store) {
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    assert!(matches!(
        store.create_token(None, Role::Member, "no org").await,
        Err(StoreError::Invalid { field: "org", .. })
    ));
    assert!(matches!(
        store
            .create_token(Some(ocn.id + 100), Role::Member, "bad org")
            .await,
        Err(StoreError::Invalid { field: "org", .. })
    ));
    let (token, secret) = store
        .create_token(Some(ocn.id), Role::Member, "noc")
        .await
        .expect("create");
    let (analyst, analyst_secret) = store
        .create_token(None, Role::Analyst, "hub")
        .await
        .expect("create");
    assert_ne!(secret, analyst_secret);
    assert!(
        secret.starts_with("bugyo_") && secret.len() == 70,
        "{secret}"
    );
    assert_eq!(
        store.authenticate(&secret).await.expect("auth"),
        Some(token.clone())
    );
    assert_eq!(
        store
            .authenticate(&analyst_secret)
            .await
            .expect("auth")
            .map(|t| t.role),
        Some(Role::Analyst)
    );
    let mut wrong = secret.clone();
    wrong.replace_range(10..11, if &secret[10..11] == "0" { "1" } else { "0" });
    for bad in [
        wrong.as_str(),
        "",
        "bugyo_",
        "' OR 1=1 --",
        &secret[..secret.len() - 1],
    ] {
        assert_eq!(
            store.authenticate(bad).await.expect("auth"),
            None,
            "{bad:?}"
        );
    }
    assert!(store.revoke_token(token.id).await.expect("revoke"));
    assert!(!store.revoke_token(token.id).await.expect("revoke again"));
    assert_eq!(store.authenticate(&secret).await.expect("auth"), None);
    assert_eq!(
        store
            .authenticate(&analyst_secret)
            .await
            .expect("auth")
            .map(|t| t.id),
        Some(analyst.id)
    );
}

/// A portal session speaks for its token while open, unexpired and the
/// token live; its secret is not a token's, nor a token's a session's.
async fn portal_sessions(store: Store) {
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let (token, secret) = store
        .create_token(Some(ocn.id), Role::Member, "noc")
        .await
        .expect("create");
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as i64
    };
    let session = store.open_session(token.id, 3_600).await.expect("open");
    assert!(
        session.starts_with("bugyosession_") && session.len() == 77,
        "{session}"
    );
    assert_eq!(
        store.session_token(&session, now()).await.expect("lookup"),
        Some(token.clone())
    );
    // Secrets of one kind do not open the other.
    assert_eq!(
        store.session_token(&secret, now()).await.expect("lookup"),
        None
    );
    assert_eq!(store.authenticate(&session).await.expect("auth"), None);
    // Expired, in an hour and a second.
    assert_eq!(
        store
            .session_token(&session, now() + 3_601_000_000)
            .await
            .expect("lookup"),
        None
    );
    // Ended once; a second sign-out changes nothing.
    let other = store.open_session(token.id, 3_600).await.expect("open");
    assert!(store.end_session(&session).await.expect("end"));
    assert!(!store.end_session(&session).await.expect("end again"));
    assert_eq!(
        store.session_token(&session, now()).await.expect("lookup"),
        None
    );
    assert!(store
        .session_token(&other, now())
        .await
        .expect("lookup")
        .is_some());
    // A revoked token takes its sessions with it.
    store.revoke_token(token.id).await.expect("revoke");
    assert_eq!(
        store.session_token(&other, now()).await.expect("lookup"),
        None
    );
    for bad in ["", "bugyosession_", "' OR 1=1 --"] {
        assert_eq!(store.session_token(bad, now()).await.expect("lookup"), None);
    }
}

async fn audit_log(store: Store) {
    for (i, action) in ["org-add", "read-routes"].iter().enumerate() {
        store
            .audit(&AuditEntry {
                at: 0,
                token_id: Some(i as i64),
                org_id: None,
                action: action.to_string(),
                object: format!("incident/{i}"),
                detail: "{\"prefixes\":3}".to_string(),
            })
            .await
            .expect("audit");
    }
    let log = store.audit_log(10).await.expect("log");
    assert_eq!(
        log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["read-routes", "org-add"]
    );
    assert!(log[0].at >= log[1].at && log[1].at > 0);
    assert_eq!(store.audit_log(1).await.expect("log").len(), 1);
}

/// Each party's view of the stored leak: AS4713 is the victim, AS2516's
/// router saw it, AS15169 leaked it, AS2497 stands by.
async fn audiences(store: Store) {
    use bugyo_store::audience::{view, Tlp, Viewer};
    let states = leak();
    let (inc, event, time) = states.last().unwrap();
    let id = store
        .record_incident(inc, event, *time, &body(inc))
        .await
        .expect("record")
        .id;
    let version = store
        .incident_history(id)
        .await
        .expect("history")
        .pop()
        .unwrap();
    let prefixes: Vec<(Prefix, u32)> = store
        .incident_prefixes(id)
        .await
        .expect("prefixes")
        .into_iter()
        .map(|(p, v, _)| (p, v))
        .collect();
    let member = |asns: &[u32]| Viewer {
        role: Role::Member,
        asns: asns.iter().copied().collect(),
    };
    let role = |role| Viewer {
        role,
        asns: Default::default(),
    };
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let has = |v: &serde_json::Value, k: &str| v.get(k).is_some();
    let all_prefixes = inc.prefixes.len();

    let analyst = view(&role(Role::Analyst), &version.body, &prefixes);
    assert_eq!(analyst.tlp, Tlp::AmberStrict);
    assert!(analyst.raw_routes);
    assert_eq!(
        analyst.body["prefixes"].as_array().unwrap().len(),
        all_prefixes
    );
    assert!(!analyst.body["samples"].as_array().unwrap().is_empty());

    let regulator = view(&role(Role::Regulator), &version.body, &prefixes);
    assert_eq!(regulator.tlp, Tlp::Amber);
    assert!(!regulator.raw_routes);
    for k in ["prefixes", "samples", "peers", "own_prefixes"] {
        assert!(
            !has(&regulator.body, k),
            "regulator sees no {k}: {:?}",
            keys(&regulator.body)
        );
    }
    assert_eq!(regulator.body["victims"][0]["asn"], 4713);

    let victim = view(&member(&[4713]), &version.body, &prefixes);
    assert_eq!(victim.tlp, Tlp::AmberStrict);
    assert!(victim.raw_routes);
    assert!(
        !has(&victim.body, "prefixes"),
        "only its own: {:?}",
        keys(&victim.body)
    );
    assert_eq!(
        victim.body["own_prefixes"].as_array().unwrap().len(),
        all_prefixes
    );
    assert_eq!(victim.body["relation"]["victim"], true);

    let observer = view(&member(&[2516]), &version.body, &prefixes);
    assert_eq!(observer.tlp, Tlp::AmberStrict);
    assert!(!has(&observer.body, "own_prefixes") && !has(&observer.body, "prefixes"));
    let seen = observer.body["samples"].as_array().unwrap();
    assert!(!seen.is_empty() && seen.iter().all(|s| s["peer_asn"] == 2516));

    let culprit = view(&member(&[15169]), &version.body, &prefixes);
    assert_eq!(
        culprit.body["prefixes"].as_array().unwrap().len(),
        all_prefixes
    );

    let bystander = view(&member(&[2497]), &version.body, &prefixes);
    assert_eq!(bystander.tlp, Tlp::Green);
    assert!(!bystander.raw_routes);
    for k in [
        "prefixes",
        "samples",
        "peers",
        "own_prefixes",
        "members",
        "feed_peer",
    ] {
        assert!(
            !has(&bystander.body, k),
            "a bystander sees no {k}: {:?}",
            keys(&bystander.body)
        );
    }
    assert_eq!(bystander.body["prefix_count"], all_prefixes);
    assert_eq!(bystander.body["victims"][0]["prefix_count"], all_prefixes);
    assert_eq!(bystander.body["tlp"], "TLP:GREEN");

    // The timeline: per peer for the hub, totals under "all" for the
    // others, plus its own peers' points for an observer.
    let timeline = |v: &serde_json::Value| -> Vec<(String, u64)> {
        v["timeline"]
            .as_array()
            .unwrap_or_else(|| panic!("a timeline: {:?}", keys(v)))
            .iter()
            .map(|p| {
                (
                    p["peer"].as_str().unwrap().to_string(),
                    p["routes"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let rise_and_fall = [64, 128, 192, 256, 0];
    let with = |peer: &str| -> Vec<(String, u64)> {
        rise_and_fall
            .iter()
            .map(|n| (peer.to_string(), *n))
            .collect()
    };
    assert_eq!(timeline(&analyst.body), with("AS2516@192.0.2.2"));
    assert_eq!(
        analyst.body["timeline"][0]["time"], version.body["first_seen"],
        "the first point is the first sighting"
    );
    for (who, v) in [
        ("regulator", &regulator),
        ("victim", &victim),
        ("culprit", &culprit),
        ("bystander", &bystander),
    ] {
        assert_eq!(timeline(&v.body), with("all"), "{who}");
    }
    let own = timeline(&observer.body);
    assert_eq!(own.len(), 10, "{own:?}");
    assert_eq!(own[0], ("all".to_string(), 64));
    assert_eq!(own[1], ("AS2516@192.0.2.2".to_string(), 64));
    assert_eq!(own[9], ("AS2516@192.0.2.2".to_string(), 0));
    // An observer does not see other members' routers.
    let other = view(&member(&[2516, 64500]), &version.body, &prefixes);
    assert!(timeline(&other.body)
        .iter()
        .all(|(p, _)| p == "all" || p.starts_with("AS2516@")));
    // A version stored before there were timelines shows none.
    let mut old = version.body.clone();
    old.as_object_mut().unwrap().remove("timeline");
    assert!(!has(
        &view(&role(Role::Regulator), &old, &prefixes).body,
        "timeline"
    ));
}

fn fields(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().expect("an object")
}

/// A first report with an estimate only, corrected to a number with a
/// duration: the classification follows, the history shows each field's
/// before and after, and the lists filter by classification and quarter.
async fn outage_reports(store: Store) {
    use bugyo_store::reports::{Author, ReportFilter, Stage};
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let iij = store.add_org(&org("iij", &[2497])).await.expect("add");
    let inc = &leak()[0];
    let incident = store
        .record_incident(&inc.0, inc.1, inc.2, &body(&inc.0))
        .await
        .expect("record")
        .id;
    let first = store
        .file_report(
            ocn.id,
            &fields(serde_json::json!({
                "occurred_at": "2021-10-09T07:56:00+09:00",
                "area": "東京都、大阪府",
                "services": "FTTH Internet access",
                "service_class": "other",
                "situation": "Some users cannot reach some web sites.",
                "users_estimate": "about 30,000 (under investigation)",
                "contact": "NOC 03-0000-0000",
                "incidents": [incident],
            })),
            Author {
                token_id: Some(7),
                user_id: None,
            },
        )
        .await
        .expect("file");
    assert_eq!(first.stage, Stage::First);
    assert_eq!(first.version, 1);
    assert_eq!(first.org, "ocn");
    assert_eq!(first.classification, "pending");
    assert_eq!(first.quarter, "FY2021Q3");
    assert_eq!(first.detailed_report_due, None);
    assert!(!first.sharing.operators && !first.sharing.public);
    assert_eq!(
        store.reports_of_incident(incident).await.unwrap(),
        vec![first.id]
    );
    let second = store
        .amend_report(
            first.id,
            &fields(serde_json::json!({
                "stage": "follow-up",
                "users": 120000,
                "duration": "150m",
            })),
            Some("counted the users / 利用者数を確定"),
            Author {
                token_id: Some(8),
                user_id: Some(3),
            },
        )
        .await
        .expect("amend")
        .expect("there");
    assert_eq!(second.version, 2);
    assert_eq!(second.stage, Stage::FollowUp);
    assert_eq!(second.classification, "major");
    assert_eq!(second.detailed_report_due.as_deref(), Some("2021-11-08"));
    let history = store.report_history(first.id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].token_id, Some(7));
    assert_eq!(history[0].classification, None);
    assert_eq!(history[0].reason, None);
    assert_eq!(
        history[0].body["occurred_at"], "2021-10-09T07:56:00+09:00",
        "kept in JST"
    );
    let v2 = &history[1];
    assert_eq!((v2.token_id, v2.user_id), (Some(8), Some(3)));
    assert_eq!(
        v2.reason.as_deref(),
        Some("counted the users / 利用者数を確定")
    );
    assert_eq!(
        v2.classification.as_ref().unwrap()["classification"],
        "major"
    );
    assert_eq!(v2.body["duration"], "2h30m", "written the shortest way");
    assert_eq!(
        v2.body["users_estimate"], "about 30,000 (under investigation)",
        "what was said stays until corrected"
    );
    let changed: Vec<(&str, serde_json::Value, serde_json::Value)> = v2
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.before.clone(), c.after.clone()))
        .collect();
    assert_eq!(
        changed,
        vec![
            ("stage", "first".into(), "follow-up".into()),
            ("users", serde_json::Value::Null, 120000.into()),
            ("duration", serde_json::Value::Null, "2h30m".into()),
        ]
    );
    // Clearing a field is a change too.
    let third = store
        .amend_report(
            first.id,
            &fields(serde_json::json!({"users_estimate": null, "share_operators": true})),
            None,
            Author::default(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.version, 3);
    assert!(third.sharing.operators);
    let history = store.report_history(first.id).await.unwrap();
    assert_eq!(history[2].changes[0].field, "users_estimate");
    assert_eq!(history[2].changes[0].after, serde_json::Value::Null);
    // A second report, another organisation's, not shared.
    let other = store
        .file_report(
            iij.id,
            &fields(serde_json::json!({
                "occurred_at": "2022-04-01T00:30:00+09:00",
                "situation": "DNS resolution fails.",
                "service_class": "other",
                "users": 5000,
                "duration": "3h",
            })),
            Author::default(),
        )
        .await
        .unwrap();
    assert_eq!(other.classification, "quarterly");
    assert_eq!(other.quarter, "FY2022Q1");
    let ids = |f: ReportFilter| {
        let store = store.clone();
        async move {
            store
                .reports(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let both = vec![first.id, other.id];
    assert_eq!(ids(ReportFilter::default()).await, both);
    let class = |c: &str| ReportFilter {
        classification: Some(c.into()),
        ..Default::default()
    };
    assert_eq!(ids(class("major")).await, vec![first.id]);
    assert_eq!(ids(class("quarterly")).await, vec![other.id]);
    assert!(ids(class("pending")).await.is_empty());
    let quarter = ReportFilter {
        quarter: Some("FY2022Q1".into()),
        ..Default::default()
    };
    assert_eq!(ids(quarter).await, vec![other.id]);
    let org_f = ReportFilter {
        org_id: Some(ocn.id),
        stage: Some(Stage::FollowUp),
        ..Default::default()
    };
    assert_eq!(ids(org_f).await, vec![first.id]);
    let since = ReportFilter {
        since: Some(1_640_000_000_000_000),
        ..Default::default()
    };
    assert_eq!(ids(since).await, vec![other.id]);
    let until = ReportFilter {
        until: Some(1_640_000_000_000_000),
        ..Default::default()
    };
    assert_eq!(ids(until).await, vec![first.id]);
    // A member of IIJ sees its own and OCN's, shared; OCN's own only.
    let visible = |org| ReportFilter {
        visible_to_org: Some(org),
        ..Default::default()
    };
    assert_eq!(ids(visible(iij.id)).await, both);
    assert_eq!(ids(visible(ocn.id)).await, vec![first.id]);
    let page = ReportFilter {
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(ids(page).await, vec![first.id]);
    let next = ReportFilter {
        after_id: Some(first.id),
        ..Default::default()
    };
    assert_eq!(ids(next).await, vec![other.id]);
    assert!(store
        .amend_report(
            9999,
            &fields(serde_json::json!({"users": 1})),
            None,
            Author::default()
        )
        .await
        .unwrap()
        .is_none());
}

/// Every kind of bad input names its field and stores nothing.
async fn outage_reports_bad_input(store: Store) {
    use bugyo_store::reports::{Author, ReportFilter};
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let ok = serde_json::json!({
        "occurred_at": "2021-10-09T07:56:00+09:00",
        "situation": "x'; DROP TABLE reports; --",
    });
    let with = |k: &str, v: serde_json::Value| {
        let mut m = fields(ok.clone());
        if v.is_null() {
            m.remove(k);
        } else {
            m.insert(k.to_string(), v);
        }
        m
    };
    for (m, field) in [
        (with("situation", serde_json::Value::Null), "situation"),
        (with("situation", "   ".into()), "situation"),
        (with("situation", 7.into()), "situation"),
        (with("occurred_at", serde_json::Value::Null), "occurred_at"),
        (with("occurred_at", "yesterday".into()), "occurred_at"),
        (
            with("occurred_at", "2021-02-30T00:00:00Z".into()),
            "occurred_at",
        ),
        (
            with("occurred_at", "2999-01-01T00:00:00Z".into()),
            "occurred_at",
        ),
        (with("users", "about 30,000".into()), "users"),
        (with("users", (-1).into()), "users"),
        (with("users", 1.5.into()), "users"),
        (with("complaints", true.into()), "complaints"),
        (with("duration", "2 hours".into()), "duration"),
        (with("duration", 120.into()), "duration"),
        (with("service_class", "internet".into()), "service_class"),
        (with("stage", "second".into()), "stage"),
        (with("cause_category", "gremlins".into()), "cause_category"),
        (with("stage", "detailed".into()), "cause_category"),
        (with("share_public", "yes".into()), "share_public"),
        (with("share_operators", 1.into()), "share_operators"),
        (with("incidents", serde_json::json!([0])), "incidents"),
        (with("incidents", serde_json::json!("1")), "incidents"),
        (with("incidents", serde_json::json!([424242])), "incidents"),
        (with("area", "a\u{0}b".into()), "area"),
        (with("measures", "x".repeat(10_001).into()), "measures"),
        (with("extra", 1.into()), "body"),
    ] {
        let err = store
            .file_report(ocn.id, &m, Author::default())
            .await
            .expect_err("refused");
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if *f == field),
            "{m:?}: {err}"
        );
        assert!(
            err.to_string().contains(" / "),
            "English and Japanese: {err}"
        );
    }
    assert!(matches!(
        store
            .file_report(ocn.id + 100, &fields(ok.clone()), Author::default())
            .await,
        Err(StoreError::Invalid { field: "org", .. })
    ));
    assert!(store
        .reports(&ReportFilter::default())
        .await
        .unwrap()
        .is_empty());
    // SQL meta-characters are text like any other.
    let r = store
        .file_report(ocn.id, &fields(ok.clone()), Author::default())
        .await
        .unwrap();
    assert_eq!(r.situation, "x'; DROP TABLE reports; --");
    let amend = |patch: serde_json::Value, reason: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .amend_report(r.id, &fields(patch), reason, Author::default())
                .await
        }
    };
    for (patch, reason, field) in [
        (serde_json::json!({"users": "many"}), None, "users"),
        (serde_json::json!({"situation": null}), None, "situation"),
        (serde_json::json!({"bogus": 1}), None, "body"),
        (serde_json::json!({}), None, "body"),
        (
            serde_json::json!({"situation": "x'; DROP TABLE reports; --"}),
            None,
            "body",
        ),
        (serde_json::json!({"users": 1}), Some("\u{7}"), "reason"),
    ] {
        let err = amend(patch.clone(), reason).await.expect_err("refused");
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if *f == field),
            "{patch}: {err}"
        );
    }
    amend(serde_json::json!({"stage": "final"}), None)
        .await
        .unwrap()
        .unwrap();
    let err = amend(serde_json::json!({"stage": "first"}), None)
        .await
        .expect_err("no going back");
    assert!(
        matches!(err, StoreError::Invalid { field: "stage", .. }),
        "{err}"
    );
    let history = store.report_history(r.id).await.unwrap();
    assert_eq!(history.len(), 2, "only the good version was added");
}

/// The audience rules of a report, and its TLP label.
async fn outage_report_audiences(_store: Store) {
    use bugyo_store::audience::Tlp;
    use bugyo_store::reports::view::{tlp, Access, ReportReader};
    use bugyo_store::reports::SharingMarks;
    let member = |org| ReportReader {
        role: Role::Member,
        org_id: Some(org),
    };
    let closed = SharingMarks::default();
    let shared = SharingMarks {
        public: false,
        operators: true,
    };
    assert_eq!(Access::of(member(1), 1, closed), Some(Access::Reporter));
    assert_eq!(Access::of(member(2), 1, closed), None);
    assert_eq!(Access::of(member(2), 1, shared), Some(Access::Operator));
    for role in [Role::Regulator, Role::Analyst, Role::Admin] {
        let reader = ReportReader { role, org_id: None };
        let access = Access::of(reader, 1, closed).unwrap();
        assert_eq!(access, Access::Oversight);
        assert!(access.audited(closed));
        assert!(!access.audited(shared));
    }
    assert!(!Access::Reporter.audited(closed));
    let body = fields(
        serde_json::json!({"situation": "s", "contact": "Taro", "impact_enterprise": "bank X"}),
    );
    let seen = Access::Operator.redact(&body);
    assert_eq!(seen.keys().collect::<Vec<_>>(), ["situation"]);
    assert_eq!(Access::Oversight.redact(&body), body);
    assert!(!Access::Operator.sees_authors());
    assert_eq!(tlp(closed), Tlp::AmberStrict);
    assert_eq!(tlp(shared), Tlp::Green);
    assert_eq!(
        tlp(SharingMarks {
            public: true,
            operators: true
        }),
        Tlp::Clear
    );
}

/// Files a report of `org` with `v` (a report's JSON), returning its id.
async fn file(store: &Store, org: i64, v: serde_json::Value) -> i64 {
    store
        .file_report(org, &fields(v), bugyo_store::reports::Author::default())
        .await
        .expect("file")
        .id
}

/// Reads RFC 4180 CSV into records (for checking `to_csv`).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => {
                assert!(field.is_empty(), "a quote inside an unquoted field");
                quoted = true;
            }
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CRLF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("a bare LF ends a line"),
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && record.is_empty(),
        "ends with CRLF"
    );
    records
}

/// Report statistics of a fiscal year and its quarters: every count of
/// each table, the unknown rows, each edge of table 2, the fiscal-year
/// boundary in JST, the top failed equipment and the CSV.
async fn report_statistics(store: Store) {
    use bugyo_store::statistics::{Period, ReportStatistics};
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add").id;
    let iij = store.add_org(&org("iij", &[2497])).await.expect("add").id;
    use serde_json::json as j;
    // FY2021Q3.
    file(
        &store,
        ocn,
        j!({"occurred_at": "2021-10-09T07:56:00+09:00", "situation": "voice down",
        "service_class": "voice", "users": 62_095, "duration": "2h57m",
        "cause_category": "external", "failed_equipment": "Core Router"}),
    )
    .await;
    let amended = file(
        &store,
        iij,
        j!({"occurred_at": "2021-11-01T10:00:00+09:00", "situation": "slow",
        "service_class": "other", "users": 10, "duration": "10m", "failed_equipment": "x"}),
    )
    .await;
    // Only the latest version counts: 30,000 users (an edge) for 1h30m (an edge).
    store
        .amend_report(
            amended,
            &fields(
                j!({"users": 30_000, "duration": "1h30m", "cause_category": "equipment",
                "failed_equipment": " CORE router "}),
            ),
            None,
            bugyo_store::reports::Author::default(),
        )
        .await
        .expect("amend")
        .expect("there");
    file(
        &store,
        ocn,
        j!({"occurred_at": "2021-12-01T09:00:00+09:00", "situation": "unknown yet",
        "users_estimate": "several hundred", "duration": "1h"}),
    )
    .await;
    file(
        &store,
        iij,
        j!({"occurred_at": "2021-12-31T23:59:00+09:00", "situation": "s",
        "service_class": "other", "users": 500, "duration": "30m", "cause_category": "human",
        "failed_equipment": "Switch, L2 \"edge\""}),
    )
    .await;
    // FY2021Q4.
    file(
        &store,
        ocn,
        j!({"occurred_at": "2022-01-15T12:00:00+09:00", "situation": "s",
        "service_class": "other", "users": 1_000_000, "duration": "5h", "cause_category": "other",
        "failed_equipment": "DNS\ncache"}),
    )
    .await;
    file(
        &store,
        iij,
        j!({"occurred_at": "2022-02-01T00:00:00+09:00", "situation": "s",
        "service_class": "free-internet", "users": 5_000, "duration": "12h",
        "cause_category": "equipment", "failed_equipment": "core router"}),
    )
    .await;
    let last_of_fy = file(&store, ocn, j!({"occurred_at": "2022-03-31T23:30:00+09:00", "situation": "s",
        "service_class": "lpwa", "users": 100_000, "duration": "24h", "cause_category": "external"}))
    .await;
    file(
        &store,
        ocn,
        j!({"occurred_at": "2022-03-01T00:00:00+09:00", "situation": "s",
        "service_class": "critical-facility", "users": 499, "duration": "2h"}),
    )
    .await;
    file(
        &store,
        iij,
        j!({"occurred_at": "2022-02-10T00:00:00+09:00", "situation": "s",
        "service_class": "voice-emergency", "users": 29_999}),
    )
    .await;
    // FY2022Q1, ten minutes into the new fiscal year (JST).
    let first_of_fy = file(
        &store,
        ocn,
        j!({"occurred_at": "2022-04-01T00:10:00+09:00", "situation": "s",
        "service_class": "other", "users": 10, "duration": "10m"}),
    )
    .await;
    assert_eq!(
        store.report(last_of_fy).await.unwrap().unwrap().quarter,
        "FY2021Q4"
    );
    assert_eq!(
        store.report(first_of_fy).await.unwrap().unwrap().quarter,
        "FY2022Q1"
    );

    let stats = |p: &str| {
        let store = store.clone();
        let p: Period = p.parse().expect("a period");
        async move { store.report_statistics(p).await.expect("statistics") }
    };
    let counts = |rows: &[bugyo_store::statistics::Count]| {
        rows.iter()
            .map(|c| (c.label.key.clone(), c.count))
            .collect::<Vec<(String, u64)>>()
    };
    let kv = |pairs: &[(&str, u64)]| {
        pairs
            .iter()
            .map(|(k, n)| (k.to_string(), *n))
            .collect::<Vec<(String, u64)>>()
    };
    let fy = stats("FY2021").await;
    assert_eq!(fy.total, 9);
    assert_eq!(
        counts(&fy.by_classification),
        kv(&[("major", 4), ("quarterly", 2), ("none", 1), ("pending", 2)])
    );
    assert_eq!(
        counts(&fy.by_service_class),
        kv(&[
            ("voice-emergency", 1),
            ("voice", 1),
            ("lpwa", 1),
            ("free-internet", 1),
            ("other", 3),
            ("critical-facility", 1),
            ("unknown", 1)
        ])
    );
    assert_eq!(
        counts(&fy.by_cause),
        kv(&[
            ("external", 2),
            ("equipment", 2),
            ("human", 1),
            ("other", 1),
            ("unknown", 3)
        ])
    );
    assert_eq!(
        counts(&fy.by_failed_equipment),
        kv(&[
            ("core router", 3),
            ("dns\ncache", 1),
            ("switch, l2 \"edge\"", 1),
            ("unknown", 4)
        ])
    );
    assert_eq!(
        fy.by_failed_equipment[0].label.ja, "Core Router",
        "as first written"
    );
    // Table 2: each report in its cell, every edge in the bucket it opens.
    let m = &fy.users_duration;
    let keys =
        |l: &[bugyo_store::statistics::Label]| l.iter().map(|l| l.key.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&m.users),
        ["<500", "500-5k", "5k-30k", "30k-100k", "100k-1M", ">=1M", "unknown"]
    );
    assert_eq!(
        keys(&m.durations),
        [
            "<30m", "30m-1h", "1h-1h30m", "1h30m-2h", "2h-5h", "5h-12h", "12h-24h", ">=24h",
            "unknown"
        ]
    );
    let mut expected = vec![vec![0u64; 7]; 9];
    for (duration, users) in [
        ("2h-5h", "30k-100k"),    // 62,095 users, 2h57m
        ("1h30m-2h", "30k-100k"), // 30,000 and 1h30m: both edges
        ("1h-1h30m", "unknown"),  // 1h (edge), users not given
        ("30m-1h", "500-5k"),     // 30m and 500: edges
        ("5h-12h", ">=1M"),       // 5h and 1,000,000: edges
        ("12h-24h", "5k-30k"),    // 12h and 5,000: edges
        (">=24h", "100k-1M"),     // 24h and 100,000: edges
        ("2h-5h", "<500"),        // 2h (edge) and 499
        ("unknown", "5k-30k"),    // 29,999, duration not given
    ] {
        let r = keys(&m.durations)
            .iter()
            .position(|k| k == duration)
            .unwrap();
        let c = keys(&m.users).iter().position(|k| k == users).unwrap();
        expected[r][c] += 1;
    }
    assert_eq!(m.cells, expected);
    assert_eq!(m.row_totals, [0, 1, 1, 1, 2, 1, 1, 1, 1]);
    assert_eq!(m.column_totals, [1, 1, 2, 2, 1, 1, 1]);

    let q3 = stats("FY2021Q3").await;
    assert_eq!(q3.total, 4);
    assert_eq!(
        counts(&q3.by_classification),
        kv(&[("major", 1), ("quarterly", 1), ("none", 1), ("pending", 1)])
    );
    let q4 = stats("FY2021Q4").await;
    assert_eq!(q4.total, 5, "2022-03-31 23:30 JST is still FY2021");
    assert_eq!(
        counts(&q4.by_classification),
        kv(&[("major", 3), ("quarterly", 1), ("none", 0), ("pending", 1)])
    );
    assert_eq!(
        (q4.first_day.to_string(), q4.last_day.to_string()),
        ("2022-01-01".to_string(), "2022-03-31".to_string())
    );
    let next = stats("FY2022Q1").await;
    assert_eq!(next.total, 1, "2022-04-01 00:10 JST is FY2022");
    assert_eq!(next.users_duration.cells[0][0], 1);
    assert_eq!(stats("FY2022").await.total, 1);
    let empty = stats("FY2021Q1").await;
    assert_eq!(empty.total, 0);
    assert!(empty.by_classification.iter().all(|c| c.count == 0));
    assert_eq!(counts(&empty.by_failed_equipment), kv(&[("unknown", 0)]));

    // JSON as the web page reads it.
    let json = serde_json::to_value(&fy).unwrap();
    assert_eq!(json["period"], "FY2021");
    assert_eq!(json["first_day"], "2021-04-01");
    assert_eq!(
        json["by_classification"][0],
        j!({"key": "major", "ja": "重大な事故", "en": "major accident", "count": 4})
    );
    assert_eq!(json["users_duration"]["users"][6]["key"], "unknown");
    assert_eq!(json["by_cause"][0]["ja"], "外的要因");

    // CSV: RFC 4180, every line naming its table.
    let csv = fy.to_csv();
    assert!(csv.starts_with(
        "表 / table,期間 / period,初日 / first day,末日 / last day,報告件数 / reports\r\n\
         期間 / period,FY2021,2021-04-01,2022-03-31,9\r\n"
    ));
    assert!(csv.contains(
        "故障設備 / failed equipment,\"Switch, L2 \"\"edge\"\"\",\"Switch, L2 \"\"edge\"\"\",1\r\n"
    ));
    assert!(csv.contains("故障設備 / failed equipment,\"DNS\ncache\",\"DNS\ncache\",1\r\n"));
    assert!(csv.contains(
        "利用者数×継続時間 / users × duration,2時間以上5時間未満,2 h to under 5 h,1,0,0,1,0,0,0,2\r\n"
    ));
    let records = parse_csv(&csv);
    let tables = [
        "表 / table",
        "期間 / period",
        "報告区分 / classification",
        "利用者数×継続時間 / users × duration",
        "役務区分 / service class",
        "原因 / cause",
        "故障設備 / failed equipment",
    ];
    for r in &records {
        assert!(tables.contains(&r[0].as_str()), "{r:?}");
    }
    let matrix_header = records
        .iter()
        .find(|r| r[0] == "表 / table" && r[1].starts_with("継続時間"))
        .expect("the header of table 2");
    assert_eq!(matrix_header.len(), 3 + 7 + 1);
    assert_eq!(matrix_header[3], "利用者数 500人未満 / users under 500");
    assert_eq!(matrix_header[9], "利用者数 不明 / users unknown");
    assert!(records.iter().any(|r| r[1] == "Switch, L2 \"edge\""));
    assert!(records.iter().any(|r| r[1] == "DNS\ncache"));

    // The top 20 kinds of failed equipment, then the rest as "other".
    for (i, name) in ["EQ-00", "eq-00", "Eq-00"].iter().enumerate() {
        file(
            &store,
            ocn,
            j!({"occurred_at": format!("2023-07-0{}T00:00:00+09:00", i + 1),
            "situation": "s", "failed_equipment": name}),
        )
        .await;
    }
    for k in 1..=22 {
        file(
            &store,
            iij,
            j!({"occurred_at": "2023-08-01T00:00:00+09:00", "situation": "s",
            "failed_equipment": format!("eq-{k:02}")}),
        )
        .await;
    }
    let many: ReportStatistics = stats("FY2023Q2").await;
    let rows = counts(&many.by_failed_equipment);
    assert_eq!(rows.len(), 22, "20 named, other, unknown");
    assert_eq!(rows[0], ("eq-00".to_string(), 3));
    assert_eq!(many.by_failed_equipment[0].label.ja, "EQ-00");
    assert_eq!(rows[19], ("eq-19".to_string(), 1));
    assert_eq!(rows[20], ("other".to_string(), 3));
    assert_eq!(rows[21], ("unknown".to_string(), 0));
    assert_eq!(many.total, 25);
}

/// The whole picture: a leak with two members' reports (one linked, one
/// near in time from an observer), a report from a bystander at the same
/// time, an unrelated report, two incidents sharing an upstream AS, and
/// reports grouped by area.
async fn whole_picture(store: Store) {
    use bugyo_store::picture::Member;
    use serde_json::json as j;
    let micros = |s: &str| {
        bugyo_report::calendar::parse_time(s)
            .expect("a time")
            .as_micros()
    };
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add").id;
    let kddi = store.add_org(&org("kddi", &[2516])).await.expect("add").id;
    let iij = store.add_org(&org("iij", &[2497])).await.expect("add").id;
    // The leak, first seen 2017-08-25 03:22 UTC (12:22 JST): AS15169 to
    // AS701; victim AS4713 (ocn), observer AS2516 (kddi).
    let (inc, event, time) = &leak()[0];
    let leak_id = store
        .record_incident(inc, event, *time, &body(inc))
        .await
        .expect("record")
        .id;
    let linked = file(
        &store,
        ocn,
        j!({"occurred_at": "2017-08-25T12:30:00+09:00",
        "situation": "some sites unreachable", "area": "Tokyo", "duration": "1h",
        "users": 40_000, "incidents": [leak_id]}),
    )
    .await;
    let near = file(
        &store,
        kddi,
        j!({"occurred_at": "2017-08-25T12:10:00+09:00",
        "situation": "customers complain"}),
    )
    .await;
    // Same time, but iij's AS is neither victim nor observer.
    let bystander = file(
        &store,
        iij,
        j!({"occurred_at": "2017-08-25T12:20:00+09:00",
        "situation": "our own trouble"}),
    )
    .await;
    // Elsewhere in time, same area as the linked report but 7 h later.
    let unrelated = file(
        &store,
        iij,
        j!({"occurred_at": "2017-08-25T20:00:00+09:00",
        "situation": "power failure", "area": "tokyo"}),
    )
    .await;
    // Two incidents a day later: AS64501 leaks to AS64510, then AS64502
    // leaks to AS64501.
    let mut x = inc.clone();
    x.culprit = Some(bugyo_model::Asn(64_501));
    x.leaked_to = Some(bugyo_model::Asn(64_510));
    x.first_seen = x.first_seen.plus_secs(86_400);
    x.last_seen = x.last_seen.plus_secs(86_400);
    let mut y = x.clone();
    y.culprit = Some(bugyo_model::Asn(64_502));
    y.leaked_to = Some(bugyo_model::Asn(64_501));
    y.first_seen = y.first_seen.plus_secs(3_600);
    y.last_seen = y.last_seen.plus_secs(3_600);
    let mut ids = Vec::new();
    for i in [&x, &y] {
        ids.push(
            store
                .record_incident(i, "opened", i.first_seen, &body(i))
                .await
                .expect("record")
                .id,
        );
    }
    let (x_id, y_id) = (ids[0], ids[1]);
    // Reports by area on 2017-08-27: ocn and iij in Osaka 1 h 30 min
    // apart (one group), kddi in Osaka 2 h 30 min after iij (alone).
    let osaka_a = file(
        &store,
        ocn,
        j!({"occurred_at": "2017-08-27T10:00:00+09:00",
        "situation": "s", "area": " Osaka "}),
    )
    .await;
    let osaka_b = file(
        &store,
        iij,
        j!({"occurred_at": "2017-08-27T11:30:00+09:00",
        "situation": "s", "area": "OSAKA"}),
    )
    .await;
    let osaka_late = file(
        &store,
        kddi,
        j!({"occurred_at": "2017-08-27T14:00:00+09:00",
        "situation": "s", "area": "osaka"}),
    )
    .await;
    // Two reports of one member in one area: not grouped by area.
    let nagoya_a = file(
        &store,
        ocn,
        j!({"occurred_at": "2017-08-28T10:00:00+09:00",
        "situation": "s", "area": "Nagoya"}),
    )
    .await;
    let nagoya_b = file(
        &store,
        ocn,
        j!({"occurred_at": "2017-08-28T10:30:00+09:00",
        "situation": "s", "area": "nagoya"}),
    )
    .await;
    // Outside the window.
    let outside = file(
        &store,
        ocn,
        j!({"occurred_at": "2017-09-10T10:00:00+09:00",
        "situation": "s", "area": "Nagoya"}),
    )
    .await;

    let picture = store
        .whole_picture(
            micros("2017-08-24T00:00:00Z"),
            micros("2017-08-29T00:00:00Z"),
        )
        .await
        .expect("picture");
    assert_eq!((picture.incident_count, picture.report_count), (3, 9));
    let members = |g: &bugyo_store::picture::CauseGroup| {
        let mut m: Vec<Member> = g
            .incidents
            .iter()
            .map(|i| Member::Incident(i.incident.id))
            .chain(g.reports.iter().map(|r| Member::Report(r.id)))
            .collect();
        m.sort();
        m
    };
    let all: Vec<Vec<Member>> = picture.groups.iter().map(members).collect();
    assert_eq!(all.len(), 8, "{all:?}");
    assert!(!all.iter().flatten().any(|m| *m == Member::Report(outside)));
    assert!(
        picture.groups.windows(2).all(|w| w[0].start >= w[1].start),
        "latest start first"
    );
    let group_of = |m: Member| {
        picture
            .groups
            .iter()
            .find(|g| members(g).contains(&m))
            .expect("in a group")
    };

    // The leak and its two reports.
    let g = group_of(Member::Incident(leak_id));
    assert_eq!(
        members(g),
        [
            Member::Incident(leak_id),
            Member::Report(linked),
            Member::Report(near)
        ]
    );
    let reasons: Vec<(Member, Member, &str)> = g
        .reasons
        .iter()
        .map(|r| (r.a, r.b, r.rule.as_str()))
        .collect();
    assert!(reasons.contains(&(Member::Report(linked), Member::Incident(leak_id), "linked")));
    assert!(reasons.contains(&(
        Member::Report(linked),
        Member::Incident(leak_id),
        "same time and victim"
    )));
    assert!(reasons.contains(&(
        Member::Report(near),
        Member::Incident(leak_id),
        "same time and victim"
    )));
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(g.upstream_asns, [701, 15169]);
    assert_eq!(g.areas, ["Tokyo"]);
    assert_eq!(
        g.start,
        micros("2017-08-25T12:10:00+09:00"),
        "the kddi report"
    );
    assert_eq!(
        g.end,
        micros("2017-08-25T13:30:00+09:00"),
        "the ocn report's hour"
    );
    assert_eq!(g.start_jst, "2017-08-25T12:10:00+09:00");
    let orgs: Vec<(&str, bool, &[u32])> = g
        .orgs
        .iter()
        .map(|o| (o.handle.as_str(), o.reported, o.affected_asns.as_slice()))
        .collect();
    assert_eq!(
        orgs,
        [("kddi", true, &[2516][..]), ("ocn", true, &[4713][..])]
    );
    assert_eq!(g.incidents[0].incident.kind, "route-leak");
    assert_eq!(g.incidents[0].victim_asns, [4713]);
    assert_eq!(g.incidents[0].observer_asns, [2516]);
    assert_eq!(g.reports[0].id, near);
    assert_eq!(g.reports[1].users, Some(40_000));
    assert_eq!(g.reports[1].incidents, [leak_id]);

    // Singletons: the bystander at the same time, the unrelated report
    // in the same area 7 h later.
    for r in [bystander, unrelated] {
        let g = group_of(Member::Report(r));
        assert_eq!(members(g), [Member::Report(r)]);
        assert!(g.reasons.is_empty());
    }
    assert_eq!(group_of(Member::Report(bystander)).orgs[0].handle, "iij");

    // Two incidents through AS64501.
    let g = group_of(Member::Incident(x_id));
    assert_eq!(members(g), [Member::Incident(x_id), Member::Incident(y_id)]);
    assert_eq!(g.reasons.len(), 1);
    assert_eq!(
        (g.reasons[0].a, g.reasons[0].b, g.reasons[0].rule.as_str()),
        (
            Member::Incident(x_id),
            Member::Incident(y_id),
            "shared-upstream AS64501"
        )
    );
    assert_eq!(g.upstream_asns, [64_501, 64_502, 64_510]);
    assert!(g.orgs.iter().all(|o| !o.reported));

    // The same area.
    let g = group_of(Member::Report(osaka_a));
    assert_eq!(
        members(g),
        [Member::Report(osaka_a), Member::Report(osaka_b)]
    );
    assert_eq!(g.reasons[0].rule, "same area osaka");
    assert_eq!(g.reasons[0].kind, "same-area");
    assert_eq!(g.areas, ["Osaka"], "as first written, once");
    assert_eq!(members(group_of(Member::Report(osaka_late))).len(), 1);
    assert_eq!(members(group_of(Member::Report(nagoya_a))).len(), 1);
    assert_eq!(members(group_of(Member::Report(nagoya_b))).len(), 1);

    // The JSON the page reads.
    let json = serde_json::to_value(&picture).unwrap();
    let leak_group = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| {
            g["incidents"]
                .as_array()
                .is_some_and(|i| i.iter().any(|i| i["id"] == leak_id))
        })
        .expect("the leak's group");
    assert_eq!(
        leak_group["reasons"][0]["a"],
        j!({"type": "report", "id": linked})
    );
    assert_eq!(
        leak_group["incidents"][0]["severity"],
        g_severity(&store, leak_id).await
    );
    assert_eq!(leak_group["reports"][0]["org"], "kddi");

    // Incidents that ended before a window are not in it (the store
    // filters them; the leak and its two followers all ended by 08-26).
    let later = store
        .whole_picture(
            micros("2017-08-26T00:00:00Z"),
            micros("2017-08-29T00:00:00Z"),
        )
        .await
        .expect("picture");
    assert_eq!(later.incident_count, 2, "the two leaks of 08-26 only");
    let none = store
        .whole_picture(
            micros("2017-08-29T00:00:00Z"),
            micros("2017-08-30T00:00:00Z"),
        )
        .await
        .expect("picture");
    assert_eq!((none.incident_count, none.report_count), (0, 0));

    // A report inside the window naming an incident outside it brings
    // the incident in.
    let late = store
        .whole_picture(
            micros("2017-08-25T12:25:00+09:00"),
            micros("2017-08-25T12:35:00+09:00"),
        )
        .await
        .expect("picture");
    assert_eq!(late.report_count, 1);
    assert_eq!(late.groups.len(), 1);
    assert_eq!(
        members(&late.groups[0]),
        [Member::Incident(leak_id), Member::Report(linked)]
    );
}

async fn g_severity(store: &Store, id: i64) -> serde_json::Value {
    store.incident(id).await.unwrap().unwrap().severity.into()
}

/// What the operator tells the public, in Japanese and English, is kept
/// with each version like any other field: a new text shows in the history
/// as before and after, a cleared one as gone, and a text too long or
/// holding control characters is refused naming the field.
async fn report_public_summaries(store: Store) {
    use bugyo_store::reports::{fields::MAX_TEXT, Author};
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let first = store
        .file_report(
            ocn.id,
            &fields(serde_json::json!({
                "occurred_at": "2021-10-09T07:56:00+09:00",
                "situation": "DNS fails",
                "share_public": true,
                "public_summary_ja": "  一部のお客さまがインターネットに接続しづらい状況です。  ",
                "public_summary_en": "Some customers cannot connect to the Internet.",
            })),
            Author::default(),
        )
        .await
        .expect("file");
    store
        .amend_report(
            first.id,
            &fields(serde_json::json!({
                "public_summary_ja": "復旧しました。ルーターを再起動してください。",
                "public_summary_en": null,
            })),
            Some("recovered"),
            Author::default(),
        )
        .await
        .expect("amend")
        .expect("the report");
    let history = store.report_history(first.id).await.expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0].body["public_summary_ja"],
        "一部のお客さまがインターネットに接続しづらい状況です。",
        "trimmed"
    );
    assert_eq!(
        history[0].body["public_summary_en"],
        "Some customers cannot connect to the Internet."
    );
    let changed: Vec<(&str, &serde_json::Value, &serde_json::Value)> = history[1]
        .changes
        .iter()
        .map(|c| (c.field.as_str(), &c.before, &c.after))
        .collect();
    assert_eq!(
        changed,
        [
            (
                "public_summary_ja",
                &serde_json::json!("一部のお客さまがインターネットに接続しづらい状況です。"),
                &serde_json::json!("復旧しました。ルーターを再起動してください。")
            ),
            (
                "public_summary_en",
                &serde_json::json!("Some customers cannot connect to the Internet."),
                &serde_json::Value::Null
            ),
        ]
    );
    for (field, value) in [
        (
            "public_summary_ja",
            serde_json::json!("あ".repeat(MAX_TEXT + 1)),
        ),
        ("public_summary_en", serde_json::json!("bell \u{7}")),
        ("public_summary_en", serde_json::json!(42)),
    ] {
        let mut patch = serde_json::Map::new();
        patch.insert(field.to_string(), value);
        match store
            .amend_report(first.id, &patch, None, Author::default())
            .await
        {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(store.report_history(first.id).await.unwrap().len(), 2);
}

/// An advisory is stored with its recipients and owed to each of their
/// contacts; a member's list holds only those addressed to it; ids that do
/// not exist are refused naming the field, and nothing is stored; a
/// delivery failed stays pending until its retry, one sent is done.
async fn advisories(store: Store) {
    use bugyo_store::advisories::{Issuer, NewAdvisory};
    use bugyo_store::audience::Tlp;
    let mic = store
        .add_org(&NewOrg {
            kind: OrgKind::Regulator,
            name: "総務省".into(),
            ..org("mic", &[])
        })
        .await
        .expect("add");
    let mut with_contacts = org("ocn", &[4713]);
    with_contacts.contacts = vec![
        Contact {
            kind: ContactKind::Email,
            address: "noc@ocn.example".into(),
            role: "noc".into(),
            secret: None,
        },
        Contact {
            kind: ContactKind::Syslog,
            address: "127.0.0.1:514".into(),
            role: "noc".into(),
            secret: None,
        },
    ];
    let ocn = store.add_org(&with_contacts).await.expect("add");
    let iij = store.add_org(&org("iij", &[2497])).await.expect("add");
    let by = Issuer {
        role: Role::Regulator,
        org_id: Some(mic.id),
        token_id: Some(1),
        user_id: None,
    };
    let new = |orgs: Vec<i64>| NewAdvisory {
        title_ja: "経路リーク".into(),
        title_en: "Route leak".into(),
        body_ja: "確認してください。".into(),
        body_en: "Please check.".into(),
        tlp: None,
        orgs,
        incidents: vec![],
        reports: vec![],
    };
    for (bad, field) in [
        (new(vec![ocn.id, 999]), "orgs"),
        (
            NewAdvisory {
                incidents: vec![5],
                ..new(vec![ocn.id])
            },
            "incidents",
        ),
        (
            NewAdvisory {
                reports: vec![5],
                ..new(vec![ocn.id])
            },
            "reports",
        ),
        (new(vec![]), "orgs"),
    ] {
        match store.issue_advisory(&bad, by).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(
        store.advisories().await.unwrap().is_empty(),
        "nothing stored"
    );
    let a = store
        .issue_advisory(&new(vec![ocn.id]), by)
        .await
        .expect("issue");
    assert_eq!(a.tlp, Tlp::Amber, "the default label");
    assert_eq!(a.issuer_name.as_deref(), Some("総務省"));
    assert_eq!(a.recipients, vec![(ocn.id, "ocn".to_string())]);
    let b = store
        .issue_advisory(
            &NewAdvisory {
                tlp: Some(Tlp::Green),
                ..new(vec![iij.id, ocn.id, iij.id])
            },
            by,
        )
        .await
        .expect("issue");
    assert_eq!(b.recipients.len(), 2);
    let ids =
        |v: Vec<bugyo_store::advisories::Advisory>| v.iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(ids(store.advisories().await.unwrap()), [a.id, b.id]);
    assert_eq!(
        ids(store.advisories_for(ocn.id).await.unwrap()),
        [a.id, b.id]
    );
    assert_eq!(ids(store.advisories_for(iij.id).await.unwrap()), [b.id]);
    assert!(store.advisories_for(mic.id).await.unwrap().is_empty());
    assert_eq!(store.advisory(b.id).await.unwrap(), Some(b.clone()));
    assert_eq!(store.advisory(b.id + 100).await.unwrap(), None);
    // Owed to OCN's two contacts for each advisory, IIJ's one for the
    // second.
    let due = store.due_advisory_deliveries(i64::MAX, 100).await.unwrap();
    assert_eq!(due.len(), 5, "{due:?}");
    store
        .mark_advisory_failed(&due[0], "refused", i64::MAX)
        .await
        .unwrap();
    for d in &due[1..] {
        store.mark_advisory_sent(d, "m").await.unwrap();
    }
    assert!(store
        .due_advisory_deliveries(i64::MAX - 1, 100)
        .await
        .unwrap()
        .is_empty());
    let again = store.due_advisory_deliveries(i64::MAX, 100).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    // A contact whose advisory keeps failing is reported like one whose
    // notices do.
    assert_eq!(
        store.failing_contacts(1).await.unwrap(),
        vec![(due[0].contact_id, 1, "refused".to_string())]
    );
    assert!(store.failing_contacts(2).await.unwrap().is_empty());
}

/// Quarterly reports: owed per organisation and ended quarter with a report
/// classified quarterly or major (not none, not pending, not a quarter
/// still running), until recorded as filed; a filing is refused, naming
/// the field, for a bad or running quarter, a bad note or twice; reminders
/// of it are queued once per contact and reminder and stop once it is
/// filed.
async fn quarterly_reports(store: Store) {
    use bugyo_report::{Date, FiscalQuarter};
    use bugyo_store::quarterly::due_date;
    use bugyo_store::reminders::Owed;
    use bugyo_store::reports::Author;
    let now_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64;
    let today = Date::jst(Timestamp::from_micros(now_micros));
    let running = FiscalQuarter::of(today);
    let (q1, q2) = (running.previous(), running.previous().previous());
    // Noon JST, ten days into the quarter.
    let at = |q: FiscalQuarter| {
        Timestamp::from_secs((q.first_day().days() + 10) * 86_400 + 3 * 3_600).rfc3339()
    };
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let iij = store.add_org(&org("iij", &[2497])).await.expect("add");
    let report = |occurred_at: String, users: u64, duration: &str| {
        serde_json::json!({
            "occurred_at": occurred_at, "situation": "IP電話が発信できない",
            "service_class": "voice", "users": users, "duration": duration,
        })
    };
    let quarterly = file(&store, ocn.id, report(at(q2), 1_000, "3h")).await;
    let major = file(&store, ocn.id, report(at(q2), 100_000, "3h")).await;
    file(&store, ocn.id, report(at(q2), 100, "10m")).await; // none
    let pending = serde_json::json!({"occurred_at": at(q1), "situation": "調査中"});
    file(&store, ocn.id, pending).await;
    let recent = Timestamp::from_micros(now_micros - 60_000_000).rfc3339();
    file(&store, ocn.id, report(recent, 1_000, "3h")).await; // running quarter
    let of_iij = file(&store, iij.id, report(at(q1), 50_000, "1h")).await;
    let owed = |store: Store| async move {
        store
            .quarterly_reports_due(now_micros)
            .await
            .expect("due")
            .into_iter()
            .map(|d| {
                let due = due_date(FiscalQuarter::parse(&d.quarter).unwrap()).unwrap();
                assert_eq!(d.due, due.to_string());
                assert_eq!(d.days_left, due.days() - today.days());
                assert_eq!(d.overdue(), d.days_left < 0);
                (d.org, d.quarter, d.reports)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        owed(store.clone()).await,
        vec![
            ("ocn".to_string(), q2.to_string(), vec![quarterly, major]),
            ("iij".to_string(), q1.to_string(), vec![of_iij]),
        ]
    );

    // Filing: bad input names the field; nothing is recorded.
    let by = Author {
        token_id: Some(7),
        user_id: None,
    };
    for (org_id, quarter, note, field) in [
        (ocn.id, "FY2021Q5", None, "quarter"),
        (ocn.id, "2021Q3", None, "quarter"),
        (ocn.id, &running.to_string()[..], None, "quarter"),
        (ocn.id, &q2.to_string()[..], Some("受付\u{7}番号"), "note"),
        (
            ocn.id,
            &q2.to_string()[..],
            Some(&"x".repeat(1001)[..]),
            "note",
        ),
        (999, &q2.to_string()[..], None, "org"),
    ] {
        match store.file_quarterly_report(org_id, quarter, by, note).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{quarter:?}"),
            other => panic!("{quarter:?} {note:?}: {other:?}"),
        }
    }
    assert!(store.quarterly_reports(None).await.unwrap().is_empty());
    let filed = store
        .file_quarterly_report(
            ocn.id,
            &q2.to_string().to_lowercase(),
            by,
            Some(" 受付番号 123 "),
        )
        .await
        .expect("file");
    assert_eq!(
        (
            filed.org.as_str(),
            filed.quarter.clone(),
            filed.token_id,
            filed.note.as_deref()
        ),
        ("ocn", q2.to_string(), Some(7), Some("受付番号 123"))
    );
    match store
        .file_quarterly_report(ocn.id, &q2.to_string(), by, None)
        .await
    {
        Err(StoreError::Invalid {
            field: "quarter",
            message,
        }) => {
            assert!(message.contains("filed"), "{message}")
        }
        other => panic!("filed twice: {other:?}"),
    }
    assert_eq!(
        owed(store.clone()).await,
        vec![("iij".to_string(), q1.to_string(), vec![of_iij])]
    );
    assert_eq!(
        store.quarterly_reports(None).await.unwrap(),
        vec![filed.clone()]
    );
    assert_eq!(
        store.quarterly_reports(Some(ocn.id)).await.unwrap(),
        vec![filed]
    );
    assert!(store
        .quarterly_reports(Some(iij.id))
        .await
        .unwrap()
        .is_empty());

    // Reminders of iij's: once per contact and reminder, until filed.
    let (contact, _) = store.contacts_of(iij.id).await.unwrap()[0].clone();
    let owed_q1 = Owed::Quarterly {
        org_id: iij.id,
        quarter: q1.to_string(),
    };
    let due = due_date(q1).unwrap().to_string();
    for name in ["quarterly-week", "quarterly-day"] {
        assert!(store
            .enqueue_reminder(&owed_q1, contact, name, &due)
            .await
            .unwrap());
        assert!(!store
            .enqueue_reminder(&owed_q1, contact, name, &due)
            .await
            .unwrap());
    }
    let pending = store
        .due_reminders(now_micros + 1_000_000, 100)
        .await
        .unwrap();
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending
        .iter()
        .all(|r| r.owed == owed_q1 && r.contact_id == contact && r.due == due));
    store.mark_reminder_sent(&pending[0], "m1").await.unwrap();
    store
        .mark_reminder_failed(&pending[1], "refused", now_micros + 3_600_000_000)
        .await
        .unwrap();
    assert!(store
        .due_reminders(now_micros + 1_000_000, 100)
        .await
        .unwrap()
        .is_empty());
    let later = now_micros + 7_200_000_000;
    let left = store.due_reminders(later, 100).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        (left[0].reminder.as_str(), left[0].attempts),
        (pending[1].reminder.as_str(), 1)
    );
    assert_eq!(store.failing_contacts(1).await.unwrap()[0].0, contact);
    store
        .file_quarterly_report(iij.id, &q1.to_string(), Author::default(), None)
        .await
        .expect("file");
    assert!(
        store.due_reminders(later, 100).await.unwrap().is_empty(),
        "filed: no more"
    );
    assert!(owed(store.clone()).await.is_empty());

    // Withdrawing a filing made by mistake: bad input names the field and
    // changes nothing; a withdrawal keeps the filing in its history and
    // makes the quarter owed again (and its pending reminder due again)
    // until filed anew.
    let q1s = q1.to_string();
    for (org_id, quarter, reason, field) in [
        (iij.id, "FY2021Q5", "wrong quarter", "quarter"),
        (iij.id, &q2.to_string()[..], "never filed", "quarter"),
        (iij.id, &q1s[..], "  ", "reason"),
        (iij.id, &q1s[..], "理由\u{1b}", "reason"),
        (999, &q1s[..], "no such org", "org"),
    ] {
        match store
            .withdraw_quarterly_report(org_id, quarter, by, reason)
            .await
        {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{quarter:?}"),
            other => panic!("{quarter:?} {reason:?}: {other:?}"),
        }
    }
    assert!(store.quarterly_withdrawals(None).await.unwrap().is_empty());
    let withdrawn = store
        .withdraw_quarterly_report(iij.id, &q1s, by, " 別の四半期と取り違えた ")
        .await
        .expect("withdraw");
    assert_eq!(
        (
            withdrawn.filing.quarter.as_str(),
            withdrawn.filing.org.as_str(),
            withdrawn.token_id,
            withdrawn.reason.as_str()
        ),
        (&q1s[..], "iij", Some(7), "別の四半期と取り違えた")
    );
    assert_eq!(
        store.quarterly_withdrawals(Some(iij.id)).await.unwrap(),
        vec![withdrawn.clone()]
    );
    assert!(store
        .quarterly_withdrawals(Some(ocn.id))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        owed(store.clone()).await,
        vec![("iij".to_string(), q1s.clone(), vec![of_iij])],
        "owed again"
    );
    assert_eq!(store.due_reminders(later, 100).await.unwrap().len(), 1);
    match store
        .withdraw_quarterly_report(iij.id, &q1s, by, "twice")
        .await
    {
        Err(StoreError::Invalid {
            field: "quarter", ..
        }) => {}
        other => panic!("withdrawn twice: {other:?}"),
    }
    store
        .file_quarterly_report(iij.id, &q1s, by, Some("正しい受付番号"))
        .await
        .expect("filed anew");
    assert!(owed(store.clone()).await.is_empty());
    assert_eq!(store.quarterly_withdrawals(None).await.unwrap().len(), 1);
}

/// Portal passwords: refused naming the field when too short, for a user
/// without an e-mail address, for an address another user signs in with
/// and for a disabled user; a sign-in gives the user's portal token (the
/// same one every time, the address in any case); a wrong password or an
/// unknown address is refused alike; the fifth wrong one in a row locks
/// the account, even against the right password, until the lock ends;
/// disabling the user ends it all.
async fn portal_passwords(store: Store) {
    use bugyo_store::passwords::{SignIn, LOCK_SECS};
    let ocn = store.add_org(&org("ocn", &[4713])).await.expect("add");
    let person = |name: &str, email: Option<&str>| NewUser {
        org_id: Some(ocn.id),
        name: name.into(),
        email: email.map(Into::into),
        role: Role::Member,
    };
    let alice = store
        .add_user(&person("alice", Some("Alice@ocn.example")))
        .await
        .unwrap();
    let bob = store.add_user(&person("bob", None)).await.unwrap();
    let carol = store
        .add_user(&person("carol", Some("alice@OCN.example")))
        .await
        .unwrap();
    const RIGHT: &str = "correct horse battery staple";
    for (id, password, field) in [
        (alice.id, "short", "password"),
        (bob.id, RIGHT, "email"),
        (999, RIGHT, "user"),
    ] {
        match store.set_password(id, password).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field, "{id}"),
            other => panic!("{id} {password:?}: {other:?}"),
        }
    }
    let now = now();
    assert_eq!(
        store
            .sign_in_with_password("alice@ocn.example", RIGHT, now)
            .await
            .unwrap(),
        SignIn::Refused,
        "no password yet"
    );
    store.set_password(alice.id, RIGHT).await.expect("set");
    match store.set_password(carol.id, RIGHT).await {
        Err(StoreError::Invalid { field: "email", .. }) => {}
        other => panic!("the same sign-in name twice: {other:?}"),
    }
    let token = match store
        .sign_in_with_password(" ALICE@ocn.example ", RIGHT, now)
        .await
        .unwrap()
    {
        SignIn::Accepted(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (token.user_id, token.org_id, token.role),
        (Some(alice.id), Some(ocn.id), Role::Member)
    );
    // Setting it again keeps the portal token (open sessions go on).
    store
        .set_password(alice.id, "another long passphrase")
        .await
        .unwrap();
    assert_eq!(
        store
            .sign_in_with_password("alice@ocn.example", RIGHT, now)
            .await
            .unwrap(),
        SignIn::Refused,
        "the old password"
    );
    match store
        .sign_in_with_password("alice@ocn.example", "another long passphrase", now)
        .await
        .unwrap()
    {
        SignIn::Accepted(t) => assert_eq!(t.id, token.id),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store
            .sign_in_with_password("nobody@ocn.example", RIGHT, now)
            .await
            .unwrap(),
        SignIn::Refused
    );
    // Changing one's own password needs the current one.
    for (current, new, field) in [
        (
            "not the password",
            "a brand new passphrase",
            "current_password",
        ),
        ("another long passphrase", "short", "new_password"),
    ] {
        match store.change_password(alice.id, current, new).await {
            Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{current:?} {new:?}: {other:?}"),
        }
    }
    store
        .change_password(
            alice.id,
            "another long passphrase",
            "a brand new passphrase",
        )
        .await
        .expect("changed");
    store
        .change_password(
            alice.id,
            "a brand new passphrase",
            "another long passphrase",
        )
        .await
        .expect("changed back");
    // Four wrong in a row are refused, the fifth locks.
    for k in 1..=4 {
        assert_eq!(
            store
                .sign_in_with_password("alice@ocn.example", "wrong guess number", now)
                .await
                .unwrap(),
            SignIn::Refused,
            "try {k}"
        );
    }
    let until = now + LOCK_SECS * 1_000_000;
    assert_eq!(
        store
            .sign_in_with_password("alice@ocn.example", "wrong guess number", now)
            .await
            .unwrap(),
        SignIn::Locked { until }
    );
    assert_eq!(
        store
            .sign_in_with_password("alice@ocn.example", "another long passphrase", now + 1)
            .await
            .unwrap(),
        SignIn::Locked { until },
        "locked even against the right password"
    );
    assert!(matches!(
        store
            .sign_in_with_password("alice@ocn.example", "another long passphrase", until)
            .await
            .unwrap(),
        SignIn::Accepted(_)
    ));
    // Disabled: refused, and no password can be set.
    store.disable_user(alice.id).await.unwrap();
    assert_eq!(
        store
            .sign_in_with_password("alice@ocn.example", "another long passphrase", until)
            .await
            .unwrap(),
        SignIn::Refused
    );
    match store.set_password(alice.id, RIGHT).await {
        Err(StoreError::Invalid { field: "user", .. }) => {}
        other => panic!("{other:?}"),
    }
    // Now carol may take the address as her sign-in name.
    store.set_password(carol.id, RIGHT).await.expect("set");
    assert!(matches!(
        store
            .sign_in_with_password("alice@ocn.example", RIGHT, until)
            .await
            .unwrap(),
        SignIn::Accepted(t) if t.user_id == Some(carol.id)
    ));
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}
