//! Real BGP peers for tests: Debian's `gobgpd`, started on loopback with a
//! generated configuration and driven with the `gobgp` CLI. Fails (never
//! skips) when the programs are not installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Every wait of the peer helpers is at most this long.
pub const WAIT: Duration = Duration::from_secs(20);

/// gobgpd, killed when dropped.
pub struct Gobgpd {
    /// The gobgpd process.
    pub child: Child,
    /// Its gRPC API port on 127.0.0.1.
    pub api_port: u16,
    dir: PathBuf,
}

impl Drop for Gobgpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of an installed program; panics (failing the test) if missing.
pub fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} not found in PATH or /usr/bin: install its Debian package (scripts/test.sh does this as root)")
        })
}

/// A free TCP port on 127.0.0.1 for a child process to listen on.
///
/// The port comes from below the kernel's ephemeral range (32768–60999 on
/// Linux), never from `bind(":0")`: a port the kernel hands out for that is
/// handed out again as the source port of some other outgoing connection
/// (a peer dialling us, a test's HTTP client), and the child then fails
/// with "Address already in use" (CI saw exactly this). Each call in a
/// process takes the next port of a walk that starts at a place chosen by
/// the process id, so parallel tests of one binary never get the same port,
/// and a port something already listens on is skipped.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000; // 20000..32000, below the ephemeral range
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919) % COUNT;
    for _ in 0..COUNT {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (start + step) % COUNT) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!(
        "no free loopback port between {FIRST} and {}",
        FIRST + COUNT
    )
}

/// Starts gobgpd (AS `asn`) with one neighbour, bugyo (AS `peer_asn`) at
/// 127.0.0.1: either gobgpd connects to `remote_port`, or (`listen_port`) it
/// waits passively. Its log is `dir/gobgpd.log`.
pub fn gobgpd(
    dir: &Path,
    asn: u32,
    peer_asn: u32,
    remote_port: u16,
    listen_port: Option<u16>,
) -> Gobgpd {
    gobgpd_with(dir, asn, peer_asn, remote_port, listen_port, "")
}

/// [`gobgpd`] with `extra` appended to its TOML configuration (e.g. a
/// `[[bmp-servers]]` section).
pub fn gobgpd_with(
    dir: &Path,
    asn: u32,
    peer_asn: u32,
    remote_port: u16,
    listen_port: Option<u16>,
    extra: &str,
) -> Gobgpd {
    let api_port = free_port();
    let (port, passive) = match listen_port {
        Some(p) => (i64::from(p), true),
        None => (-1, false),
    };
    let config = format!(
        r#"[global.config]
  as = {asn}
  router-id = "192.0.2.10"
  port = {port}
  local-address-list = ["127.0.0.1"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "127.0.0.1"
    peer-as = {peer_asn}
  [neighbors.transport.config]
    remote-port = {remote_port}
    passive-mode = {passive}
  [neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
  [neighbors.add-paths.config]
    send-max = 4
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#
    );
    let cfg = dir.join("gobgpd.toml");
    std::fs::write(&cfg, format!("{config}{extra}")).expect("write gobgpd config");
    let log = std::fs::File::create(dir.join("gobgpd.log")).expect("create log");
    let child = Command::new(binary("gobgpd"))
        .args(["-t", "toml", "-f"])
        .arg(&cfg)
        .arg(format!("--api-hosts=127.0.0.1:{api_port}"))
        .arg("--pprof-disable")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start gobgpd");
    Gobgpd {
        child,
        api_port,
        dir: dir.to_path_buf(),
    }
}

impl Gobgpd {
    /// Runs `gobgp -p API ARGS`, retrying for a while until the API answers.
    pub fn cli(&self, args: &[&str]) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let out = Command::new(binary("gobgp"))
                .args(["-p", &self.api_port.to_string()])
                .args(args)
                .output()
                .expect("run gobgp");
            if out.status.success() {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "gobgp {args:?} failed: {}{}\ngobgpd log:\n{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// gobgpd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gobgpd.log")).unwrap_or_default()
    }
}
