//! Reading back the mail the tests' SMTP server received: the body decoded
//! from base64 or quoted-printable (lettre picks one for UTF-8), and the
//! Subject with its RFC 2047 encoded-words decoded; and sending a report
//! mail to the test SMTP server.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Sends `message` (lines ending in LF) from `from` to the report mailbox
/// (report@mic.example) over a plain SMTP dialogue, checking every reply.
pub fn send(port: u16, from: &str, message: &[u8]) {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to exim");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    let mut expect = |code: &str| loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("smtp reply");
        assert!(line.starts_with(code), "expected {code}, got {line:?}");
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    expect("220");
    for (cmd, code) in [
        ("EHLO ocn.example".to_string(), "250"),
        (format!("MAIL FROM:<{from}> BODY=8BITMIME"), "250"),
        ("RCPT TO:<report@mic.example>".to_string(), "250"),
        ("DATA".to_string(), "354"),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        expect(code);
    }
    let mut data = Vec::new();
    for line in message.split(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    w.write_all(&data).unwrap();
    expect("250");
    w.write_all(b"QUIT\r\n").unwrap();
    expect("221");
}

/// The readable text of a message: headers, then the body decoded from
/// base64 or quoted-printable (lettre picks one for UTF-8).
pub fn decode(mail: &str) -> String {
    let (head, body) = mail.split_once("\n\n").unwrap_or((mail, ""));
    let text = if head.contains("Content-Transfer-Encoding: base64") {
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        String::from_utf8_lossy(&base64_decode(&clean)).into_owned()
    } else if head.contains("Content-Transfer-Encoding: quoted-printable") {
        quoted_printable(body)
    } else {
        body.to_string()
    };
    format!("{head}\n\n{text}")
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn quoted_printable(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = b.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&b[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A message's Subject, its RFC 2047 encoded-words (UTF-8, base64, as
/// lettre writes them) decoded.
pub fn subject(mail: &str) -> String {
    let mut lines = mail.lines();
    let mut raw = String::new();
    while let Some(l) = lines.next() {
        if let Some(rest) = l.strip_prefix("Subject:") {
            raw.push_str(rest.trim());
            for more in lines.by_ref() {
                if !more.starts_with([' ', '\t']) {
                    break;
                }
                raw.push(' ');
                raw.push_str(more.trim());
            }
            break;
        }
    }
    raw.split(' ')
        .map(|w| {
            match w
                .strip_prefix("=?utf-8?b?")
                .or_else(|| w.strip_prefix("=?UTF-8?B?"))
                .and_then(|w| w.strip_suffix("?="))
            {
                Some(b64) => String::from_utf8_lossy(&base64_decode(b64)).into_owned(),
                None => format!("{w} "),
            }
        })
        .collect()
}
