//! Outage reports by e-mail, end to end: real messages sent over SMTP to a
//! real Exim that delivers them into a maildir, then `bugyo report intake
//! --maildir` files them into the store (SQLite, and PostgreSQL).
//!
//! The messages are those operators send: Japanese in UTF-8 and in
//! ISO-2022-JP (Japanese mail clients still send it), English in
//! quoted-printable, one from a sender no organisation has as a contact,
//! one whose 発生日時 cannot be read (refused: the time of occurrence is
//! required and is not made up), a follow-up naming `[bugyo report N]`
//! in its Subject, and the same message delivered twice.

mod common;

use bugyo_store::reports::{ReportFilter, Stage};
use bugyo_testdata::smtp::Smtp;
use common::mail::send;
use common::{bugyo, read_store, scratch, try_bugyo};
use encoding_rs::ISO_2022_JP;
use serde_json::{Map, Value};
use std::path::Path;
use std::time::Duration;

/// Base64 of `bytes`.
fn b64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                char::from(A[((n >> (18 - 6 * i)) & 63) as usize])
            } else {
                '='
            });
        }
    }
    out
}

const UTF8_JA: &str = "From: =?UTF-8?B?5bGx55Sw?= <noc@ocn.example>
To: report@mic.example
Subject: =?UTF-8?B?6Zqc5a6z5aCx5ZGK77yI56ys5LiA5aCx77yJ?=
Message-ID: <ja-utf8@ocn.example>
Date: Sat, 09 Oct 2021 08:30:00 +0900
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 8bit

総務省 御中

発生日時: 2021年10月9日 7時56分
発生場所: 東京都、神奈川県
影響サービス: IP電話
サービス区分: 音声伝送役務(緊急通報あり)
状況: 音声通話がつながりにくい状況です。
  復旧作業中です。
影響利用者数: 約3万 (調査中)
これまでの対応: 迂回経路へ切り替え
他事業者への影響: 調査中
法人顧客への影響: 一部の法人回線で発信不可
原因: 調査中
公表可否: 可
他事業者との共有: 否
担当者: 山田 (NOC 03-0000-0000)

--\x20
山田
";

const ISO_JA: &str = "発生日時: 2021-10-10 21:05
発生場所: 大阪府
影響サービス: 光インターネット
サービス区分: その他の役務
状況: 一部地域で通信断
影響利用者数: 1万2千人
継続時間: 1時間30分
公表可否: 否
他事業者との共有: 可
";

const QP_EN: &str = "Occurred at: 2021-10-11 09:00 +0900
Area: Hokkaido
Services: Mobile data
Service class: other
Situation: Packet loss on the backbone between Sapporo and Tokyo; =
customers see slow pages.
Users affected: about 1.2 million (under investigation)
Duration: a while
Response so far: traffic moved to the Sendai route
Share with the public: yes
Share with other operators: yes
Contact: NOC desk =E2=80=94 noc@ocn.example
";

const UNKNOWN: &str = "From: someone@unknown.example
Subject: outage
Message-ID: <unknown@unknown.example>

Occurred at: 2021-10-11 10:00
Situation: our line is down
";

const BAD_DATE: &str = "From: noc@ocn.example
Subject: =?UTF-8?B?6Zqc5a6z5aCx5ZGK?=
Message-ID: <bad-date@ocn.example>
Content-Type: text/plain; charset=utf-8

発生日時: 2021年13月1日 7時
発生場所: 京都府
状況: 通信断
影響利用者数: 500
";

fn iso_2022_jp() -> Vec<u8> {
    let (subject, _, _) = ISO_2022_JP.encode("障害報告（大阪）");
    let mut m = format!(
        "From: \"NOC\" <NOC@OCN.EXAMPLE>\nSubject: =?ISO-2022-JP?B?{}?=\nMessage-ID: <ja-iso@ocn.example>\nDate: Sun, 10 Oct 2021 21:30:00 +0900\nMIME-Version: 1.0\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n",
        b64(&subject)
    )
    .into_bytes();
    let (body, _, unmappable) = ISO_2022_JP.encode(ISO_JA);
    assert!(!unmappable);
    m.extend_from_slice(&body);
    m
}

fn qp_english() -> Vec<u8> {
    format!(
        "From: noc@ocn.example\nSubject: Outage report: Hokkaido\nMessage-ID: <en-qp@ocn.example>\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n{QP_EN}\n--alt\nContent-Type: text/html; charset=utf-8\n\n<p>see the text part</p>\n--alt--\n"
    )
    .into_bytes()
}

fn follow_up(id: i64) -> Vec<u8> {
    format!(
        "From: noc@ocn.example\nSubject: Re: [bugyo report {id}] =?UTF-8?B?57aa5aCx?=\nMessage-ID: <follow-up@ocn.example>\nContent-Type: text/plain; charset=utf-8\n\n継続時間: 2時間57分\n原因: 設定誤り\n"
    )
    .into_bytes()
}

/// Runs the intake; gives whether it exited 0 and its output.
fn intake(maildir: &Path, store: &[&str]) -> (bool, String) {
    let mut args = vec!["report", "intake", "--maildir", maildir.to_str().unwrap()];
    args.extend_from_slice(store);
    let (ok, out, err) = try_bugyo(&args);
    (ok, format!("{out}\n{err}"))
}

/// The body of each report's latest version, by id.
fn reports(url: &str) -> Vec<(i64, Stage, Map<String, Value>)> {
    read_store(url, async |s| {
        let mut out = Vec::new();
        for r in s.reports(&ReportFilter::default()).await.unwrap() {
            let history = s.report_history(r.id).await.unwrap();
            out.push((r.id, r.stage, history.last().unwrap().body.clone()));
        }
        out
    })
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn walk(store: &[&str], url: &str) {
    let smtp = Smtp::start();
    let mut add = vec![
        "org",
        "add",
        "--handle",
        "ocn",
        "--name",
        "NTT OCN",
        "--language",
        "ja",
        "--email",
        "noc@ocn.example",
    ];
    add.extend_from_slice(store);
    bugyo(&add);

    send(smtp.port(), "noc@ocn.example", UTF8_JA.as_bytes());
    send(smtp.port(), "noc@ocn.example", &iso_2022_jp());
    send(smtp.port(), "noc@ocn.example", &qp_english());
    send(smtp.port(), "someone@unknown.example", UNKNOWN.as_bytes());
    send(smtp.port(), "noc@ocn.example", BAD_DATE.as_bytes());
    smtp.wait_for(5, Duration::from_secs(30));
    let maildir = smtp.maildir();

    let (ok, out) = intake(&maildir, store);
    assert!(!ok, "a rejection exits 2:\n{out}");
    assert!(
        out.contains("filed 3, amended 0, already filed 0, rejected 2"),
        "{out}"
    );
    assert!(
        out.contains("受理 3 件、続報・訂正 0 件、受理済み 0 件、却下 2 件"),
        "{out}"
    );
    // The unreadable duration is named with its label and line.
    assert!(
        out.contains("label Duration, line 7 of the report text"),
        "{out}"
    );

    let filed = reports(url);
    assert_eq!(filed.len(), 3, "{filed:?}");
    let by_area = |area: &str| {
        filed
            .iter()
            .find(|(_, _, b)| b["area"] == area)
            .unwrap_or_else(|| panic!("no report for {area}: {filed:?}"))
            .clone()
    };
    let (tokyo_id, stage, tokyo) = by_area("東京都、神奈川県");
    assert_eq!(stage, Stage::First);
    assert_eq!(tokyo["occurred_at"], "2021-10-09T07:56:00+09:00");
    assert_eq!(tokyo["services"], "IP電話");
    assert_eq!(tokyo["service_class"], "voice-emergency");
    assert_eq!(
        tokyo["situation"],
        "音声通話がつながりにくい状況です。\n復旧作業中です。\n\n総務省 御中"
    );
    assert_eq!(tokyo["users"], 30_000);
    assert_eq!(tokyo["users_estimate"], "約3万 (調査中)");
    assert_eq!(tokyo["response"], "迂回経路へ切り替え");
    assert_eq!(tokyo["impact_other_operators"], "調査中");
    assert_eq!(tokyo["impact_enterprise"], "一部の法人回線で発信不可");
    assert_eq!(tokyo["cause"], "調査中");
    assert_eq!(tokyo["share_public"], true);
    assert_eq!(tokyo["share_operators"], false);
    assert_eq!(tokyo["contact"], "山田 (NOC 03-0000-0000)");

    let (_, _, osaka) = by_area("大阪府");
    assert_eq!(osaka["occurred_at"], "2021-10-10T21:05:00+09:00");
    assert_eq!(osaka["services"], "光インターネット");
    assert_eq!(osaka["service_class"], "other");
    assert_eq!(osaka["situation"], "一部地域で通信断");
    assert_eq!(osaka["users"], 12_000);
    assert_eq!(osaka["duration"], "1h30m");
    assert_eq!(osaka["share_public"], false);
    assert_eq!(osaka["share_operators"], true);

    let (_, _, hokkaido) = by_area("Hokkaido");
    assert_eq!(hokkaido["occurred_at"], "2021-10-11T09:00:00+09:00");
    assert_eq!(hokkaido["users"], 1_200_000);
    assert_eq!(
        hokkaido["users_estimate"],
        "about 1.2 million (under investigation)"
    );
    assert_eq!(hokkaido["response"], "traffic moved to the Sendai route");
    assert_eq!(hokkaido["contact"], "NOC desk — noc@ocn.example");
    assert!(hokkaido.get("duration").is_none(), "{hokkaido:?}");
    let situation = hokkaido["situation"].as_str().unwrap();
    assert!(
        situation.starts_with(
            "Packet loss on the backbone between Sapporo and Tokyo; customers see slow pages."
        ),
        "{situation}"
    );
    // The unreadable line is kept, not lost.
    assert!(situation.contains("Duration: a while"), "{situation}");
    assert_eq!(hokkaido["share_public"], true);

    // Filed messages are in cur/, refused ones in rejected/ with a .why.
    assert_eq!(files(&maildir.join("new")), Vec::<String>::new());
    assert_eq!(files(&maildir.join("cur")).len(), 3);
    let rejected = files(&maildir.join("rejected"));
    assert_eq!(rejected.len(), 4, "{rejected:?}");
    let whys: Vec<String> = rejected
        .iter()
        .filter(|n| n.ends_with(".why"))
        .map(|n| std::fs::read_to_string(maildir.join("rejected").join(n)).unwrap())
        .collect();
    let unknown = whys
        .iter()
        .find(|w| w.contains("someone@unknown.example"))
        .expect("a .why for the unknown sender");
    assert!(
        unknown.contains("unknown sender someone@unknown.example"),
        "{unknown}"
    );
    assert!(
        unknown.contains("送信者 someone@unknown.example は不明です"),
        "{unknown}"
    );
    let bad_date = whys
        .iter()
        .find(|w| w.contains("<bad-date@ocn.example>"))
        .expect("a .why for the bad date");
    assert!(
        bad_date.contains("no time of occurrence that can be read")
            && bad_date.contains("label 発生日時, line 1 of the report text")
            && bad_date.contains("13月")
            && bad_date.contains("読み取れる発生日時がありません"),
        "{bad_date}"
    );

    // A follow-up names the report in its Subject.
    send(smtp.port(), "noc@ocn.example", &follow_up(tokyo_id));
    wait_new(&maildir, 1);
    let (ok, out) = intake(&maildir, store);
    assert!(ok, "{out}");
    assert!(
        out.contains("filed 0, amended 1, already filed 0, rejected 0"),
        "{out}"
    );
    let after = reports(url);
    let (_, stage, tokyo) = after.iter().find(|(id, _, _)| *id == tokyo_id).unwrap();
    assert_eq!(*stage, Stage::FollowUp);
    assert_eq!(tokyo["duration"], "2h57m");
    assert_eq!(tokyo["cause"], "設定誤り");
    assert_eq!(tokyo["users"], 30_000, "the rest is kept");
    let versions = read_store(url, async |s| s.report_history(tokyo_id).await.unwrap());
    assert_eq!(versions.len(), 2);
    assert!(
        versions[1]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("e-mail <follow-up@ocn.example>: Re: [bugyo report"),
        "{:?}",
        versions[1].reason
    );

    // A second follow-up that would take the report back to a first
    // report: the store refuses the stage, which is left out and named,
    // and the rest (the situation, given below its label) is filed.
    let second = format!(
        "From: noc@ocn.example\nSubject: [bugyo report {tokyo_id}]\nMessage-ID: <follow-up-2@ocn.example>\nContent-Type: text/plain; charset=utf-8\n\n報告区分: 第一報\n状況:\n復旧しました。\n"
    );
    send(smtp.port(), "noc@ocn.example", second.as_bytes());
    wait_new(&maildir, 1);
    let (ok, out) = intake(&maildir, store);
    assert!(ok, "{out}");
    assert!(
        out.contains("filed 0, amended 1, already filed 0, rejected 0"),
        "{out}"
    );
    assert!(out.contains("field stage: "), "{out}");
    let after = reports(url);
    let (_, stage, tokyo) = after.iter().find(|(id, _, _)| *id == tokyo_id).unwrap();
    assert_eq!(*stage, Stage::FollowUp);
    assert_eq!(tokyo["situation"], "復旧しました。");
    assert_eq!(tokyo["duration"], "2h57m");

    // The same message delivered again is not filed twice; a run with
    // nothing new files nothing.
    send(smtp.port(), "noc@ocn.example", UTF8_JA.as_bytes());
    wait_new(&maildir, 1);
    let (ok, out) = intake(&maildir, store);
    assert!(ok, "{out}");
    assert!(
        out.contains("filed 0, amended 0, already filed 1, rejected 0"),
        "{out}"
    );
    let (ok, out) = intake(&maildir, store);
    assert!(ok, "{out}");
    assert!(
        out.contains("filed 0, amended 0, already filed 0, rejected 0"),
        "{out}"
    );
    assert_eq!(reports(url).len(), 3);

    // Each filing is audited with its Message-ID.
    let audit = common::audit_log(url);
    let mail: Vec<(&str, &str)> = audit
        .iter()
        .filter(|e| e.action.starts_with("report-mail"))
        .map(|e| (e.action.as_str(), e.object.as_str()))
        .collect();
    for id in [
        "<ja-utf8@ocn.example>",
        "<ja-iso@ocn.example>",
        "<en-qp@ocn.example>",
        "<follow-up@ocn.example>",
    ] {
        assert_eq!(
            mail.iter()
                .filter(|(a, o)| *a == "report-mail" && *o == id)
                .count(),
            1,
            "{id}: {mail:?}"
        );
    }
    assert!(mail.contains(&("report-mail-rejected", "<unknown@unknown.example>")));

    // Without --smtp the replies wait for bugyo notify: one per message
    // filed or refused, none to the unknown sender (backscatter).
    let replies = read_store(url, async |s| {
        let mut out = Vec::new();
        for key in [
            "<ja-utf8@ocn.example>",
            "<follow-up@ocn.example>",
            "<bad-date@ocn.example>",
            "<unknown@unknown.example>",
        ] {
            out.push(s.mail_reply_status(key).await.unwrap());
        }
        out
    });
    let pending = Some(("pending".to_string(), 0));
    assert_eq!(
        replies,
        [pending.clone(), pending.clone(), pending, None],
        "replies owed"
    );

    // A run with --smtp sends them (in Japanese, the organisation's
    // language), each once, threaded under its original.
    let relay = Smtp::start();
    let smtp = format!("127.0.0.1:{}", relay.port());
    let mut args = vec![
        "report",
        "intake",
        "--maildir",
        maildir.to_str().unwrap(),
        "--smtp",
        &smtp,
    ];
    args.extend_from_slice(store);
    let (ok, out, err) = try_bugyo(&args);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("replies sent 6, failed 0"), "{out}\n{err}");
    let sent = relay.wait_for(6, Duration::from_secs(30));
    let tokyo_reply = sent
        .iter()
        .find(|m| m.contains("In-Reply-To: <ja-utf8@ocn.example>"))
        .expect("a reply to the first report");
    let tokyo_subject = common::mail::subject(tokyo_reply);
    assert!(
        tokyo_subject.starts_with(&format!("[bugyo report {tokyo_id}] 報告を受け付けました")),
        "{tokyo_subject}"
    );
    let refused = sent
        .iter()
        .find(|m| m.contains("In-Reply-To: <bad-date@ocn.example>"))
        .map(|m| common::mail::decode(m))
        .expect("a reply to the refused report");
    assert!(
        refused.contains("この報告メールは受理されませんでした: 読み取れる発生日時がありません"),
        "{refused}"
    );
    let (ok, out, _) = try_bugyo(&args);
    assert!(ok && out.contains("replies sent 0"), "{out}");
    assert_eq!(relay.messages().len(), 6);
}

/// Waits until `n` messages are in `maildir/new`.
fn wait_new(maildir: &Path, n: usize) {
    bugyo_testdata::wait_until(
        Duration::from_secs(30),
        || (files(&maildir.join("new")).len() >= n).then_some(()),
        || format!("{n} message(s) awaited in {}", maildir.display()),
    );
}

#[test]
fn sqlite() {
    let dir = scratch("report-mail-sqlite");
    let store = dir.join("store");
    let url = bugyo_store::sqlite_url(&store);
    walk(&["--data-dir", store.to_str().unwrap()], &url);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres() {
    let pg = bugyo_testdata::postgres::Postgres::start();
    let url = pg.url();
    walk(&["--database", &url], &url);
}

/// A sender who is a contact of two organisations (one NOC serving two
/// operating companies) is refused until the Subject says which one with
/// `[bugyo org HANDLE]`; a tag naming neither is refused the same way.
#[test]
fn a_contact_of_two_organisations_names_one() {
    let dir = scratch("report-mail-two-orgs");
    let data = dir.join("store");
    let store = ["--data-dir", data.to_str().unwrap()];
    let url = bugyo_store::sqlite_url(&data);
    for handle in ["ocn", "ocn-east"] {
        let mut add = vec![
            "org",
            "add",
            "--handle",
            handle,
            "--name",
            handle,
            "--email",
            "noc@shared.example",
        ];
        add.extend_from_slice(&store);
        bugyo(&add);
    }
    let smtp = Smtp::start();
    let message = |id: &str, subject: &str| {
        UTF8_JA
            .replace("noc@ocn.example", "noc@shared.example")
            .replace("<ja-utf8@ocn.example>", id)
            .replace(
                "Subject: =?UTF-8?B?6Zqc5a6z5aCx5ZGK77yI56ys5LiA5aCx77yJ?=",
                &format!("Subject: {subject}"),
            )
    };
    for (id, subject) in [
        ("<untagged@shared.example>", "first report"),
        (
            "<elsewhere@shared.example>",
            "[bugyo org kddi] first report",
        ),
        (
            "<tagged@shared.example>",
            "[bugyo org OCN-East] first report",
        ),
    ] {
        send(
            smtp.port(),
            "noc@shared.example",
            message(id, subject).as_bytes(),
        );
    }
    smtp.wait_for(3, Duration::from_secs(30));
    let maildir = smtp.maildir();
    let (ok, out) = intake(&maildir, &store);
    assert!(!ok, "a rejection exits 2:\n{out}");
    assert!(
        out.contains("filed 1, amended 0, already filed 0, rejected 2"),
        "{out}"
    );
    let why: Vec<String> = files(&maildir.join("rejected"))
        .into_iter()
        .filter(|n| n.ends_with(".why"))
        .map(|n| std::fs::read_to_string(maildir.join("rejected").join(n)).unwrap())
        .collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why.iter().all(
            |w| w.contains("several organisations (ocn, ocn-east)") && w.contains("[bugyo org")
        ),
        "{why:?}"
    );
    let filed = read_store(&url, async |s| {
        s.reports(&ReportFilter::default()).await.unwrap()
    });
    assert_eq!(filed.len(), 1);
    assert_eq!(filed[0].org, "ocn-east");
    let _ = std::fs::remove_dir_all(dir);
}
