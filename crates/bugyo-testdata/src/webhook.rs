//! A receiver on loopback standing for members' webhook and Slack
//! endpoints, over HTTP or HTTPS (rustls, with a [`crate::tls`]
//! certificate). It records each request (path, headers, body), answers
//! 500 to the first request on a path listed in `fail_first` and 200
//! otherwise, one connection at a time (`Connection: close`), and counts
//! the connections that ended before a whole request (over HTTPS: a client
//! that refused the certificate). It runs, in a thread of its own, until
//! the test process ends.

use crate::tls::ServerCert;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Received {
    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running receiver.
pub struct Receiver {
    port: u16,
    https: bool,
    got: Arc<Mutex<Vec<Received>>>,
    broken: Arc<AtomicUsize>,
}

impl Receiver {
    /// A plain HTTP receiver.
    pub fn http(fail_first: &'static [&'static str]) -> Receiver {
        Receiver::start(None, fail_first)
    }

    /// An HTTPS receiver presenting `cert`.
    pub fn https(cert: &ServerCert, fail_first: &'static [&'static str]) -> Receiver {
        Receiver::start(Some(cert.server_config()), fail_first)
    }

    fn start(
        tls: Option<Arc<rustls::ServerConfig>>,
        fail_first: &'static [&'static str],
    ) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let receiver = Receiver {
            port,
            https: tls.is_some(),
            got: Arc::default(),
            broken: Arc::default(),
        };
        let (got, broken) = (Arc::clone(&receiver.got), Arc::clone(&receiver.broken));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let request = match &tls {
                    None => exchange(stream, &got, fail_first),
                    Some(config) => match rustls::ServerConnection::new(Arc::clone(config)) {
                        Ok(conn) => {
                            exchange(rustls::StreamOwned::new(conn, stream), &got, fail_first)
                        }
                        Err(_) => false,
                    },
                };
                if !request {
                    broken.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        receiver
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `path` on it (`http://` or `https://127.0.0.1:PORT/...`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.got.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// The requests so far on `path`.
    pub fn on(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Connections that ended before a whole request was read.
    pub fn broken_connections(&self) -> usize {
        self.broken.load(Ordering::Relaxed)
    }
}

/// Reads one request from `stream`, records it and answers; false if no
/// whole request came.
fn exchange<S: Read + Write>(
    mut stream: S,
    got: &Mutex<Vec<Received>>,
    fail_first: &[&str],
) -> bool {
    let mut r = BufReader::new(&mut stream);
    let mut line = String::new();
    if r.read_line(&mut line).is_err() || line.is_empty() {
        return false;
    }
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match r.read_line(&mut h) {
            Err(_) | Ok(0) => return false,
            Ok(_) if h.trim().is_empty() => break,
            Ok(_) => {}
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if r.read_exact(&mut body).is_err() {
        return false;
    }
    drop(r);
    let Ok(mut all) = got.lock() else {
        return false;
    };
    let first = !all.iter().any(|x| x.path == path);
    let status = if first && fail_first.contains(&path.as_str()) {
        "500 Internal Server Error"
    } else {
        "200 OK"
    };
    all.push(Received {
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    drop(all);
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.flush();
    true
}
