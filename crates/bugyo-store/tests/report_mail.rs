//! Filing a report from e-mail is one transaction: the same message filed
//! twice at once, or again after a failure part-way, gives one report, one
//! `report-mail` audit entry and one reply owed. On both backends.

use bugyo_store::report_mail::{MailFiled, MailIn, MailTarget, FILED};
use bugyo_store::reports::{Author, ReportFilter};
use bugyo_store::{Contact, ContactKind, NewOrg, Store};
use serde_json::{json, Map, Value};

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("an object")
}

async fn filed_once(store: Store) {
    let org = store
        .add_org(&NewOrg {
            handle: "ocn".into(),
            name: "NTT OCN".into(),
            language: "ja".into(),
            contacts: vec![Contact {
                kind: ContactKind::Email,
                address: "noc@ocn.example".into(),
                role: "noc".into(),
                secret: None,
            }],
            ..NewOrg::default()
        })
        .await
        .expect("add org");
    let contact = store.contacts_of(org.id).await.unwrap()[0].0;
    let report = fields(json!({
        "occurred_at": "2021-10-09T07:56:00+09:00",
        "situation": "音声通話がつながりにくい",
    }));
    let mail = |key: &'static str, reply_to: Option<i64>| MailIn {
        key,
        message_id: Some(key),
        reply_to,
        detail: fields(json!({"subject": "障害報告"})),
    };

    // A failure after the report is written (the reply's contact does not
    // exist) leaves nothing behind: no report, no audit entry.
    let broken = mail("<a@ocn.example>", Some(contact + 1000));
    let e = store
        .file_report_from_mail(org.id, &report, MailTarget::New, Author::default(), &broken)
        .await;
    assert!(e.is_err(), "{e:?}");
    assert!(store
        .reports(&ReportFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(!store.mail_filed("<a@ocn.example>").await.unwrap());
    assert!(store
        .audit_entries(FILED, "<a@ocn.example>")
        .await
        .unwrap()
        .is_empty());

    // The same message filed twice at once: one report.
    let m = mail("<a@ocn.example>", Some(contact));
    let (one, two) = tokio::join!(
        store.file_report_from_mail(org.id, &report, MailTarget::New, Author::default(), &m),
        store.file_report_from_mail(org.id, &report, MailTarget::New, Author::default(), &m),
    );
    let mut outcomes = [one.expect("first"), two.expect("second")];
    outcomes.sort_by_key(|o| matches!(o, MailFiled::Seen));
    let MailFiled::Filed { report_id, version } = outcomes[0] else {
        panic!("{outcomes:?}");
    };
    assert_eq!((outcomes[1], version), (MailFiled::Seen, 1));
    assert_eq!(
        store.reports(&ReportFilter::default()).await.unwrap().len(),
        1
    );
    assert!(store.mail_filed("<a@ocn.example>").await.unwrap());
    let audit = store.audit_entries(FILED, "<a@ocn.example>").await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    let detail: Value = serde_json::from_str(&audit[0].detail).unwrap();
    assert_eq!(detail["report"], report_id);
    assert_eq!(detail["outcome"], "filed");
    let replies = store.due_mail_replies(i64::MAX, 10).await.unwrap();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].contact_id, contact);
    assert_eq!(replies[0].in_reply_to.as_deref(), Some("<a@ocn.example>"));
    assert_eq!(replies[0].what["report"], report_id);

    // A follow-up amends that report once; another organisation's report
    // number is refused without writing anything.
    let follow = mail("<b@ocn.example>", Some(contact));
    let amend = MailTarget::Amend {
        id: report_id,
        reason: "e-mail <b@ocn.example>",
    };
    let cause = fields(json!({"cause": "設定誤り"}));
    for expected in [
        MailFiled::Filed {
            report_id,
            version: 2,
        },
        MailFiled::Seen,
    ] {
        let got = store
            .file_report_from_mail(org.id, &cause, amend, Author::default(), &follow)
            .await
            .unwrap();
        assert_eq!(got, expected);
    }
    let other = MailTarget::Amend {
        id: report_id + 1,
        reason: "x",
    };
    let stray = mail("<c@ocn.example>", Some(contact));
    assert_eq!(
        store
            .file_report_from_mail(org.id, &cause, other, Author::default(), &stray)
            .await
            .unwrap(),
        MailFiled::NoSuchReport
    );
    assert_eq!(store.report_history(report_id).await.unwrap().len(), 2);

    // A refusal owes one reply however often the message is refused.
    let refused = mail("<d@ocn.example>", Some(contact));
    for _ in 0..2 {
        store.reject_mail(Some(org.id), &refused).await.unwrap();
    }
    let replies = store.due_mail_replies(i64::MAX, 10).await.unwrap();
    assert_eq!(replies.len(), 3, "{replies:?}");
    let r = replies
        .iter()
        .find(|r| r.message_key == "<d@ocn.example>")
        .unwrap();
    assert_eq!(r.what["outcome"], "rejected");
    store.mark_mail_reply_failed(r, "down", 0).await.unwrap();
    assert_eq!(
        store.mail_reply_status("<d@ocn.example>").await.unwrap(),
        Some(("pending".to_string(), 1))
    );
    store.mark_mail_reply_sent(r, "bugyo-x").await.unwrap();
    assert_eq!(
        store.mail_reply_status("<d@ocn.example>").await.unwrap(),
        Some(("sent".to_string(), 2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = bugyo_testdata::scratch("store-report-mail");
    let store = Store::open_data_dir(&dir).await.expect("open");
    filed_once(store.clone()).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let pg = tokio::task::spawn_blocking(bugyo_testdata::postgres::Postgres::start)
        .await
        .expect("start PostgreSQL");
    let store = Store::open(&pg.url()).await.expect("open");
    filed_once(store.clone()).await;
    store.close().await;
}
