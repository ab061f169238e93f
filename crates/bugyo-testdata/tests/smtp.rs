//! The SMTP harness: a throwaway Exim takes two messages over plain SMTP
//! (one with a UTF-8 Japanese subject in RFC 2047 and a UTF-8 body, one to
//! two recipients with a line that needs dot-stuffing) and gives both back
//! in full, in order; once dropped it no longer listens and its process is
//! gone.

use bugyo_testdata::smtp::{self, Smtp};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn receives_stores_and_stops() {
    assert!(
        smtp::available(),
        "Exim is not installed (apt-get install {})",
        smtp::PACKAGE
    );
    assert_eq!(base64("障害".as_bytes()), "6Zqc5a6z");
    assert_eq!(base64(b"ab"), "YWI=");
    let server = Smtp::start();
    let port = server.port();

    let subject = "【障害】AS64500 の経路が消失しました";
    let body = "障害を検知しました。\r\n対象: 192.0.2.0/24\r\n";
    let first = format!(
        "From: bugyo <bugyo@example.org>\r\n\
         To: ops@example.net\r\n\
         Subject: =?UTF-8?B?{}?=\r\n\
         Message-ID: <first@example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {body}",
        base64(subject.as_bytes())
    );
    let second = "From: bugyo@example.org\r\n\
                  To: noc@example.com, ops@example.net\r\n\
                  Subject: second\r\n\
                  Message-ID: <second@example.org>\r\n\
                  \r\n\
                  The second message.\r\n\
                  .a line that starts with a dot\r\n";

    let mut c = Client::connect(port);
    c.expect(220);
    c.command("EHLO client.example.org", 250);
    assert!(c.last.contains("8BITMIME"), "no 8BITMIME: {}", c.last);
    c.command("MAIL FROM:<bugyo@example.org> BODY=8BITMIME", 250);
    c.command("RCPT TO:<ops@example.net>", 250);
    c.data(&first);
    c.command("MAIL FROM:<bugyo@example.org>", 250);
    c.command("RCPT TO:<noc@example.com>", 250);
    c.command("RCPT TO:<ops@example.net>", 250);
    c.data(second);
    c.command("QUIT", 221);

    let messages = server.wait_for(2, Duration::from_secs(20));
    assert_eq!(messages.len(), 2, "{messages:#?}");
    // Deliveries within one second may be listed in either order.
    let by_id = |id: &str| {
        messages
            .iter()
            .find(|m| m.contains(&format!("Message-ID: <{id}>")))
            .unwrap_or_else(|| panic!("no message {id}: {messages:#?}"))
    };
    let (m1, m2) = (by_id("first@example.org"), by_id("second@example.org"));
    assert!(m1.contains("Message-ID: <first@example.org>"), "{m1}");
    assert_eq!(
        header(m1, "Envelope-to").as_deref(),
        Some("ops@example.net"),
        "{m1}"
    );
    assert!(m1.contains("Return-path: <bugyo@example.org>"), "{m1}");
    assert!(m1.contains("To: ops@example.net\n"), "{m1}");
    let encoded = format!("Subject: =?UTF-8?B?{}?=\n", base64(subject.as_bytes()));
    assert!(m1.contains(&encoded), "no {encoded:?} in {m1}");
    // The body as sent, 8-bit UTF-8 untouched (lines end in LF when stored).
    assert!(m1.ends_with(&body.replace("\r\n", "\n")), "{m1}");
    assert!(m1.contains("\n\n障害を検知しました。\n"), "{m1}");

    assert!(m2.contains("Message-ID: <second@example.org>"), "{m2}");
    assert_eq!(
        header(m2, "Envelope-to").as_deref(),
        Some("noc@example.com, ops@example.net"),
        "{m2}"
    );
    assert!(m2.contains("Subject: second\n"), "{m2}");
    assert!(
        m2.ends_with("\n\nThe second message.\n.a line that starts with a dot\n"),
        "{m2}"
    );
    assert_eq!(server.messages(), messages);

    let pid = server.pid().expect("exim pid file");
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    drop(server);
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts connections after drop"
    );
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "exim (pid {pid}) still running after drop"
    );
}

/// The value of the first header `name` in `message`, unfolded (each line
/// break and the whitespace around it made one space).
fn header(message: &str, name: &str) -> Option<String> {
    let head = message.split("\n\n").next()?;
    let mut lines = head.lines();
    let prefix = format!("{}:", name.to_ascii_lowercase());
    let first = lines.find(|l| l.to_ascii_lowercase().starts_with(&prefix))?;
    let mut value = first[prefix.len()..].trim().to_owned();
    for l in lines.take_while(|l| l.starts_with([' ', '\t'])) {
        value.push(' ');
        value.push_str(l.trim());
    }
    Some(value)
}

/// A minimal SMTP client over a plain TCP connection.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    /// The text of the last reply (all its lines).
    last: String,
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to SMTP server");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
            writer: stream,
            last: String::new(),
        }
    }

    /// Reads one reply (lines `CODE-text` up to `CODE text`) and checks
    /// its code.
    fn expect(&mut self, code: u16) {
        self.last.clear();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read SMTP reply");
            assert!(n > 0, "connection closed; reply so far: {}", self.last);
            self.last.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        assert!(
            self.last.starts_with(&code.to_string()),
            "expected {code}, got: {}",
            self.last
        );
    }

    fn command(&mut self, line: &str, code: u16) {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send SMTP command");
        self.expect(code);
    }

    /// DATA, then `message` (CRLF lines) dot-stuffed, then the final dot.
    fn data(&mut self, message: &str) {
        self.command("DATA", 354);
        let mut text = String::new();
        for line in message.split_inclusive("\r\n") {
            if line.starts_with('.') {
                text.push('.');
            }
            text.push_str(line);
        }
        if !text.ends_with("\r\n") {
            text.push_str("\r\n");
        }
        text.push_str(".\r\n");
        self.writer
            .write_all(text.as_bytes())
            .expect("send message");
        self.expect(250);
    }
}

/// Standard base64 (RFC 4648, with padding).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
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
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
