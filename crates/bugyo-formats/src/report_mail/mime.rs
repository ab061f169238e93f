//! The MIME layer of a report mail: header lines (unfolded, RFC 2047
//! encoded-words decoded), the text/plain parts of a possibly multipart
//! body, their transfer encodings (base64, quoted-printable) and their
//! charsets (UTF-8, ISO-2022-JP, Shift_JIS and whatever else
//! `encoding_rs` knows). Every problem is kept as a [`MailProblem`] and the
//! reading goes on.

use super::{MailProblem, Place};
use encoding_rs::{Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// Deepest nesting of multipart bodies that is followed.
const MAX_DEPTH: usize = 8;

/// One header field, unfolded, as raw text (encoded-words not yet decoded).
#[derive(Clone, Debug)]
pub(super) struct Header {
    /// Its name as written.
    pub name: String,
    /// Its value, unfolded and trimmed.
    pub value: String,
    /// 1-based line of the message where it begins.
    pub line: usize,
}

/// The lines of `bytes` split at LF, each without its CR.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .collect()
}

/// Splits an entity (a message or a body part) into its headers and its
/// body; `first_line` is the 1-based line of the message where it starts,
/// for header problems. Returns the headers and the body bytes.
pub(super) fn split_entity(
    bytes: &[u8],
    first_line: usize,
    problems: &mut Vec<MailProblem>,
) -> (Vec<Header>, Vec<u8>) {
    let all = lines(bytes);
    let mut headers: Vec<Header> = Vec::new();
    let mut body_from = all.len();
    for (i, raw) in all.iter().enumerate() {
        let line = first_line + i;
        if raw.is_empty() {
            body_from = i + 1;
            break;
        }
        // An mbox separator left in front of the message.
        if i == 0 && raw.starts_with(b"From ") {
            continue;
        }
        let text = header_text(raw);
        if raw[0] == b' ' || raw[0] == b'\t' {
            match headers.last_mut() {
                Some(h) => {
                    h.value.push(' ');
                    h.value.push_str(text.trim());
                }
                None => problems.push(MailProblem::new(
                    Place::Header("(continuation)".into()),
                    line,
                    "a continuation line before any header",
                    "ヘッダより前に継続行があります",
                )),
            }
            continue;
        }
        match text.split_once(':') {
            Some((name, value))
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':') =>
            {
                headers.push(Header {
                    name: name.to_string(),
                    value: value.trim().to_string(),
                    line,
                });
            }
            _ => {
                // Not a header: no blank line before the body. Read the
                // rest as the body rather than lose it.
                problems.push(MailProblem::new(
                    Place::Header("(header section)".into()),
                    line,
                    "not a header line; the body is taken to start here",
                    "ヘッダ行ではありません。ここから本文として読みます",
                ));
                body_from = i;
                break;
            }
        }
    }
    let body = all.get(body_from..).unwrap_or_default().join(&b'\n');
    (headers, body)
}

/// The text of a raw header line: ISO-2022-JP if it carries its escapes,
/// UTF-8 (RFC 6532) if it is, else Shift_JIS (old Japanese clients send
/// both unencoded).
fn header_text(raw: &[u8]) -> String {
    if raw.windows(2).any(|w| w == b"\x1b$") {
        return ISO_2022_JP.decode_without_bom_handling(raw).0.into_owned();
    }
    match std::str::from_utf8(raw) {
        Ok(s) => s.to_string(),
        Err(_) => SHIFT_JIS.decode_without_bom_handling(raw).0.into_owned(),
    }
}

/// The value of the first header named `name` (case-insensitive), with
/// its line.
pub(super) fn header<'h>(headers: &'h [Header], name: &str) -> Option<&'h Header> {
    headers.iter().find(|h| h.name.eq_ignore_ascii_case(name))
}

/// Decodes the RFC 2047 encoded-words of a header value
/// (`=?charset?B?...?=`, `=?charset?Q?...?=`). Adjacent encoded-words
/// separated only by white space are joined, and their bytes decoded
/// together when they share a charset (an ISO-2022-JP sequence may be cut
/// between two words). A word that cannot be read stays as written, and a
/// problem is returned.
pub(super) fn decode_words(value: &str) -> (String, Option<String>) {
    let mut out = String::new();
    let mut problem = None;
    // Bytes of the encoded-words run being gathered, and their charset.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut gap = String::new();
    let mut rest = value;
    let flush = |pending: &mut Option<(String, Vec<u8>)>,
                 out: &mut String,
                 problem: &mut Option<String>| {
        if let Some((charset, bytes)) = pending.take() {
            let (text, trouble) = decode_charset(&bytes, Some(&charset));
            if let Some(t) = trouble {
                problem.get_or_insert(t);
            }
            out.push_str(&text);
        }
    };
    while !rest.is_empty() {
        match rest.find("=?") {
            None => {
                flush(&mut pending, &mut out, &mut problem);
                out.push_str(&gap);
                gap.clear();
                out.push_str(rest);
                break;
            }
            Some(at) => {
                let before = &rest[..at];
                match encoded_word(&rest[at..]) {
                    Some((charset, bytes, len)) => {
                        if before.chars().all(char::is_whitespace) && pending.is_some() {
                            // White space between two words is dropped.
                        } else {
                            flush(&mut pending, &mut out, &mut problem);
                            out.push_str(before);
                        }
                        match &mut pending {
                            Some((c, b)) if c.eq_ignore_ascii_case(&charset) => b.extend(bytes),
                            _ => {
                                flush(&mut pending, &mut out, &mut problem);
                                pending = Some((charset, bytes));
                            }
                        }
                        rest = &rest[at + len..];
                    }
                    None => {
                        flush(&mut pending, &mut out, &mut problem);
                        out.push_str(before);
                        out.push_str("=?");
                        if problem.is_none() && looks_encoded(&rest[at..]) {
                            problem = Some("an encoded-word that cannot be read".to_string());
                        }
                        rest = &rest[at + 2..];
                    }
                }
            }
        }
    }
    flush(&mut pending, &mut out, &mut problem);
    (out, problem)
}

/// Whether text at `=?` looks like an attempt at an encoded-word.
fn looks_encoded(s: &str) -> bool {
    let s = window(s);
    s.find("?=")
        .is_some_and(|end| s[..end].matches('?').count() >= 3)
}

/// The start of `s` an encoded-word can span: RFC 2047 allows 75
/// characters; a generous window keeps a header full of `=?` linear.
fn window(s: &str) -> &str {
    const MAX: usize = 1000;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// One encoded-word at the start of `s`: its charset, its bytes and its
/// length in `s`.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let s = window(s);
    let inner = s.strip_prefix("=?")?;
    let q1 = inner.find('?')?;
    let charset = &inner[..q1];
    let rest = &inner[q1 + 1..];
    let q2 = rest.find('?')?;
    let encoding = &rest[..q2];
    let rest = &rest[q2 + 1..];
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if charset.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    // RFC 2231 language suffix: ISO-2022-JP*ja.
    let name = charset.split('*').next().unwrap_or(charset).to_string();
    let bytes = match encoding {
        "B" | "b" => base64(text.as_bytes()).ok()?,
        "Q" | "q" => quoted_printable(text.replace('_', " ").as_bytes()).0,
        _ => return None,
    };
    Some((name, bytes, 2 + q1 + 1 + q2 + 1 + end + 2))
}

/// Decodes base64, ignoring white space and line breaks; stops at `=`.
/// An error names the first character that is not base64.
pub(super) fn base64(input: &[u8]) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            other => return Err(char::from(other)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

/// Decodes quoted-printable: `=XX` escapes and `=` soft line breaks. A
/// stray `=` is kept as written; the second value says whether there was
/// one.
pub(super) fn quoted_printable(input: &[u8]) -> (Vec<u8>, bool) {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(input.len());
    let mut stray = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let next = input.get(i + 1).copied();
        let after = input.get(i + 2).copied();
        match (next, after) {
            (Some(b'\n'), _) => i += 2,
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(v as u8);
                i += 3;
            }
            (None, _) => i += 1,
            _ => {
                stray = true;
                out.push(b'=');
                i += 1;
            }
        }
    }
    (out, stray)
}

/// Text of `bytes` in `charset` (a MIME charset name). Without a charset,
/// or for US-ASCII, UTF-8 is read if the bytes are UTF-8, else
/// ISO-2022-JP if they carry its escapes, else Shift_JIS. The second value
/// describes any trouble (unknown charset, bytes that are not of it).
pub(super) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> (String, Option<String>) {
    let label = charset.map(|c| c.trim().trim_matches('"').to_ascii_lowercase());
    let guess = || {
        if bytes.windows(2).any(|w| w == b"\x1b$" || w == b"\x1b(") {
            ISO_2022_JP
        } else if std::str::from_utf8(bytes).is_ok() {
            UTF_8
        } else {
            SHIFT_JIS
        }
    };
    let (encoding, mut trouble) = match label.as_deref() {
        None | Some("") | Some("us-ascii") | Some("ascii") => (guess(), None),
        Some(l) => match Encoding::for_label(l.as_bytes()) {
            Some(e) => (e, None),
            None => {
                let e = guess();
                (
                    e,
                    Some(format!("unknown charset {l:?}, read as {}", e.name())),
                )
            }
        },
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors && trouble.is_none() {
        trouble = Some(format!("bytes that are not {}", encoding.name()));
    }
    (text.into_owned(), trouble)
}

/// A header's value and parameters: `text/plain; charset="ISO-2022-JP"`
/// gives `text/plain` and `[("charset", "ISO-2022-JP")]` (names
/// lower-cased).
pub(super) fn with_params(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(value).into_iter();
    let main = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v)
                .replace("\\\"", "\"");
            Some((k.trim().to_ascii_lowercase(), v))
        })
        .collect();
    (main, params)
}

/// Splits at `;` outside double quotes.
fn split_params(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in value.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The inline text/plain content of an entity, decoded to text, each part
/// in order. A message with no Content-Type is text/plain; HTML parts and
/// attachments are skipped (a problem says so when no text is found).
pub(super) fn text_parts(
    headers: &[Header],
    body: &[u8],
    depth: usize,
    problems: &mut Vec<MailProblem>,
    out: &mut Vec<String>,
) {
    let (kind, params) = header(headers, "Content-Type")
        .map(|h| with_params(&h.value))
        .unwrap_or_else(|| ("text/plain".into(), Vec::new()));
    let ct_line = header(headers, "Content-Type").map_or(0, |h| h.line);
    if kind.starts_with("multipart/") {
        let Some(boundary) = param(&params, "boundary").filter(|b| !b.is_empty()) else {
            problems.push(MailProblem::new(
                Place::Header("Content-Type".into()),
                ct_line,
                "a multipart body without a boundary: read as text",
                "boundary のない multipart です。テキストとして読みます",
            ));
            leaf(headers, body, None, problems, out);
            return;
        };
        if depth >= MAX_DEPTH {
            problems.push(MailProblem::new(
                Place::Header("Content-Type".into()),
                ct_line,
                format!("multipart nested deeper than {MAX_DEPTH}: the inner parts are skipped"),
                format!("multipart の入れ子が {MAX_DEPTH} 段を超えています。内側は読みません"),
            ));
            return;
        }
        for part in multipart(body, boundary) {
            let (h, b) = split_entity(&part, 0, problems);
            text_parts(&h, &b, depth + 1, problems, out);
        }
        return;
    }
    let attachment = header(headers, "Content-Disposition")
        .is_some_and(|h| with_params(&h.value).0 == "attachment");
    if (kind == "text/plain" || kind.is_empty()) && !attachment {
        leaf(headers, body, param(&params, "charset"), problems, out);
    }
}

/// The parts of a multipart body between its `--boundary` lines (the
/// preamble and epilogue left out).
fn multipart(body: &[u8], boundary: &str) -> Vec<Vec<u8>> {
    let open = format!("--{boundary}");
    let close = format!("--{boundary}--");
    let mut parts = Vec::new();
    let mut cur: Option<Vec<&[u8]>> = None;
    for line in lines(body) {
        let trimmed = line.trim_ascii_end();
        if trimmed == close.as_bytes() {
            break;
        }
        if trimmed == open.as_bytes() {
            if let Some(p) = cur.take() {
                parts.push(p.join(&b'\n'));
            }
            cur = Some(Vec::new());
        } else if let Some(p) = &mut cur {
            p.push(line);
        }
    }
    if let Some(p) = cur {
        parts.push(p.join(&b'\n'));
    }
    parts
}

/// One text part: transfer decoding, then charset.
fn leaf(
    headers: &[Header],
    body: &[u8],
    charset: Option<&str>,
    problems: &mut Vec<MailProblem>,
    out: &mut Vec<String>,
) {
    let cte = header(headers, "Content-Transfer-Encoding");
    let cte_line = cte.map_or(0, |h| h.line);
    let cte = cte.map(|h| h.value.trim().to_ascii_lowercase());
    let bytes = match cte.as_deref() {
        Some("base64") => {
            match base64(body) {
                Ok(b) => b,
                Err(c) => {
                    problems.push(MailProblem::new(
                    Place::Header("Content-Transfer-Encoding".into()),
                    cte_line,
                    format!("base64 body with {c:?}, which is not base64: the part is skipped"),
                    format!("base64 の本文に base64 でない文字 {c:?} があります。この部分は読めません"),
                ));
                    return;
                }
            }
        }
        Some("quoted-printable") => {
            let (b, stray) = quoted_printable(body);
            if stray {
                problems.push(MailProblem::new(
                    Place::Header("Content-Transfer-Encoding".into()),
                    cte_line,
                    "quoted-printable body with a stray '=': kept as written",
                    "quoted-printable の本文に不正な '=' があります。そのまま残します",
                ));
            }
            b
        }
        None | Some("7bit") | Some("8bit") | Some("binary") => body.to_vec(),
        Some(other) => {
            problems.push(MailProblem::new(
                Place::Header("Content-Transfer-Encoding".into()),
                cte_line,
                format!("unknown transfer encoding {other:?}: read as is"),
                format!("不明な転送エンコーディング {other:?} です。そのまま読みます"),
            ));
            body.to_vec()
        }
    };
    let (text, trouble) = decode_charset(&bytes, charset);
    if let Some(t) = trouble {
        problems.push(MailProblem::new(
            Place::Header("Content-Type".into()),
            header(headers, "Content-Type").map_or(0, |h| h.line),
            format!("body charset: {t}"),
            format!("本文の文字コードに問題があります: {t}"),
        ));
    }
    out.push(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words() {
        assert_eq!(
            decode_words("=?UTF-8?B?6Zqc5a6z5aCx5ZGK?= (first)").0,
            "障害報告 (first)"
        );
        assert_eq!(
            decode_words("=?utf-8?q?caf=C3=A9_au_lait?=").0,
            "café au lait"
        );
        // Two words, white space between dropped.
        assert_eq!(
            decode_words("=?UTF-8?B?6Zqc5a6z?= =?UTF-8?B?5aCx5ZGK?=").0,
            "障害報告"
        );
        let (iso, _, _) = ISO_2022_JP.encode("障害報告");
        let word = format!("=?ISO-2022-JP?B?{}?=", crate::report_mail::tests::b64(&iso));
        assert_eq!(decode_words(&word).0, "障害報告");
        assert_eq!(decode_words("plain =? text").0, "plain =? text");
        assert!(decode_words("=?x?B?!!?=").1.is_some());
    }

    #[test]
    fn raw_japanese_headers() {
        let (iso, _, _) = ISO_2022_JP.encode("障害報告");
        let (sjis, _, _) = SHIFT_JIS.encode("障害報告");
        for raw in [&iso[..], &sjis[..]] {
            let mut line = b"Subject: ".to_vec();
            line.extend_from_slice(raw);
            line.extend_from_slice(b"\n\nbody");
            let (h, body) = split_entity(&line, 1, &mut Vec::new());
            assert_eq!(h[0].value, "障害報告");
            assert_eq!(body, b"body");
        }
    }

    #[test]
    fn transfer_encodings() {
        assert_eq!(base64(b"5pel5pys\n6Kqe").unwrap(), "日本語".as_bytes());
        assert_eq!(base64(b"a$"), Err('$'));
        assert_eq!(quoted_printable(b"a=3Db=\nc").0, b"a=bc");
        assert!(quoted_printable(b"a=zz").1);
    }

    #[test]
    fn charsets() {
        let (sjis, _, _) = SHIFT_JIS.encode("発生日時");
        assert_eq!(decode_charset(&sjis, Some("Shift_JIS")).0, "発生日時");
        assert_eq!(decode_charset(&sjis, None).0, "発生日時");
        let (iso, _, _) = ISO_2022_JP.encode("発生日時");
        assert_eq!(decode_charset(&iso, None).0, "発生日時");
        assert!(decode_charset(b"x", Some("klingon")).1.is_some());
    }
}
