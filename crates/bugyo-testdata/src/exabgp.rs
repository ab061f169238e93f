//! A scripted BGP peer for tests: Debian's `exabgp` (4.2), started on
//! loopback with a generated configuration, connecting to the port under
//! test. Routes are streamed through exabgp's API: its API process is `cat`
//! of a named pipe that this harness writes text commands into, e.g.
//! `announce attributes next-hop 127.0.0.1 as-path [ 2497 2914 4713 ] nlri
//! 60.1.0.0/16 60.2.0.0/16`. Batching many prefixes into one command is what
//! lets exabgp send hundreds of thousands of routes quickly.
//!
//! Fails (never skips) when exabgp is not installed. The process is killed
//! when the harness is dropped; every wait is bounded.

use crate::gobgp::{binary, WAIT};
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `O_NONBLOCK` on Linux: writes to the API pipe must never block for
/// good, so the harness opens it non-blocking and waits itself, bounded.
const O_NONBLOCK: i32 = 0o4000;

/// Prefixes per `announce attributes … nlri …` command: large enough to
/// make exabgp fast, small enough to fit in a few BGP UPDATEs.
pub const BATCH: usize = 400;

/// How exabgp is set up.
#[derive(Clone, Debug)]
pub struct ExaBgpConfig {
    /// exabgp's own AS (the collector's peer).
    pub local_asn: u32,
    /// The AS of the speaker under test.
    pub peer_asn: u32,
    /// The TCP port on 127.0.0.1 that exabgp connects to.
    pub remote_port: u16,
    /// exabgp's BGP identifier.
    pub router_id: std::net::Ipv4Addr,
    /// Hold time offered in the OPEN.
    pub hold_time: u16,
    /// Advertise the graceful restart capability with this restart time
    /// (seconds), or not at all.
    pub graceful_restart: Option<u16>,
    /// Send End-of-RIB only when told ([`ExaBgp::end_of_rib`]) instead of
    /// as soon as exabgp has nothing queued: a restarting router's
    /// End-of-RIB after its whole table.
    pub manual_eor: bool,
}

impl ExaBgpConfig {
    /// exabgp as AS `local_asn` connecting to AS `peer_asn` at
    /// 127.0.0.1:`remote_port`, hold time 30 s, no graceful restart.
    pub fn new(local_asn: u32, peer_asn: u32, remote_port: u16) -> ExaBgpConfig {
        ExaBgpConfig {
            local_asn,
            peer_asn,
            remote_port,
            router_id: std::net::Ipv4Addr::new(192, 0, 2, 20),
            hold_time: 30,
            graceful_restart: None,
            manual_eor: false,
        }
    }

    /// The exabgp configuration file text, with the API process reading
    /// `fifo`.
    pub fn config_text(&self, fifo: &Path) -> String {
        let gr = match self.graceful_restart {
            Some(t) => format!("        graceful-restart {t};\n"),
            None => String::new(),
        };
        format!(
            r#"process feed {{
    run {cat} {fifo};
    encoder text;
}}

neighbor 127.0.0.1 {{
    router-id {router_id};
    local-address 127.0.0.1;
    local-as {local_asn};
    peer-as {peer_asn};
    connect {port};
    hold-time {hold};
    manual-eor {manual_eor};
    family {{
        ipv4 unicast;
        ipv6 unicast;
    }}
    capability {{
        route-refresh;
{gr}    }}
    api {{
        processes [ feed ];
    }}
}}
"#,
            cat = binary("cat").display(),
            fifo = fifo.display(),
            router_id = self.router_id,
            local_asn = self.local_asn,
            peer_asn = self.peer_asn,
            port = self.remote_port,
            hold = self.hold_time,
            manual_eor = self.manual_eor,
        )
    }
}

/// A running exabgp; killed when dropped.
pub struct ExaBgp {
    child: Child,
    api: File,
    log: PathBuf,
    /// Commands written to the API so far.
    pub commands: u64,
    /// Prefixes announced through [`ExaBgp::announce`] so far.
    pub announced: u64,
}

/// The path of the exabgp program, or a panic that says how to install it.
pub fn exabgp_binary() -> PathBuf {
    for p in ["/usr/sbin/exabgp", "/usr/bin/exabgp"] {
        if Path::new(p).is_file() {
            return PathBuf::from(p);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("exabgp"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("exabgp not found: install it (apt-get install exabgp; scripts/test.sh does this as root)")
        })
}

impl ExaBgp {
    /// Starts exabgp with `cfg`. Its files (configuration, API pipe, log)
    /// go in `dir`, named after `name` so that several can share a directory
    /// (a restarted router is a fresh process with a fresh pipe).
    pub fn start(dir: &Path, name: &str, cfg: &ExaBgpConfig) -> ExaBgp {
        let exabgp = exabgp_binary();
        let fifo = dir.join(format!("{name}.api"));
        let _ = std::fs::remove_file(&fifo);
        let status = Command::new(binary("mkfifo"))
            .arg(&fifo)
            .status()
            .expect("run mkfifo");
        assert!(status.success(), "mkfifo {} failed", fifo.display());
        // Read-write: opening never waits for the reader (Linux), and the
        // reader (`cat`) sees no end of file while the harness lives.
        let api = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&fifo)
            .expect("open the exabgp API pipe");
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(&conf, cfg.config_text(&fifo)).expect("write exabgp config");
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("create exabgp log");
        let child = Command::new(exabgp)
            .arg(&conf)
            // Run as whoever runs the test, in the foreground, without the
            // command-line pipes, listening nowhere, logging to stdout.
            .env("exabgp.daemon.user", current_user())
            .env("exabgp.daemon.daemonize", "false")
            .env("exabgp.daemon.drop", "false")
            .env("exabgp.daemon.pid", "")
            .env("exabgp.tcp.bind", "")
            .env("exabgp.tcp.port", cfg.remote_port.to_string())
            .env("exabgp.api.cli", "false")
            .env("exabgp.api.ack", "false")
            .env("exabgp.api.respawn", "false")
            .env("exabgp.log.destination", "stdout")
            // NOTICE: session events, not a line per API route.
            .env("exabgp.log.level", "NOTICE")
            .env("exabgp.log.routes", "false")
            .env("exabgp.log.packets", "false")
            .env("exabgp.log.message", "false")
            // The reactor waits speed/100 s when idle and runs at most 50
            // queued API routes per turn: at the default (1.0) that caps
            // exabgp near 5,000 routes/s; 0.1 lifts it to about 20,000.
            .env("exabgp.reactor.speed", "0.1")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .spawn()
            .expect("start exabgp");
        ExaBgp {
            child,
            api,
            log,
            commands: 0,
            announced: 0,
        }
    }

    /// The exabgp process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// exabgp's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panics with the log if exabgp has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("exabgp exited with {status}\nexabgp log:\n{}", self.log());
        }
    }

    /// Writes one API command (a line). Waits while the pipe is full, but
    /// fails if exabgp takes nothing for [`WAIT`] or has exited.
    pub fn send(&mut self, command: &str) {
        let mut line = Vec::with_capacity(command.len() + 1);
        line.extend_from_slice(command.as_bytes());
        line.push(b'\n');
        let mut rest = &line[..];
        let mut progress = Instant::now();
        while !rest.is_empty() {
            match self.api.write(rest) {
                Ok(n) => {
                    rest = &rest[n..];
                    progress = Instant::now();
                }
                Err(e)
                    if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted =>
                {
                    if progress.elapsed() > WAIT {
                        panic!(
                            "exabgp took no API input for {WAIT:?}\nexabgp log:\n{}",
                            self.log()
                        );
                    }
                    self.assert_running();
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("write to the exabgp API pipe: {e}"),
            }
        }
        self.commands += 1;
    }

    /// Announces `prefixes` (all of one address family) with `as_path`
    /// (sent as given: exabgp prepends nothing), [`BATCH`] prefixes per
    /// command. The next hop is 127.0.0.1 for IPv4 and ::1 for IPv6.
    pub fn announce<S: AsRef<str>>(&mut self, as_path: &[u32], prefixes: &[S]) {
        let path: Vec<String> = as_path.iter().map(|a| a.to_string()).collect();
        for chunk in prefixes.chunks(BATCH) {
            let v6 = chunk[0].as_ref().contains(':');
            let next_hop = if v6 { "::1" } else { "127.0.0.1" };
            let mut cmd = format!(
                "announce attributes next-hop {next_hop} origin igp as-path [ {} ] nlri",
                path.join(" ")
            );
            for p in chunk {
                cmd.push(' ');
                cmd.push_str(p.as_ref());
            }
            self.send(&cmd);
            self.announced += chunk.len() as u64;
        }
    }

    /// Withdraws `prefixes` (all of one address family), [`BATCH`] per
    /// command.
    pub fn withdraw<S: AsRef<str>>(&mut self, prefixes: &[S]) {
        for chunk in prefixes.chunks(BATCH) {
            let v6 = chunk[0].as_ref().contains(':');
            let next_hop = if v6 { "::1" } else { "127.0.0.1" };
            let mut cmd = format!("withdraw attributes next-hop {next_hop} nlri");
            for p in chunk {
                cmd.push(' ');
                cmd.push_str(p.as_ref());
            }
            self.send(&cmd);
        }
    }

    /// Closes the session with a Cease NOTIFICATION (`subcode` 2:
    /// administrative shutdown, 4: administrative reset). exabgp
    /// reconnects by itself and sends its routes again.
    pub fn teardown(&mut self, subcode: u8) {
        self.send(&format!("neighbor 127.0.0.1 teardown {subcode}"));
    }

    /// Sends End-of-RIB for IPv4 and IPv6 unicast (after the routes
    /// already queued).
    pub fn end_of_rib(&mut self) {
        self.send("announce eor ipv4 unicast");
        self.send("announce eor ipv6 unicast");
    }

    /// Kills exabgp at once (SIGKILL: no NOTIFICATION, the TCP connection
    /// just closes — a router crash) and waits for it to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ExaBgp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The user name exabgp should run as: the current user (tests run as
/// root in CI; exabgp would otherwise try to switch to user `exabgp`).
fn current_user() -> String {
    let out = Command::new(binary("id"))
        .arg("-un")
        .output()
        .expect("run id -un");
    let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!name.is_empty(), "id -un printed nothing");
    name
}
