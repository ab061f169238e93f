//! The portal end to end in real headless Chromium (Debian's chromium and
//! chromedriver), against `bugyo serve` on loopback with a detected leak in
//! its store:
//!
//! - an operator (OCN, whose prefixes were leaked) signs in and files a
//!   first report; bad input comes back with a message next to each field
//!   and what was typed kept, and nothing is stored;
//! - the regulator sees the report grouped with the detected leak in the
//!   whole picture, and sends the members concerned an advisory from it,
//!   which the operator finds on its dashboard;
//! - the operator corrects the number of users; the report becomes a major
//!   accident, and the public status page shows the correction as before
//!   and after, with the same words in its SNS text and Atom feed;
//! - screenshots of the incident page (timeline and AS graph) and of the
//!   other pages are saved in `target/tmp/portal-screenshots` and checked
//!   to be drawn, not blank;
//! - another member sees neither the raw routes nor the unshared report;
//! - every page says its language.

mod common;

use common::portal::{populate, replay_leak, PASSWORD};
use common::serve::Serve;
use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

async fn browser(driver: &bugyo_testdata::chromium::Chromedriver, lang: &str) -> Client {
    let caps: serde_json::Map<String, Value> =
        serde_json::from_str(&driver.capabilities(lang)).unwrap();
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("a Chromium session through chromedriver")
}

/// Waits (bounded) for the page to be one whose path `ok` accepts: a
/// click on a form's button returns before the next page has loaded.
async fn wait_path(c: &Client, ok: impl Fn(&str) -> bool) -> url::Url {
    for _ in 0..100 {
        let url = c.current_url().await.unwrap();
        let ready = c
            .execute("return document.readyState", vec![])
            .await
            .ok()
            .and_then(|v| v.as_str().map(|s| s == "complete"))
            .unwrap_or(false);
        if ok(url.path()) && ready {
            return url;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("still on {}", c.current_url().await.unwrap());
}

async fn text(c: &Client, css: &str) -> String {
    match c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e.text().await.unwrap(),
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = c.source().await.unwrap_or_default();
            panic!("{css} not on {url}: {e}\n{page}")
        }
    }
}

/// Signs in with an access token, as a person would: open "sign in with
/// an access token", type it, send.
async fn sign_in(c: &Client, base: &str, token: &str) {
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/login")).await.unwrap();
    c.find(Locator::Css("details summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("#token-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, |p| !p.starts_with("/login")).await;
}

/// Signs in with an e-mail address and the password of every person
/// [`populate`] registers.
async fn sign_in_with_password(c: &Client, base: &str, email: &str) {
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/login")).await.unwrap();
    for (id, value) in [("email", email), ("password", PASSWORD)] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Css("#password-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(c, |p| !p.starts_with("/login")).await;
}

/// Types `value` into the field `id` (replacing what it held).
async fn fill(c: &Client, id: &str, value: &str) {
    c.execute(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];",
        vec![id.into(), value.into()],
    )
    .await
    .unwrap_or_else(|e| panic!("fill {id}: {e}"));
}

async fn submit(c: &Client, form: &str) {
    c.find(Locator::Css(&format!(
        "form[action='{form}'] button[type=submit]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
}

/// True if the PNG is a drawn picture: several colours, not one blank.
fn drawn(png_bytes: &[u8], what: &str) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let colours: std::collections::BTreeSet<&[u8]> = pixels.iter().copied().collect();
    let first = pixels[0];
    let different = pixels.iter().filter(|p| **p != first).count();
    assert!(
        colours.len() >= 4 && different * 100 >= pixels.len(),
        "{what} looks blank: {} colours, {different} of {} pixels differ",
        colours.len(),
        pixels.len()
    );
    colours.len()
}

async fn walk(
    base: &str,
    dir: &Path,
    tokens: &std::collections::BTreeMap<&str, String>,
    incident: i64,
) {
    let driver = bugyo_testdata::chromium::Chromedriver::start(dir);
    let c = browser(&driver, "ja").await;

    // Public pages need no sign-in, and say their language.
    c.goto(&format!("{base}/status")).await.unwrap();
    assert_eq!(
        c.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("ja")
    );
    assert!(text(&c, "#no-outages")
        .await
        .contains("公表中の障害はありません"));

    // The operator files a first report: bad input first.
    sign_in(&c, base, &tokens["ocn"]).await;
    c.goto(&format!("{base}/reports/new")).await.unwrap();
    // During the leak (03:50–04:00 JST): the regulator's picture groups it
    // with the leak by time and victim, without the operator linking them.
    fill(&c, "occurred_at", "2017-08-25T03:55").await;
    fill(&c, "situation", "一部のお客様で Google 等への通信が不安定").await;
    fill(&c, "users", "約3万").await;
    fill(&c, "duration", "long").await;
    submit(&c, "/reports/new").await;
    let users_error = text(&c, "#users-error").await;
    assert!(users_error.contains("users_estimate"), "{users_error}");
    assert!(!text(&c, "#duration-error").await.is_empty());
    let kept = c
        .find(Locator::Id("situation"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("一部のお客様で Google 等への通信が不安定"),
        "what was typed is kept"
    );
    assert!(
        c.find(Locator::Id("occurred_at-error")).await.is_err(),
        "a good field has no message"
    );
    let (s, list) = common::serve::api(
        port_of(base),
        "GET",
        "/api/v1/reports",
        Some(&tokens["ocn"]),
        None,
    );
    assert_eq!(
        (s, list["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "nothing half-written stored"
    );

    fill(&c, "users", "").await;
    fill(&c, "users_estimate", "約3万(調査中)").await;
    fill(&c, "duration", "").await;
    fill(&c, "area", "東京都、大阪府").await;
    fill(&c, "services", "OCN インターネット接続").await;
    fill(
        &c,
        "public_summary_ja",
        "一部のお客様でインターネット接続が不安定です。約3万のお客様に影響しています。",
    )
    .await;
    fill(
        &c,
        "public_summary_en",
        "Some customers' Internet access is unstable; about 30,000 affected.",
    )
    .await;
    c.execute(
        "document.getElementById('service_class').value = 'other'; document.getElementById('share_public').checked = true;",
        vec![],
    )
    .await
    .unwrap();
    submit(&c, "/reports/new").await;
    let url = wait_path(&c, |p| p != "/reports/new").await;
    let report: i64 = url
        .path()
        .strip_prefix("/reports/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("filed, on its page: {url}"));
    assert!(text(&c, "#classification").await.contains("未判定"));

    // Another member may not see it (not shared with operators), nor the
    // leak's raw routes.
    sign_in(&c, base, &tokens["kddi"]).await;
    c.goto(&format!("{base}/reports/{report}")).await.unwrap();
    assert!(text(&c, "h1").await.contains("見つかりません"));
    c.goto(&format!("{base}/incidents/{incident}"))
        .await
        .unwrap();
    let page = c.source().await.unwrap();
    assert!(
        !page.contains("60.0.1.0/24"),
        "no prefixes for an unconcerned member"
    );
    assert!(
        !page.contains("2497 701 15169 4713"),
        "no AS paths for an unconcerned member"
    );

    // The regulator sees the report grouped with the detected leak.
    sign_in_with_password(&c, base, "regulator@soumu.example").await;
    c.goto(&format!("{base}/picture?since=2017-08-01&until=2017-09-01"))
        .await
        .unwrap();
    let group = c
        .find(Locator::XPath(&format!(
            "//section[contains(@class,'group')][.//a[@href='/reports/{report}']][.//a[@href='/incidents/{incident}']]"
        )))
        .await
        .unwrap_or_else(|e| panic!("no group holds report {report} and incident {incident}: {e}"));
    let why = group.text().await.unwrap();
    assert!(
        why.contains("同時刻・同じ被害 AS"),
        "grouped by time and victim: {why}"
    );

    // ... and tells the members concerned, from that group.
    group
        .find(Locator::Css("a.advise"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&c, |p| p == "/advisories/new").await;
    let ticked = c
        .find(Locator::Css("input[name=org][value=ocn]"))
        .await
        .unwrap()
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(
        ticked.as_deref(),
        Some("true"),
        "the group's member is addressed"
    );
    fill(&c, "title_ja", "経路リークへの対応のお願い").await;
    fill(&c, "title_en", "Please act on the route leak").await;
    fill(
        &c,
        "body_ja",
        "AS15169 による経路リークの影響を確認してください。",
    )
    .await;
    submit(&c, "/advisories").await;
    assert!(
        !text(&c, "#body_en-error").await.is_empty(),
        "the English text is required"
    );
    fill(
        &c,
        "body_en",
        "Please check the impact of the leak by AS15169.",
    )
    .await;
    submit(&c, "/advisories").await;
    let url = wait_path(&c, |p| {
        p.starts_with("/advisories/") && p != "/advisories/new"
    })
    .await;
    assert!(text(&c, "#recipients").await.contains("ocn"), "{url}");

    // The operator corrects the users: a major accident now. The advisory
    // waits on its dashboard.
    sign_in(&c, base, &tokens["ocn"]).await;
    assert!(text(&c, "table.advisories")
        .await
        .contains("経路リークへの対応のお願い"));
    c.goto(&format!("{base}/reports/{report}/amend"))
        .await
        .unwrap();
    fill(&c, "users", "120,000").await;
    fill(&c, "users_estimate", "約12万").await;
    fill(&c, "duration", "2h30m").await;
    fill(
        &c,
        "public_summary_ja",
        "一部のお客様でインターネット接続が不安定でした。約12万のお客様に影響しました。",
    )
    .await;
    fill(&c, "reason", "影響利用者数の精査による訂正").await;
    c.execute("document.getElementById('stage').value = 'final';", vec![])
        .await
        .unwrap();
    submit(&c, &format!("/reports/{report}/amend")).await;
    wait_path(&c, |p| p == format!("/reports/{report}")).await;
    assert!(text(&c, "#classification").await.contains("重大な事故"));
    assert!(!text(&c, "#detailed-due").await.is_empty());
    assert!(
        text(&c, "#rule").await.contains("30000"),
        "the rule met is named"
    );

    // Its deadlines: the detailed report (30 days) and the quarterly
    // report of FY2017Q2 are long overdue; OCN records the quarterly one.
    c.goto(&format!("{base}/deadlines")).await.unwrap();
    let detailed = text(&c, "#detailed-owed").await;
    assert!(
        detailed.contains(&format!("#{report}")) && detailed.contains("期限超過"),
        "{detailed}"
    );
    let owed = text(&c, "#quarterly-owed tr[data-quarter=FY2017Q2]").await;
    assert!(
        owed.contains("2017-11-30") && owed.contains("期限超過"),
        "{owed}"
    );
    fill(&c, "note-FY2017Q2", "総務省受付 第123号").await;
    submit(&c, "/deadlines/quarterly").await;
    let filed = text(&c, "#quarterly-filed tr[data-quarter=FY2017Q2]").await;
    assert!(filed.contains("総務省受付 第123号"), "{filed}");
    assert!(
        c.find(Locator::Css("#quarterly-owed tr[data-quarter=FY2017Q2]"))
            .await
            .is_err(),
        "no longer owed"
    );
    // Recorded with the wrong receipt number: withdrawn with a reason
    // (kept, and the quarter owed again), then recorded anew.
    fill(&c, "reason-FY2017Q2", "受付番号の誤り").await;
    submit(&c, "/deadlines/quarterly/withdraw").await;
    let withdrawn = text(&c, "#quarterly-withdrawn tr[data-quarter=FY2017Q2]").await;
    assert!(
        withdrawn.contains("受付番号の誤り") && withdrawn.contains("FY2017Q2"),
        "{withdrawn}"
    );
    let owed = text(&c, "#quarterly-owed tr[data-quarter=FY2017Q2]").await;
    assert!(owed.contains("期限超過"), "owed again: {owed}");
    fill(&c, "note-FY2017Q2", "総務省受付 第124号").await;
    submit(&c, "/deadlines/quarterly").await;
    let filed = text(&c, "#quarterly-filed tr[data-quarter=FY2017Q2]").await;
    assert!(filed.contains("総務省受付 第124号"), "{filed}");

    // The public page shows the correction as before and after.
    c.delete_all_cookies().await.unwrap();
    c.goto(&format!("{base}/status/reports/{report}"))
        .await
        .unwrap();
    let before = text(&c, "#update-2 tr[data-field='users_estimate'] td.before").await;
    let after = text(&c, "#update-2 tr[data-field='users_estimate'] td.after").await;
    assert_eq!(
        (before.as_str(), after.as_str()),
        ("約3万(調査中)", "約12万")
    );
    let sns = text(&c, "#sns").await;
    assert!(sns.contains("約12万") && sns.contains("復旧済み"), "{sns}");
    assert!(sns.chars().count() <= 140);
    assert!(
        sns.contains("NTT Communications"),
        "the operator's name, not its handle: {sns}"
    );
    let txt = common::serve::http_get(
        port_of(base),
        &format!("/status/reports/{report}/sns.txt?lang=ja"),
    );
    assert_eq!(
        txt.split_once("\r\n\r\n").map(|(_, b)| b.trim_end()),
        Some(sns.as_str()),
        "the text for SNS is the page's"
    );
    let feed = common::serve::http_get(port_of(base), "/status/feed.atom?lang=en");
    assert!(
        feed.contains("about 30,000") && feed.contains("<entry>"),
        "{feed}"
    );
    // English on request, with the English public text.
    c.goto(&format!("{base}/status/reports/{report}?lang=en"))
        .await
        .unwrap();
    assert_eq!(
        c.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("en")
    );
    assert!(text(&c, "#current").await.contains("about 30,000"));

    // The incident page's pictures, as the regulator sees them.
    sign_in_with_password(&c, base, "regulator@soumu.example").await;
    c.goto(&format!("{base}/incidents/{incident}"))
        .await
        .unwrap();
    // Kept after the test (target/tmp/portal-screenshots) for people to look at.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (id, name) in [("timeline", "timeline"), ("as-graph", "as-graph")] {
        let el = c
            .find(Locator::Css(&format!("#{id} svg")))
            .await
            .unwrap_or_else(|e| panic!("#{id} has no picture: {e}"));
        let png = el.screenshot().await.unwrap();
        std::fs::write(shots.join(format!("{name}.png")), &png).unwrap();
        drawn(&png, name);
    }
    let whole = c.screenshot().await.unwrap();
    std::fs::write(shots.join("incident.png"), &whole).unwrap();
    drawn(&whole, "incident page");
    assert!(
        text(&c, "#evidence")
            .await
            .contains("影響を受けたプレフィックス 16 件"),
        "the evidence in Japanese"
    );
    let graph = text(&c, "#as-graph").await;
    let source = c.source().await.unwrap();
    for asn in ["AS4713", "AS15169", "AS701"] {
        assert!(source.contains(asn), "{asn} in the AS graph: {graph}");
    }
    // The statistics of the quarter count the major accident, in a table,
    // a chart and CSV.
    c.goto(&format!("{base}/statistics?period=FY2017Q2"))
        .await
        .unwrap();
    let major = text(&c, "#by-classification tr[data-key=major] td.num").await;
    assert_eq!(
        major, "1",
        "the corrected report is a major accident of FY2017Q2"
    );
    let bars = c
        .find(Locator::Css("svg.bars"))
        .await
        .unwrap()
        .screenshot()
        .await
        .unwrap();
    drawn(&bars, "statistics chart");
    std::fs::write(shots.join("statistics.png"), c.screenshot().await.unwrap()).unwrap();
    for (path, name) in [
        (
            "/picture?since=2017-08-01&until=2017-09-01".to_string(),
            "picture",
        ),
        (format!("/reports/{report}"), "report"),
        ("/".to_string(), "dashboard"),
        (format!("/status/reports/{report}"), "status"),
    ] {
        c.goto(&format!("{base}{path}")).await.unwrap();
        std::fs::write(
            shots.join(format!("{name}.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
    }
    c.close().await.unwrap();
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn an_outage_report_from_first_report_to_public_correction() {
    let dir = scratch("portal-e2e");
    let data = dir.join("data");
    replay_leak(&dir, &["--data-dir", data.to_str().unwrap()]);
    let tokens = populate(&["--data-dir", data.to_str().unwrap()]);
    let incident = read_store(&bugyo_store::sqlite_url(&data), async |s| {
        s.incidents(&bugyo_store::IncidentFilter {
            kind: Some("route-leak".into()),
            ..Default::default()
        })
        .await
        .unwrap()
    });
    assert_eq!(incident.len(), 1, "one leak: {incident:?}");
    let bgp = format!("127.0.0.1:{}", bugyo_testdata::gobgp::free_port());
    let mut serve = Serve::start(&dir, &["--bgp-listen".into(), bgp]);
    serve.metrics();
    let base = format!("http://127.0.0.1:{}", serve.http_port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = rt.block_on(async {
        tokio::time::timeout(
            Duration::from_secs(300),
            walk(&base, &dir, &tokens, incident[0].id),
        )
        .await
    });
    serve.stop();
    run.expect("the walk took more than 5 minutes");
    let _ = std::fs::remove_dir_all(dir);
}
