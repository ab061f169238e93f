//! A throwaway PostgreSQL server for one test: Debian's PostgreSQL
//! (`postgresql`, the newest version under `/usr/lib/postgresql`), a fresh
//! cluster made by `initdb` in a scratch directory (trust authentication,
//! superuser `bugyo`, UTF8, C locale), and `postgres` started directly (no
//! pg_ctlcluster, no systemd) on 127.0.0.1 at a free port, with its Unix
//! socket in the scratch directory, fsync off and small memory settings.
//! The database `bugyo` is created; [`Postgres::url`] names it.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI), the
//! scratch directory is given to the `postgres` system user, which the
//! Debian package creates, and `initdb` and `postgres` run as that user via
//! `runuser`; otherwise they run as the current user.
//!
//! Fails (never skips) when PostgreSQL is not installed; callers that want
//! a clearer message can ask [`available`] first. The server is stopped
//! (fast shutdown, then SIGKILL) and the scratch directory removed when the
//! harness is dropped; every wait is bounded.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Where Debian installs PostgreSQL: one directory per major version.
pub const ROOT: &str = "/usr/lib/postgresql";

/// How long the server may take to accept connections, and to stop.
pub const WAIT: Duration = Duration::from_secs(30);

/// The `bin` directory of the newest PostgreSQL installed under [`ROOT`]
/// (the one with the highest version number that has `bin/postgres`).
pub fn bin_dir() -> Option<PathBuf> {
    let version =
        |name: &str| -> Option<Vec<u32>> { name.split('.').map(|p| p.parse().ok()).collect() };
    std::fs::read_dir(ROOT)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = version(e.file_name().to_str()?)?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((v, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// Whether PostgreSQL's programs are installed (so [`Postgres::start`]
/// can work).
pub fn available() -> bool {
    bin_dir().is_some_and(|b| {
        ["initdb", "postgres", "pg_isready", "createdb", "psql"]
            .iter()
            .all(|p| b.join(p).is_file())
    })
}

/// A running PostgreSQL server, stopped and its directory removed when
/// dropped.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `postgres`, or `runuser` running it when root.
    child: Child,
}

impl Postgres {
    /// Makes a fresh cluster and starts the server; waits, at most
    /// [`WAIT`], until it accepts connections, then creates the database
    /// `bugyo`. Panics if PostgreSQL is not installed, or (with the server
    /// log) if it does not come up.
    pub fn start() -> Postgres {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let bin = match bin_dir() {
            Some(b) if available() => b,
            _ => panic!(
                "PostgreSQL not found under {ROOT}/<version>/bin: install it \
                 (apt-get install postgresql)"
            ),
        };
        let root = crate::is_root();
        let dir = crate::scratch(&format!(
            "postgres-{}",
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(dir.join("sock")).expect("create socket directory");
        if root {
            let out = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&dir)
                .output()
                .expect("run chown");
            assert!(
                out.status.success(),
                "chown -R postgres: {} failed (is the postgres user there? \
                 apt-get install postgresql creates it): {}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let data = dir.join("data");
        let out = server_command(&bin, root, "initdb", &dir)
            .args(["-A", "trust", "-U", "bugyo", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C", "-D"])
            .arg(&data)
            .output()
            .expect("run initdb");
        if !out.status.success() {
            let text = text(&out);
            let _ = std::fs::remove_dir_all(&dir);
            panic!("initdb failed ({}):\n{text}", out.status);
        }

        let port = crate::gobgp::free_port();
        let log = std::fs::File::create(dir.join("postgres.log")).expect("create postgres log");
        let child = server_command(&bin, root, "postgres", &dir)
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.join("sock"))
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off"])
            .args(["-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off"])
            .args(["-c", "shared_buffers=8MB"])
            .args(["-c", "max_connections=50"])
            .args(["-c", "max_wal_senders=0"])
            .args(["-c", "wal_level=minimal"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start postgres");
        // From here on, dropping `pg` stops the server and cleans up.
        let mut pg = Postgres {
            bin,
            dir,
            port,
            child,
        };

        let log_file = pg.dir.join("postgres.log");
        crate::wait_until(
            WAIT,
            || {
                if let Ok(Some(status)) = pg.child.try_wait() {
                    panic!("postgres exited at start ({status}):\n{}", pg.log());
                }
                let ready = pg
                    .client("pg_isready")
                    .args(["-h", "127.0.0.1", "-p", &pg.port.to_string()])
                    .args(["-U", "bugyo", "-d", "postgres"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                ready.then_some(())
            },
            || {
                let log = std::fs::read_to_string(&log_file).unwrap_or_default();
                format!("postgres did not accept connections in time:\n{log}")
            },
        );

        let out = pg
            .client("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "bugyo",
                "bugyo",
            ])
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb bugyo failed: {}\npostgres log:\n{}",
            text(&out),
            pg.log()
        );
        pg
    }

    /// The connection URL of the database `bugyo`, as user `bugyo`.
    pub fn url(&self) -> String {
        format!("postgres://bugyo@127.0.0.1:{}/bugyo", self.port)
    }

    /// The server's TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The path of one of PostgreSQL's programs (`psql`, `pg_dump`, ...)
    /// of the version this server runs.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// Runs `psql URL -X -A -t -v ON_ERROR_STOP=1 -c SQL` and returns its
    /// output (unaligned, tuples only); panics (with the server log) if
    /// psql fails.
    pub fn psql(&self, sql: &str) -> String {
        let out = self
            .client("psql")
            .arg(self.url())
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .expect("run psql");
        let text = text(&out);
        if !out.status.success() {
            panic!(
                "psql -c {sql:?} failed: {text}\npostgres log:\n{}",
                self.log()
            );
        }
        text
    }

    /// The pid of the server's main process (from `postmaster.pid`), once
    /// it has written it.
    pub fn pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The server's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// A client program of this server's version, run as the current user
    /// (connections are over TCP with trust authentication).
    fn client(&self, name: &str) -> Command {
        let mut c = Command::new(self.program(name));
        c.stdin(Stdio::null()).current_dir(&self.dir);
        c
    }

    /// Stops the server: SIGINT (fast shutdown: clients are disconnected)
    /// to the main process, then, if it is still there after [`WAIT`],
    /// SIGKILL to it and its children; then reaps the child.
    fn stop(&mut self) {
        if let Some(pid) = self.pid().filter(|&p| alive(p)) {
            signal("INT", &[pid]);
            let deadline = Instant::now() + WAIT;
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if alive(pid) {
                let mut pids = children(pid);
                pids.push(pid);
                signal("KILL", &pids);
            }
        }
        // `postgres` itself (which exits with the server) or `runuser`
        // (which exits once its child has): bounded, then killed.
        let deadline = Instant::now() + WAIT;
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("postgres log ({}):\n{}", self.dir.display(), self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `bin/name`, run as the `postgres` user when `root` (via `runuser`),
/// with `dir` as its working directory (one that user can enter).
fn server_command(bin: &Path, root: bool, name: &str, dir: &Path) -> Command {
    let mut c = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    };
    c.stdin(Stdio::null()).current_dir(dir);
    c
}

/// Sends signal `sig` (a name: INT, KILL) to `pids`.
fn signal(sig: &str, pids: &[u32]) {
    let targets: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    crate::signal(sig, &targets);
}

/// Whether process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_fields(&s).map(|(state, _)| state != "Z"))
        .unwrap_or(false)
}

/// The pids of the children of `pid` (the server's backends and workers).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| stat_fields(&s).map(|(_, ppid)| ppid == pid))
                .unwrap_or(false)
        })
        .collect()
}

/// The state and parent pid from the text of `/proc/PID/stat` (the fields
/// after the command name, which is in parentheses and may hold spaces).
fn stat_fields(stat: &str) -> Option<(String, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.to_owned();
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// A command's standard output and error, for messages.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
