//! `bugyo serve` as a child process for the end-to-end tests: start it with
//! a relationships file and a data directory, follow its events file as it
//! grows, read `/metrics`, stop it with SIGTERM and read its archive back.

use super::{bugyo, json_lines};
use bugyo_testdata::gobgp::{binary, free_port, Gobgpd, WAIT};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Relationships for the small tests: AS15169 is a customer of AS701,
/// AS4713 of AS2914; the collector peer AS2497 peers with both providers.
pub const AS_REL: &str = "701|15169|-1\n2914|4713|-1\n2497|2914|0\n2497|701|0\n701|2914|0\n";

/// The store arguments `serve` needs beyond its own `--data-dir`: those of
/// a PostgreSQL store (`--database URL`), none for SQLite.
pub fn store_flags(store: &[&str]) -> Vec<String> {
    if store.first() == Some(&"--database") {
        store.iter().map(|s| s.to_string()).collect()
    } else {
        Vec::new()
    }
}

/// `bugyo serve` as a child process; killed if the test ends without `stop`.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// The test's scratch directory (the log is `bugyo.log` in it).
    pub dir: PathBuf,
    /// `--data-dir`.
    pub data: PathBuf,
    /// The `--as-rel` file.
    pub as_rel: PathBuf,
    /// The `/metrics` port on 127.0.0.1.
    pub http_port: u16,
}

impl Serve {
    /// Starts it with [`AS_REL`], `--learning-secs 0` and `extra`.
    pub fn start(dir: &Path, extra: &[String]) -> Serve {
        let as_rel = dir.join("as-rel.txt");
        std::fs::write(&as_rel, AS_REL).unwrap();
        let mut args = vec!["--learning-secs".to_string(), "0".to_string()];
        args.extend_from_slice(extra);
        Serve::start_with(dir, &as_rel, &args)
    }

    /// Starts it with the relationships file `as_rel` and the arguments
    /// `extra` (anything beyond `--http`, `--data-dir` and `--as-rel`).
    pub fn start_with(dir: &Path, as_rel: &Path, extra: &[String]) -> Serve {
        let data = dir.join("data");
        let http_port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_bugyo"))
            .arg("serve")
            .arg("--http")
            .arg(format!("127.0.0.1:{http_port}"))
            .arg("--data-dir")
            .arg(&data)
            .arg("--as-rel")
            .arg(as_rel)
            .args(extra)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(dir.join("bugyo.log")).unwrap())
            .spawn()
            .expect("start bugyo serve");
        Serve {
            child,
            dir: dir.to_path_buf(),
            data,
            as_rel: as_rel.to_path_buf(),
            http_port,
        }
    }

    /// bugyo's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bugyo.log")).unwrap_or_default()
    }

    /// The events file.
    pub fn events_path(&self) -> PathBuf {
        self.data.join("events.jsonl")
    }

    /// Waits (bounded) for the first `opened` incident event; `peer_log`
    /// goes into the failure message.
    pub fn wait_opened(&self, peer_log: &dyn Fn() -> String) -> serde_json::Value {
        let events = || std::fs::read_to_string(self.events_path()).unwrap_or_default();
        bugyo_testdata::wait_until(
            WAIT,
            || {
                json_lines(&events())
                    .into_iter()
                    .find(|l| l["event"] == "opened")
            },
            || {
                format!(
                    "no incident within {WAIT:?}\nbugyo log:\n{}\npeer log:\n{}",
                    self.log(),
                    peer_log()
                )
            },
        )
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(s) = self.child.try_wait().unwrap() {
            panic!("bugyo serve exited with {s}\nbugyo log:\n{}", self.log());
        }
    }

    /// `GET /metrics`, the body only; waits (bounded) for the server to
    /// listen, as bugyo loads its reference data first.
    pub fn metrics(&self) -> String {
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "/metrics not listening after {WAIT:?}\nbugyo log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let response = http_get(self.http_port, "/metrics");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        match response.split_once("\r\n\r\n") {
            Some((_, body)) => body.to_string(),
            None => String::new(),
        }
    }

    /// Waits (bounded, `limit`) until `/metrics` satisfies `done`, checking
    /// that the server still runs; returns that text.
    pub fn wait_metrics(
        &mut self,
        limit: Duration,
        what: &str,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let log = self.dir.join("bugyo.log");
        bugyo_testdata::wait_until(
            limit,
            || {
                self.assert_running();
                let m = self.metrics();
                done(&m).then_some(m)
            },
            || {
                format!(
                    "timed out waiting for {what}\nbugyo log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            },
        )
    }

    /// SIGTERM, then waits (bounded) for a clean exit.
    pub fn stop(&mut self) {
        let status = Command::new(binary("kill"))
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                assert!(s.success(), "bugyo serve exited with {s}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "bugyo serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The archive's files, sorted.
    pub fn archive(&self) -> Vec<String> {
        let mut files = Vec::new();
        for month in std::fs::read_dir(self.data.join("archive"))
            .unwrap()
            .flatten()
        {
            for f in std::fs::read_dir(month.path()).unwrap().flatten() {
                files.push(f.path().to_string_lossy().to_string());
            }
        }
        assert!(!files.is_empty(), "no archive files");
        files.sort();
        files
    }

    /// `bugyo replay --format json` over the whole archive with the same
    /// relationships and `learning_secs` as the server: its incidents.
    pub fn replay_archive(&self, learning_secs: u64) -> Vec<serde_json::Value> {
        let files = self.archive();
        let as_rel = self.as_rel.to_string_lossy().to_string();
        let learning = learning_secs.to_string();
        let mut args = vec![
            "replay",
            "--format",
            "json",
            "--min-severity",
            "info",
            "--learning-secs",
            &learning,
            "--as-rel",
            &as_rel,
        ];
        args.extend(files.iter().map(|s| s.as_str()));
        json_lines(&bugyo(&args).0)
    }

    /// `bugyo dump` of the whole archive.
    pub fn archive_dump(&self) -> String {
        let files = self.archive();
        let mut args = vec!["dump"];
        args.extend(files.iter().map(|s| s.as_str()));
        bugyo(&args).0
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// True if a dump line announces `prefix` with `path`.
pub fn announced(dump: &str, prefix: &str, path: &str) -> bool {
    dump.lines().any(|l| {
        l.contains("|A|") && l.contains(&format!("|{prefix}|")) && l.contains(&format!("|{path}|"))
    })
}

/// A plain HTTP GET on loopback; the whole response as text.
pub fn http_get(port: u16, path: &str) -> String {
    http_raw(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends `request` as is on a new connection; gives the whole response.
pub fn http_raw(port: u16, request: &str) -> String {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to bugyo's HTTP");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// An API request with `token` (and a JSON `body`); gives the status and
/// the body as JSON (`Null` if it is not JSON).
pub fn api(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let resp = http_raw(port, &req);
    let status = resp
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {resp:?}"));
    let json = resp
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// The value of the metric line `name` (with its labels, e.g.
/// `bugyo_bgp_session_up{peer="AS2497@127.0.0.1"}`) in OpenMetrics text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        let (n, v) = l.rsplit_once(' ')?;
        if n == name {
            v.parse().ok()
        } else {
            None
        }
    })
}

/// One line of the events file and when the test first saw it.
#[derive(Clone, Debug)]
pub struct SeenEvent {
    /// The JSON object.
    pub json: serde_json::Value,
    /// Wall-clock time at which the poll that found it ran.
    pub seen: SystemTime,
}

/// Follows an events file as it grows: each complete line is parsed once,
/// stamped with the time it was first seen.
pub struct EventTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    /// Every event seen so far, in file order.
    pub events: Vec<SeenEvent>,
}

impl EventTail {
    /// Follows `path` (which may not exist yet) from its start.
    pub fn new(path: &Path) -> EventTail {
        EventTail {
            path: path.to_path_buf(),
            offset: 0,
            partial: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Reads what was appended since the last call; returns the number of
    /// new events.
    pub fn poll(&mut self) -> usize {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return 0;
        };
        let seen = SystemTime::now();
        f.seek(SeekFrom::Start(self.offset)).unwrap();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let mut n = 0;
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            let json = serde_json::from_str(text.trim()).expect("an events line is JSON");
            self.events.push(SeenEvent { json, seen });
            n += 1;
        }
        n
    }

    /// Polls every 20 ms until `found` picks an event (its index), for at
    /// most `limit`; `context` goes into the failure message.
    pub fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        context: &dyn Fn() -> String,
        found: &dyn Fn(&serde_json::Value) -> bool,
    ) -> SeenEvent {
        let deadline = Instant::now() + limit;
        let mut checked = 0;
        loop {
            self.poll();
            if let Some(e) = self.events[checked..].iter().find(|e| found(&e.json)) {
                return e.clone();
            }
            checked = self.events.len();
            assert!(
                Instant::now() < deadline,
                "no event {what} within {limit:?}; events so far:\n{}\n{}",
                self.summary(),
                context()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// One line per event (event, id, kind, prefix count, time), for
    /// failure messages and the test log.
    pub fn summary(&self) -> String {
        self.events
            .iter()
            .map(|e| {
                let j = &e.json;
                format!(
                    "{} id={} kind={} culprit={} leaked_to={} peer={} prefixes={} severity={} at {}",
                    j["event"], j["id"], j["kind"], j["culprit_asn"], j["leaked_to_asn"],
                    j["feed_peer"], j["prefix_count"], j["severity"], j["event_time"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Seconds from `from` to `to` (negative if `to` is earlier).
pub fn secs_between(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// An RFC 3339 UTC time as bugyo writes it (`2026-11-22T23:52:12.917121Z`)
/// as a [`SystemTime`].
pub fn parse_rfc3339(s: &str) -> SystemTime {
    fn bad(s: &str) -> ! {
        panic!("not an RFC 3339 UTC time: {s:?}")
    }
    let Some((date, time)) = s.strip_suffix('Z').and_then(|t| t.split_once('T')) else {
        bad(s)
    };
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().unwrap_or_else(|_| bad(s)))
        .collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<u64> = hms
        .split(':')
        .map(|x| x.parse().unwrap_or_else(|_| bad(s)))
        .collect();
    if d.len() != 3 || t.len() != 3 {
        bad(s);
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
    // days_from_civil).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days as u64 * 86_400 + t[0] * 3600 + t[1] * 60 + t[2];
    let nanos: u32 = format!("{frac:0<9}")[..9]
        .parse()
        .unwrap_or_else(|_| bad(s));
    SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
}

/// Adds the leaked more-specific `prefix` through AS15169 and AS701.
pub fn add_leak(g: &Gobgpd, prefix: &str) {
    g.cli(&[
        "global",
        "rib",
        "add",
        "-a",
        "ipv4",
        prefix,
        "aspath",
        "701,15169,4713",
    ]);
}

/// Waits (bounded) for an `opened` route-leak event naming `prefix`.
pub fn wait_leak(serve: &Serve, prefix: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(serve.events_path()).unwrap_or_default();
        if let Some(e) = json_lines(&text).into_iter().find(|e| {
            e["event"] == "opened"
                && e["kind"] == "route-leak"
                && e["prefixes"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p == prefix))
        }) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "no leak incident for {prefix}\nevents:\n{text}\nbugyo log:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
