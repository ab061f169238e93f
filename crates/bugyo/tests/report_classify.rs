//! `bugyo report classify` run as operators' scripts run it: one JSON
//! object with the classification, the matched rule and its legal source
//! (001_877f6a2558382331.txt), the deadlines and the table-2 bucket; bad
//! values refused with status 2 and a message naming the flag in English
//! and Japanese.

mod common;
use common::*;
use serde_json::{json, Value};

fn classify(args: &[&str]) -> Value {
    let mut all = vec!["report", "classify"];
    all.extend_from_slice(args);
    let (out, _) = bugyo(&all);
    assert_eq!(out.lines().count(), 1, "one JSON object on one line: {out}");
    serde_json::from_str(&out).expect("JSON")
}

#[test]
fn a_major_accident_of_fy2021() {
    // 001_* table 3 No.5: IP telephony, 62,095 users, 2 h 57 min, 2021-10-09 07:56.
    let v = classify(&[
        "--service-class",
        "voice",
        "--users",
        "62095",
        "--duration",
        "2h57m",
        "--occurred-at",
        "2021-10-09T07:56:00+09:00",
    ]);
    assert_eq!(v["classification"], "major");
    assert_eq!(v["classification_ja"], "重大な事故");
    assert_eq!(v["service_class"], "voice");
    assert_eq!(v["users"], 62_095);
    assert_eq!(v["duration"], "2h57m");
    assert_eq!(v["duration_secs"], 10_620);
    assert_eq!(v["occurred_at"], "2021-10-08T22:56:00Z");
    assert_eq!(v["occurred_at_jst"], "2021-10-09T07:56:00+09:00");
    assert_eq!(v["prompt_report_required"], true);
    assert_eq!(v["detailed_report_due"], "2021-11-08");
    assert_eq!(v["quarter"], "FY2021Q3");
    assert_eq!(v["quarterly_report_due"], "2022-02-28");
    assert_eq!(v["rule"]["id"], "major-voice-2h-30k");
    assert_eq!(v["rule"]["kind"], "major");
    assert_eq!(
        v["rule"]["source"]["law"],
        "電気通信事業法施行規則第58条 二"
    );
    assert_eq!(v["rule"]["source"]["seed"], "001_877f6a2558382331.txt");
    assert_eq!(
        v["detailed_report_source"]["seed"],
        "003_78622d575001fa0d.txt"
    );
    assert_eq!(
        v["bucket"],
        json!({"users": "30k-100k", "users_ja": "3万以上10万未満",
               "duration": "2h-5h", "duration_ja": "2時間以上5時間未満"})
    );
}

#[test]
fn quarterly_and_none() {
    // The JST date decides the quarter: 2022-03-31T20:00Z is 1 April in Japan.
    let v = classify(&[
        "--service-class",
        "free-internet",
        "--users",
        "30,000",
        "--duration",
        "90m",
        "--occurred-at",
        "2022-03-31T20:00:00Z",
    ]);
    assert_eq!(v["classification"], "quarterly");
    assert_eq!(v["rule"]["id"], "quarterly");
    assert_eq!(v["rule"]["source"]["law"], "電気通信事業報告規則第7条の3");
    assert_eq!(v["detailed_report_due"], Value::Null);
    assert_eq!(v["occurred_at_jst"], "2022-04-01T05:00:00+09:00");
    assert_eq!(v["quarter"], "FY2022Q1");
    assert_eq!(v["quarterly_report_due"], "2022-08-31");

    let v = classify(&[
        "--service-class",
        "critical-facility",
        "--users",
        "9",
        "--duration",
        "1h59m59s",
        "--occurred-at",
        "2023-12-01T00:00:00+09:00",
    ]);
    assert_eq!(v["classification"], "none");
    assert_eq!(v["rule"], Value::Null);
    assert_eq!(v["detailed_report_due"], Value::Null);
    assert_eq!(v["quarterly_report_due"], Value::Null);
    assert_eq!(v["quarter"], "FY2023Q3");
    assert_eq!(v["bucket"]["duration"], "1h30m-2h");
}

#[test]
fn the_default_time_is_now_in_jst() {
    let v = classify(&[
        "--service-class",
        "critical-facility",
        "--users",
        "0",
        "--duration",
        "2h",
    ]);
    assert_eq!(v["classification"], "major");
    assert_eq!(v["rule"]["id"], "major-critical-facility-2h");
    let jst = v["occurred_at_jst"].as_str().unwrap();
    assert!(jst.ends_with("+09:00"), "{jst}");
    assert!(v["quarter"].as_str().unwrap().starts_with("FY20"), "{v}");
    assert!(v["detailed_report_due"].is_string());
}

#[test]
fn bad_values_name_the_flag_in_both_languages() {
    let good = [
        ("--service-class", "voice"),
        ("--users", "30000"),
        ("--duration", "2h"),
        ("--occurred-at", "2021-10-09T07:56:00+09:00"),
    ];
    for (flag, value, en, ja) in [
        (
            "--service-class",
            "telephone",
            "is not a service class",
            "役務区分ではありません",
        ),
        (
            "--users",
            "about 30000",
            "is not a number of users",
            "利用者数ではありません",
        ),
        (
            "--users",
            "-1",
            "is not a number of users",
            "利用者数ではありません",
        ),
        ("--duration", "2x", "position 2", "2文字目"),
        ("--duration", "2h 10m", "position 3", "3文字目"),
        ("--duration", "", "position 1", "1文字目"),
        (
            "--occurred-at",
            "2021-10-09 07:56",
            "is not an RFC 3339 time",
            "RFC 3339 の時刻ではありません",
        ),
        (
            "--occurred-at",
            "2021-02-29T00:00:00Z",
            "no such date",
            "RFC 3339 の時刻ではありません",
        ),
    ] {
        let mut args = vec!["report", "classify"];
        for (f, v) in good {
            args.push(f);
            args.push(if f == flag { value } else { v });
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bugyo"))
            .args(&args)
            .output()
            .expect("run bugyo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{flag} {value:?}: nothing on stdout");
        assert!(
            stderr.contains(&format!("error: {flag}:")) && stderr.contains(en),
            "{flag} {value:?}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("エラー: {flag}:")) && stderr.contains(ja),
            "{flag} {value:?}: {stderr}"
        );
    }
    // A flag left out: clap refuses it, also with status 2.
    let (ok, _, err) = try_bugyo(&["report", "classify", "--users", "1", "--duration", "1h"]);
    assert!(!ok);
    assert!(err.contains("--service-class"), "{err}");
}
