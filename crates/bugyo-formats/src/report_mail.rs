//! Outage reports that arrive by e-mail (issue 5, part 3): the regulator
//! takes reports by phone, e-mail or fax (JANOG42,
//! 003_78622d575001fa0d.txt), and operators write them as `label: value`
//! lines, in Japanese or English:
//!
//! ```text
//! 発生日時: 2021年10月9日 7時56分
//! 発生場所: 東京都、神奈川県
//! 影響サービス: IP電話
//! 状況: 音声通話がつながりにくい
//! 影響利用者数: 約3万 (調査中)
//! 公表可否: 可
//! ```
//!
//! [`parse`] reads one RFC 5322 message (bytes) into the sender's address,
//! the Subject (RFC 2047 decoded), the Message-ID, the Date and the
//! report's fields as a JSON object with the store's field names
//! ([`FIELDS`]). MIME is decoded: the text/plain parts of multipart
//! messages, base64 and quoted-printable, UTF-8, ISO-2022-JP and Shift_JIS
//! (the `mime` submodule). The labels and how their values are read
//! are in the `labels` and `values` submodules.
//!
//! Reading never stops at a problem: each is a [`MailProblem`] naming the
//! header or label and its line, and a value that cannot be read (a bad
//! date) leaves its field out and its line in `situation`, while every
//! other field is still returned. Whether a report can be filed (the store
//! requires `occurred_at` and `situation`) is the store's decision.

mod labels;
mod mime;
mod values;

use serde_json::{Map, Value};
use std::fmt;

/// The report fields [`parse`] can fill (a subset of the store's).
pub const FIELDS: &[&str] = &[
    "stage",
    "occurred_at",
    "area",
    "services",
    "service_class",
    "situation",
    "users",
    "users_estimate",
    "duration",
    "complaints",
    "response",
    "impact_other_operators",
    "impact_enterprise",
    "cause",
    "cause_category",
    "failed_equipment",
    "measures",
    "recurrence_prevention",
    "user_communication",
    "public_summary_ja",
    "public_summary_en",
    "contact",
    "share_public",
    "share_operators",
];

/// Longest text of a field, in characters (as the store takes).
pub const MAX_TEXT: usize = 10_000;
/// Longest users estimate, in characters (as the store takes).
pub const MAX_ESTIMATE: usize = 200;
/// Most users or complaints (as the store takes).
pub const MAX_COUNT: u64 = 1_000_000_000;

/// Where in a message a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A header field, by name; its line is a line of the message (0 in
    /// a body part of a multipart message).
    Header(String),
    /// A label of the report text as the operator wrote it; its line is a
    /// line of the report text (the decoded text parts, joined), 0 for the
    /// report as a whole.
    Label(String),
}

/// One problem found while reading a report mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailProblem {
    /// The header or label at fault.
    pub place: Place,
    /// Its 1-based line (see [`Place`]); 0 when there is none.
    pub line: usize,
    /// The report field it concerns, if any.
    pub field: Option<&'static str>,
    /// What is wrong, in English.
    pub en: String,
    /// What is wrong, in Japanese.
    pub ja: String,
}

impl MailProblem {
    fn new(place: Place, line: usize, en: impl Into<String>, ja: impl Into<String>) -> Self {
        MailProblem {
            place,
            line,
            field: None,
            en: en.into(),
            ja: ja.into(),
        }
    }

    fn for_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// Where, in English: `header Date, line 4` or `label 発生日時, line 3
    /// of the report text`.
    pub fn where_en(&self) -> String {
        let (what, name, of) = match &self.place {
            Place::Header(h) => ("header", h, ""),
            Place::Label(l) => ("label", l, " of the report text"),
        };
        match self.line {
            0 => format!("{what} {name}"),
            n => format!("{what} {name}, line {n}{of}"),
        }
    }

    /// Where, in Japanese.
    pub fn where_ja(&self) -> String {
        let (what, name, of) = match &self.place {
            Place::Header(h) => ("ヘッダ", h, ""),
            Place::Label(l) => ("項目", l, "報告本文の"),
        };
        match self.line {
            0 => format!("{what} {name}"),
            n => format!("{what} {name} ({of}{n}行目)"),
        }
    }
}

impl fmt::Display for MailProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} / {}: {}",
            self.where_en(),
            self.en,
            self.where_ja(),
            self.ja
        )
    }
}

impl std::error::Error for MailProblem {}

/// A report mail as read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportMail {
    /// The sender's address (From), lower-cased; `None` if there is none
    /// that can be read.
    pub from: Option<String>,
    /// The Subject, encoded-words decoded.
    pub subject: Option<String>,
    /// The Message-ID with its angle brackets, e.g. `<abc@example.jp>`.
    pub message_id: Option<String>,
    /// The Date as RFC 3339 with the sender's offset.
    pub date: Option<String>,
    /// The report's fields (names of [`FIELDS`]).
    pub fields: Map<String, Value>,
    /// Everything that could not be read, in order.
    pub problems: Vec<MailProblem>,
    /// Sent by a program, not a person (RFC 3834: `Auto-Submitted` other
    /// than `no`, or `Precedence: bulk`, `junk` or `list`): never answered
    /// automatically, so two auto-responders cannot answer each other.
    pub automatic: bool,
}

impl ReportMail {
    /// The report this mail follows up or corrects, if its Subject carries
    /// `[bugyo report N]` (any case, any spacing; `#N` too).
    pub fn follow_up_of(&self) -> Option<i64> {
        follow_up_of(self.subject.as_deref()?)
    }

    /// The organisation the sender reports for, if its Subject carries
    /// `[bugyo org HANDLE]` (any case): what tells the organisations apart
    /// when the sender is a contact of several.
    pub fn organisation(&self) -> Option<String> {
        organisation_of(self.subject.as_deref()?)
    }
}

/// The value of the first `[bugyo KIND VALUE]` tag in `subject` (compared
/// in lower case, full-width characters narrowed) for which `read` gives
/// one.
fn tag<T>(subject: &str, kind: &str, read: impl Fn(&str) -> Option<T>) -> Option<T> {
    let lower = narrow_lower(subject);
    let mut rest = lower.as_str();
    while let Some(at) = rest.find('[') {
        let inner = &rest[at + 1..];
        if let Some(end) = inner.find(']') {
            let words: Vec<&str> = inner[..end].split_whitespace().collect();
            if let ["bugyo", k, v] = words.as_slice() {
                if *k == kind {
                    if let Some(found) = read(v) {
                        return Some(found);
                    }
                }
            }
        }
        rest = inner;
    }
    None
}

/// The report number of a `[bugyo report N]` tag in `subject`.
pub fn follow_up_of(subject: &str) -> Option<i64> {
    tag(subject, "report", |n| {
        n.trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
    })
}

/// The organisation handle of a `[bugyo org HANDLE]` tag in `subject`.
pub fn organisation_of(subject: &str) -> Option<String> {
    tag(subject, "org", |h| {
        (!h.is_empty()
            && h.len() <= 64
            && h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .then(|| h.to_string())
    })
}

fn narrow_lower(s: &str) -> String {
    values::narrow(s).to_lowercase()
}

/// Reads one message. Never fails and never panics: what cannot be read is
/// in [`ReportMail::problems`].
pub fn parse(bytes: &[u8]) -> ReportMail {
    let mut problems = Vec::new();
    let (headers, body) = mime::split_entity(bytes, 1, &mut problems);
    let mut mail = ReportMail::default();

    let decoded = |name: &str, problems: &mut Vec<MailProblem>| {
        let h = mime::header(&headers, name)?;
        let (text, trouble) = mime::decode_words(&h.value);
        if let Some(t) = trouble {
            problems.push(MailProblem::new(
                Place::Header(h.name.clone()),
                h.line,
                format!("{t}: kept as written"),
                format!("読めない encoded-word があります。そのまま残します ({t})"),
            ));
        }
        Some((text, h.line, h.name.clone()))
    };

    match decoded("From", &mut problems) {
        None => problems.push(MailProblem::new(
            Place::Header("From".into()),
            0,
            "no From header: the sender is not known",
            "From ヘッダがありません。送信者が分かりません",
        )),
        Some((text, line, name)) => match address(&text) {
            Some(a) => mail.from = Some(a),
            None => problems.push(MailProblem::new(
                Place::Header(name),
                line,
                format!("{text:?} holds no e-mail address"),
                format!("{text:?} にメールアドレスがありません"),
            )),
        },
    }
    mail.subject = decoded("Subject", &mut problems).map(|(s, _, _)| s.trim().to_string());
    if let Some(h) = mime::header(&headers, "Message-ID") {
        match message_id(&h.value) {
            Some(id) => mail.message_id = Some(id),
            None => problems.push(MailProblem::new(
                Place::Header(h.name.clone()),
                h.line,
                format!("{:?} is not a message id", h.value),
                format!("{:?} は Message-ID として読めません", h.value),
            )),
        }
    }
    if let Some(h) = mime::header(&headers, "Date") {
        match values::time(&h.value) {
            Ok(t) => mail.date = Some(t),
            Err((en, ja)) => problems.push(MailProblem::new(
                Place::Header(h.name.clone()),
                h.line,
                en,
                ja,
            )),
        }
    }

    let value =
        |name: &str| mime::header(&headers, name).map(|h| h.value.trim().to_ascii_lowercase());
    mail.automatic = value("Auto-Submitted").is_some_and(|v| !v.starts_with("no"))
        || value("Precedence").is_some_and(|v| matches!(v.as_str(), "bulk" | "junk" | "list"));

    let mut texts = Vec::new();
    mime::text_parts(&headers, &body, 0, &mut problems, &mut texts);
    if texts.is_empty() {
        problems.push(MailProblem::new(
            Place::Header("Content-Type".into()),
            mime::header(&headers, "Content-Type").map_or(0, |h| h.line),
            "no text/plain part: the report is read from text only",
            "text/plain の部分がありません。報告はテキストからのみ読みます",
        ));
    }
    let text = texts.join("\n");
    mail.fields = labels::read(&text, &mut problems);
    mail.problems = problems;
    mail
}

/// The first address of an address list: `"NOC" <noc@ocn.example>`,
/// `noc@ocn.example (NOC)`, `NOC <noc@ocn.example>`; lower-cased.
fn address(text: &str) -> Option<String> {
    let candidate = match (text.find('<'), text.find('>')) {
        (Some(open), Some(close)) if open < close => text[open + 1..close].to_string(),
        _ => {
            // Comments out, then the first word with an @.
            let mut plain = String::new();
            let mut depth = 0usize;
            for c in text.chars() {
                match c {
                    '(' => depth += 1,
                    ')' => depth = depth.saturating_sub(1),
                    _ if depth == 0 => plain.push(c),
                    _ => {}
                }
            }
            plain
                .split([' ', ',', '\t'])
                .find(|w| w.contains('@'))?
                .to_string()
        }
    };
    let a = candidate.trim().to_lowercase();
    let (local, domain) = a.rsplit_once('@')?;
    let ok = !local.is_empty()
        && !domain.is_empty()
        && domain.contains('.')
        && !a
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ','));
    ok.then_some(a)
}

/// A Message-ID as `<id>`: the bracketed token, or the bare token bracketed.
fn message_id(value: &str) -> Option<String> {
    let v = value.trim();
    let id = match (v.find('<'), v.find('>')) {
        (Some(open), Some(close)) if open < close => &v[open + 1..close],
        _ => v.split_whitespace().next()?,
    };
    let ok = !id.is_empty()
        && id.len() <= 500
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '<' && c != '>');
    ok.then(|| format!("<{id}>"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use encoding_rs::{ISO_2022_JP, SHIFT_JIS};
    use proptest::prelude::*;

    /// Base64 for tests.
    pub(crate) fn b64(bytes: &[u8]) -> String {
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
                if i <= chunk.len() {
                    out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    const BODY_JA: &str = "総務省 御中\n\n発生日時: 2021年10月9日 7時56分\n発生場所: 東京都、神奈川県\n影響サービス: IP電話\nサービス区分: 音声伝送役務(緊急通報あり)\n状況: 音声通話がつながりにくい状況です。\n  復旧作業中。\n影響利用者数: 約3万 (調査中)\n継続時間: 2時間57分\nこれまでの対応: 迂回を実施\n他事業者への影響: なし\n法人顧客への影響: 調査中\n原因: 調査中\n公表可否: 可\n他事業者との共有: 否\n担当者: 山田 (NOC)\n";

    #[test]
    fn utf8_japanese() {
        let msg = format!(
            "From: =?UTF-8?B?5bGx55Sw?= <NOC@ocn.example>\nTo: report@bugyo.example\nSubject: =?UTF-8?B?6Zqc5a6z5aCx5ZGK?=\nMessage-ID: <1@ocn.example>\nDate: Sat, 09 Oct 2021 08:30:00 +0900\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n\n{BODY_JA}"
        );
        let m = parse(msg.as_bytes());
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(m.from.as_deref(), Some("noc@ocn.example"));
        assert_eq!(m.subject.as_deref(), Some("障害報告"));
        assert_eq!(m.message_id.as_deref(), Some("<1@ocn.example>"));
        assert_eq!(m.date.as_deref(), Some("2021-10-09T08:30:00+09:00"));
        let f = &m.fields;
        assert_eq!(f["occurred_at"], "2021-10-09T07:56:00+09:00");
        assert_eq!(f["area"], "東京都、神奈川県");
        assert_eq!(f["services"], "IP電話");
        assert_eq!(f["service_class"], "voice-emergency");
        assert_eq!(
            f["situation"],
            "音声通話がつながりにくい状況です。\n復旧作業中。\n\n総務省 御中"
        );
        assert_eq!(f["users"], 30_000);
        assert_eq!(f["users_estimate"], "約3万 (調査中)");
        assert_eq!(f["duration"], "2h57m");
        assert_eq!(f["response"], "迂回を実施");
        assert_eq!(f["impact_other_operators"], "なし");
        assert_eq!(f["impact_enterprise"], "調査中");
        assert_eq!(f["share_public"], true);
        assert_eq!(f["share_operators"], false);
        assert_eq!(f["contact"], "山田 (NOC)");
        assert!(f.keys().all(|k| FIELDS.contains(&k.as_str())));
    }

    #[test]
    fn iso_2022_jp_and_shift_jis() {
        for (charset, enc) in [("ISO-2022-JP", ISO_2022_JP), ("Shift_JIS", SHIFT_JIS)] {
            let (body, _, _) = enc.encode(BODY_JA);
            let (subject, _, _) = enc.encode("障害報告（第一報）");
            let mut msg = format!(
                "From: noc@ocn.example\nSubject: =?{charset}?B?{}?=\nContent-Type: text/plain; charset=\"{charset}\"\nContent-Transfer-Encoding: 7bit\n\n",
                b64(&subject)
            )
            .into_bytes();
            msg.extend_from_slice(&body);
            let m = parse(&msg);
            assert!(m.problems.is_empty(), "{charset}: {:?}", m.problems);
            assert_eq!(m.subject.as_deref(), Some("障害報告（第一報）"));
            assert_eq!(m.fields["area"], "東京都、神奈川県", "{charset}");
            assert_eq!(m.fields["users"], 30_000);
        }
    }

    #[test]
    fn multipart_base64_and_quoted_printable() {
        let msg = format!(
            "From: NOC <noc@ocn.example>\nSubject: [bugyo report 12] follow-up\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\npreamble\n--b1\nContent-Type: multipart/alternative; boundary=b2\n\n--b2\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n{}\n--b2\nContent-Type: text/html\n\n<p>html</p>\n--b2--\n--b1\nContent-Type: text/plain\nContent-Disposition: attachment; filename=log.txt\n\nattached log\n--b1\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCause: fiber cut near =\nOsaka\nShare with the public: yes=0A\n--b1--\n",
            b64("Occurred at: 2021-10-09 07:56\nSituation: packet loss\nUsers affected: about 1.2 million\nDuration: 3h".as_bytes())
        );
        let m = parse(msg.as_bytes());
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(m.follow_up_of(), Some(12));
        let f = &m.fields;
        assert_eq!(f["occurred_at"], "2021-10-09T07:56:00+09:00");
        assert_eq!(f["situation"], "packet loss");
        assert_eq!(f["users"], 1_200_000);
        assert_eq!(f["duration"], "3h");
        assert_eq!(f["cause"], "fiber cut near Osaka");
        assert_eq!(f["share_public"], true);
    }

    #[test]
    fn problems_name_the_header_and_label() {
        let msg = "From: nobody\nDate: yesterday\nSubject: x\n\n発生日時: 2021年13月1日 7時\n状況: 停止\n影響利用者数: 500\n";
        let m = parse(msg.as_bytes());
        assert_eq!(m.from, None);
        let places: Vec<String> = m.problems.iter().map(MailProblem::where_en).collect();
        assert_eq!(
            places,
            [
                "header From, line 1",
                "header Date, line 2",
                "label 発生日時, line 1 of the report text"
            ]
        );
        assert_eq!(m.problems[2].field, Some("occurred_at"));
        assert!(
            m.problems[2].to_string().contains("13月"),
            "{}",
            m.problems[2]
        );
        // The others are kept; the bad line is in situation.
        assert_eq!(m.fields["users"], 500);
        assert_eq!(m.fields["situation"], "停止\n\n発生日時: 2021年13月1日 7時");
        assert!(m.fields.get("occurred_at").is_none());
    }

    #[test]
    fn large_inputs_stay_fast() {
        let start = std::time::Instant::now();
        let header = "=?a?b?".repeat(200_000);
        let body = "発生日時:".repeat(100_000);
        let msg = format!(
            "From: a@b.c\nSubject: {header}\n\n{body}\n{}",
            ":\n".repeat(100_000)
        );
        let m = parse(msg.as_bytes());
        assert!(m.from.is_some());
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn follow_up_tags() {
        assert_eq!(follow_up_of("Re: [bugyo report 7] 続報"), Some(7));
        assert_eq!(follow_up_of("[BUGYO  Report #42]"), Some(42));
        assert_eq!(follow_up_of("［bugyo report 3］"), Some(3));
        assert_eq!(follow_up_of("[bugyo report x]"), None);
        assert_eq!(follow_up_of("[bugyo report 0]"), None);
        assert_eq!(follow_up_of("[bugyo org 7] [bugyo report 8]"), Some(8));
        assert_eq!(
            organisation_of("[bugyo org OCN] 第一報").as_deref(),
            Some("ocn")
        );
        assert_eq!(
            organisation_of("Re: [bugyo report 3] ［ｂｕｇｙｏ　ｏｒｇ　ｉｉｊ］").as_deref(),
            Some("iij")
        );
        assert_eq!(organisation_of("[bugyo org a/b]"), None);
        assert_eq!(organisation_of("[bugyo org]"), None);
    }

    #[test]
    fn automatic_mail_is_recognised() {
        let auto =
            |headers: &str| parse(format!("From: a@b.c\n{headers}\n\nx\n").as_bytes()).automatic;
        assert!(!auto("Subject: x"));
        assert!(!auto("Auto-Submitted: no"));
        assert!(auto("Auto-Submitted: auto-replied"));
        assert!(auto("Auto-Submitted: Auto-Generated"));
        assert!(auto("Precedence: bulk"));
        assert!(!auto("Precedence: first-class"));
    }

    fn sample() -> Vec<u8> {
        let (body, _, _) = ISO_2022_JP.encode(BODY_JA);
        let mut m = b"From: noc@ocn.example\nSubject: =?ISO-2022-JP?B?GyRCPlwzMhsoQg==?=\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: quoted-printable\n\n".to_vec();
        m.extend_from_slice(&body);
        m.extend_from_slice(b"\n--zz--\n");
        m
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let m = parse(&bytes);
            prop_assert!(m.fields.keys().all(|k| FIELDS.contains(&k.as_str())));
        }

        #[test]
        fn mutated_mail_never_panics(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..20)
        ) {
            let mut bytes = sample();
            for (at, b, op) in edits {
                if bytes.is_empty() { break; }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = b,
                    1 => bytes.insert(i, b),
                    _ => { bytes.remove(i); }
                }
            }
            let m = parse(&bytes);
            for k in m.fields.keys() {
                prop_assert!(FIELDS.contains(&k.as_str()));
            }
        }

        #[test]
        fn random_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(format!("From: a@b.c\n\n{text}").as_bytes());
            let _ = values::time(&text);
            let _ = values::duration(&text);
            let _ = values::count(&text);
            let _ = mime::decode_words(&text);
        }
    }
}
