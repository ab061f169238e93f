//! A throwaway SMTP server for one test: Debian's Exim ([`PACKAGE`],
//! `/usr/sbin/exim4`) started directly (`exim4 -C CONFIG -bdf`: no
//! init script, no systemd, none of `/etc/exim4`) with its own config,
//! spool, logs and mailbox in a scratch directory, listening on 127.0.0.1
//! at a free port. It accepts mail from anyone for any recipient (plain
//! SMTP: no TLS, no authentication; 8BITMIME and SMTPUTF8 are offered) and
//! delivers every message, once, to a maildir in the scratch directory;
//! [`Smtp::messages`] reads them back. [`Options`] add TLS with a
//! certificate of the test's ([`crate::tls`]; STARTTLS offered to all, or
//! TLS from the first byte) and a login that is then required (AUTH PLAIN
//! and LOGIN, offered over TLS only).
//!
//! Each stored message is the RFC 5322 text as received (lines end in LF,
//! not CRLF; dot-stuffing undone), with Exim's `Received:` header and three
//! added on delivery: `Return-path:` (the envelope sender),
//! `Envelope-to:` (every envelope recipient, comma-separated) and
//! `Delivery-date:`. The `Received:` header says how the message came:
//! `with esmtp` in the clear, `with esmtps` over TLS (and names the
//! cipher), `with esmtpsa` over TLS after a login.
//!
//! Exim gives up root privilege when given a config file with `-C`, and a
//! daemon must then run as an "admin" user; it never delivers as root.
//! So when the tests run as root (CI), the scratch directory is given to
//! the `Debian-exim` system user, which the Debian package creates, and
//! Exim runs as that user via `runuser`; otherwise it runs as the current
//! user, whose group the config makes an admin group. Either way the config
//! names that user as Exim's user and as the user deliveries run as.
//!
//! Fails (never skips) when Exim is not installed; callers that want a
//! clearer message can ask [`available`] first. The server runs in a
//! process group of its own; on drop its processes (the daemon, its SMTP
//! sessions and deliveries) get SIGTERM, then the whole group SIGKILL if
//! any is still there after [`WAIT`], and the scratch directory is
//! removed. Every wait is bounded.

use crate::tls::ServerCert;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Debian package that provides the server.
pub const PACKAGE: &str = "exim4-daemon-light";

/// The server program.
pub const EXIM: &str = "/usr/sbin/exim4";

/// The system user Exim runs as when the tests run as root.
pub const USER: &str = "Debian-exim";

/// How long the server may take to greet, and to stop.
pub const WAIT: Duration = Duration::from_secs(30);

/// Whether Exim is installed (so [`Smtp::start`] can work).
pub fn available() -> bool {
    std::path::Path::new(EXIM).is_file()
}

/// What a server offers beyond plain SMTP.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// TLS with this certificate: STARTTLS offered to every client.
    pub tls: Option<ServerCert>,
    /// With `tls`: TLS from the first byte instead (implicit TLS, SMTPS).
    pub tls_on_connect: bool,
    /// A user and password (letters and digits) without which no mail is
    /// accepted; AUTH PLAIN and LOGIN are offered over TLS only.
    pub login: Option<(String, String)>,
}

/// A running SMTP server, stopped and its directory removed when dropped.
pub struct Smtp {
    dir: PathBuf,
    port: u16,
    /// `exim4`, or `runuser` running it when root; the leader of the
    /// server's process group.
    child: Child,
    /// Whether `child` is `runuser` (the tests run as root).
    runuser: bool,
}

impl Smtp {
    /// Writes a config and starts the server; waits, at most [`WAIT`],
    /// until it greets on its port. Panics if Exim is not installed, or
    /// (with the server log) if it does not come up.
    pub fn start() -> Smtp {
        Smtp::start_with(&Options::default())
    }

    /// [`Smtp::start`] with `options`. Panics as it does, and if the login
    /// holds anything but letters and digits, or is given without TLS.
    pub fn start_with(options: &Options) -> Smtp {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        assert!(
            available(),
            "Exim not found at {EXIM}: install it (apt-get install {PACKAGE})"
        );
        let root = crate::is_root();
        let (uid, gid) = if root {
            (
                id(&["-u", USER]).unwrap_or_else(|| {
                    panic!("no user {USER} (apt-get install {PACKAGE} creates it)")
                }),
                id(&["-g", USER]).expect("group of the exim user"),
            )
        } else {
            (id(&["-u"]).expect("own uid"), id(&["-g"]).expect("own gid"))
        };
        let dir = crate::scratch(&format!("smtp-{}", COUNT.fetch_add(1, Ordering::Relaxed)));
        for sub in ["spool", "log", "mail"] {
            std::fs::create_dir(dir.join(sub)).expect("create server directory");
        }
        let port = crate::gobgp::free_port();
        if let Some(cert) = &options.tls {
            std::fs::write(dir.join("tls.crt"), &cert.cert_pem).expect("write the certificate");
            std::fs::write(dir.join("tls.key"), &cert.key_pem).expect("write the key");
        }
        if let Some((user, password)) = &options.login {
            assert!(
                options.tls.is_some(),
                "a login is offered over TLS only: give a certificate"
            );
            assert!(
                [user, password]
                    .iter()
                    .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())),
                "login: letters and digits only (the config quotes nothing)"
            );
        }
        let config = dir.join("exim.conf");
        std::fs::write(&config, config_text(&dir, port, uid, gid, options))
            .expect("write exim config");
        if root {
            let out = Command::new("chown")
                .args(["-R", &format!("{USER}:")])
                .arg(&dir)
                .output()
                .expect("run chown");
            assert!(
                out.status.success(),
                "chown -R {USER}: {} failed: {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let out = std::fs::File::create(dir.join("exim.out")).expect("create exim output file");
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", USER, "--", EXIM]);
            c
        } else {
            Command::new(EXIM)
        };
        let child = cmd
            .arg("-C")
            .arg(&config)
            .arg("-bdf")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("output handle"))
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start exim");
        // From here on, dropping `smtp` stops the server and cleans up.
        let mut smtp = Smtp {
            dir,
            port,
            child,
            runuser: root,
        };

        let dir = smtp.dir.clone();
        // Over TLS from the first byte there is no greeting in the clear:
        // a connection accepted is the sign then.
        let tls_on_connect = options.tls.is_some() && options.tls_on_connect;
        crate::wait_until(
            WAIT,
            || {
                if let Ok(Some(status)) = smtp.child.try_wait() {
                    panic!("exim exited at start ({status}):\n{}", smtp.log());
                }
                let up = if tls_on_connect {
                    TcpStream::connect(("127.0.0.1", port)).is_ok()
                } else {
                    greets(port)
                };
                up.then_some(())
            },
            || format!("exim did not greet on port {port} in time:\n{}", log(&dir)),
        );
        smtp
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The maildir Exim delivers into (`new/` holds each message as
    /// delivered; `cur/` and `tmp/` are Exim's too): for a test that reads
    /// the mailbox as a mail-reading program would.
    pub fn maildir(&self) -> PathBuf {
        self.dir.join("mail")
    }

    /// Every message delivered so far, oldest first (two delivered within one second may come in either order), as raw text (invalid
    /// UTF-8 replaced). A message sent to several recipients is there
    /// once, with all of them in its `Envelope-to:` header.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.join("mail/new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        // Exim names maildir files SECONDS.MMICROSECONDSPPID.HOST, by the
        // time of delivery; files appear there only once complete.
        let mut files: Vec<((u64, u64), String)> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .map(|name| (delivery_time(&name), name))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|(_, name)| std::fs::read(new.join(name)).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .collect()
    }

    /// Waits, at most `limit`, until at least `n` messages have been
    /// delivered, and returns them all (as [`Smtp::messages`]); panics
    /// with the server log if they do not come.
    pub fn wait_for(&self, n: usize, limit: Duration) -> Vec<String> {
        crate::wait_until(
            limit,
            || {
                let m = self.messages();
                (m.len() >= n).then_some(m)
            },
            || {
                format!(
                    "{n} message(s) awaited on port {} for {limit:?}, {} delivered; \
                     exim log:\n{}",
                    self.port,
                    self.messages().len(),
                    self.log()
                )
            },
        )
    }

    /// The pid of the Exim daemon (from its pid file), once it has
    /// written it.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("exim.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The server's logs so far (its output, main, reject and panic
    /// logs), for failure messages.
    pub fn log(&self) -> String {
        log(&self.dir)
    }

    /// Stops the server: SIGTERM to every process of its group but
    /// `runuser` (which, signalled, would wait two seconds before killing
    /// its child; it exits with Exim), then, if any of the group is still
    /// there after [`WAIT`], SIGKILL to the group; then reaps the child.
    fn stop(&mut self) {
        let group = self.child.id();
        let gone = |child: &mut Child| {
            let _ = child.try_wait();
            members(group).is_empty()
        };
        let exim: Vec<u32> = members(group)
            .into_iter()
            .filter(|&p| !(self.runuser && p == group))
            .collect();
        if !exim.is_empty() {
            crate::signal("TERM", &exim.iter().map(u32::to_string).collect::<Vec<_>>());
        }
        let deadline = Instant::now() + WAIT;
        while !gone(&mut self.child) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !gone(&mut self.child) {
            crate::signal("KILL", &[format!("-{group}")]);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("exim log ({}):\n{}", self.dir.display(), self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Exim's authenticators for one user `USER` with password `PASSWORD`:
/// PLAIN and LOGIN, offered over TLS only.
const AUTHENTICATORS: &str = "
begin authenticators

plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and {{eq{$auth2}{USER}}{eq{$auth3}{PASSWORD}}}}
  server_set_id = $auth2
  server_advertise_condition = ${if def:tls_in_cipher}

login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = ${if and {{eq{$auth1}{USER}}{eq{$auth2}{PASSWORD}}}}
  server_set_id = $auth1
  server_advertise_condition = ${if def:tls_in_cipher}
";

/// The Exim config: listen on 127.0.0.1:`port` only, no DNS or ident
/// lookups, accept every recipient (of a logged-in client, with a login),
/// deliver everything (one file per message) into the maildir `dir/mail`
/// as user `uid`:`gid`; TLS and a login as `options` say (the certificate
/// and key in `dir/tls.crt` and `dir/tls.key`).
fn config_text(dir: &std::path::Path, port: u16, uid: u32, gid: u32, options: &Options) -> String {
    let d = dir.display();
    let tls = match &options.tls {
        None => "tls_advertise_hosts =".to_string(),
        Some(_) => format!(
            "tls_advertise_hosts = *\ntls_certificate = {d}/tls.crt\ntls_privatekey = {d}/tls.key{}",
            if options.tls_on_connect {
                format!("\ntls_on_connect_ports = {port}")
            } else {
                String::new()
            }
        ),
    };
    let (rcpt, authenticators) = match &options.login {
        None => ("  accept".to_string(), String::new()),
        Some((user, password)) => (
            "  accept authenticated = *\n  deny message = log in first".to_string(),
            AUTHENTICATORS
                .replace("USER", user)
                .replace("PASSWORD", password),
        ),
    };
    format!(
        "\
# Written by bugyo-testdata for one test (see smtp.rs).
primary_hostname = bugyo-test.invalid
qualify_domain = bugyo-test.invalid
exim_user = {uid}
exim_group = {gid}
admin_groups = {gid}
never_users =
keep_environment =
spool_directory = {d}/spool
log_file_path = {d}/log/%slog
pid_file_path = {d}/exim.pid
local_interfaces = 127.0.0.1
daemon_smtp_ports = {port}
daemon_startup_retries = 0
host_lookup =
rfc1413_hosts =
rfc1413_query_timeout = 0s
{tls}
accept_8bitmime = true
smtputf8_advertise_hosts = *
message_size_limit = 50M
acl_smtp_rcpt = acl_rcpt

begin acl

acl_rcpt:
{rcpt}

begin routers

everything:
  driver = accept
  transport = store

begin transports

store:
  driver = appendfile
  directory = {d}/mail
  maildir_format = true
  create_directory = true
  batch_max = 10000
  envelope_to_add = true
  return_path_add = true
  delivery_date_add = true
  user = {uid}
  group = {gid}
  mode = 0600
{authenticators}"
    )
}

/// Whether an SMTP server on 127.0.0.1:`port` greets with 220; says QUIT.
fn greets(port: u16) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || !line.starts_with("220") {
        return false;
    }
    let _ = (&stream).write_all(b"QUIT\r\n");
    let _ = reader.read_line(&mut line);
    true
}

/// The delivery time (seconds, microseconds) in an Exim maildir file name
/// (`1795403927.M919216P11482.host`); (0, 0) if it has none.
fn delivery_time(name: &str) -> (u64, u64) {
    let mut parts = name.split('.');
    let secs = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let micros = parts
        .next()
        .map(|p| {
            p.chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
        })
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (secs, micros)
}

/// The logs in scratch directory `dir`: Exim's own output, then its main,
/// reject and panic logs (those that exist), without the line every Exim
/// process writes to its output and panic log here ("exim user lost
/// privilege for using -C option").
fn log(dir: &std::path::Path) -> String {
    let mut text = String::new();
    for name in ["exim.out", "log/mainlog", "log/rejectlog", "log/paniclog"] {
        if let Ok(t) = std::fs::read_to_string(dir.join(name)) {
            text.push_str(&format!("--- {name}\n"));
            for line in t
                .lines()
                .filter(|l| !l.ends_with("lost privilege for using -C option"))
            {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    text
}

/// `id ARGS` as a number (a uid or gid).
fn id(args: &[&str]) -> Option<u32> {
    let out = Command::new("id").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The live (not zombie) processes of process group `group`.
fn members(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            // After the command name (in parentheses, may hold spaces):
            // state, ppid, pgrp.
            let Some(end) = stat.rfind(')') else {
                return false;
            };
            let f: Vec<&str> = stat[end + 1..].split_whitespace().take(3).collect();
            f.len() == 3 && f[0] != "Z" && f[2] == group.to_string()
        })
        .collect()
}
