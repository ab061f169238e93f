//! A real BMP client for tests: Debian's FRR `bgpd` (FRR 8.4), run
//! standalone with the BMP module (`-M bmp`): no zebra (`-Z`), no change of
//! user (`-S`, so that it runs as root in a container without the `frr`
//! users), its own vty socket directory, pid file and log in a scratch
//! directory, no vty TCP port, and no BGP listener unless a port is asked
//! for (then only on 127.0.0.1). That way it never collides with a system
//! FRR. Show commands go through `vtysh --vty_socket DIR -d bgpd`.
//!
//! Fails (never skips) when FRR is not installed. The process is killed
//! when the harness is dropped; every wait is bounded by [`WAIT`].

use crate::bird::installed;
use crate::gobgp::WAIT;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the BGP daemon.
pub const BGPD: &str = "/usr/lib/frr/bgpd";

/// A running FRR bgpd, killed when dropped.
pub struct Frr {
    /// The bgpd process.
    pub child: Child,
    dir: PathBuf,
    vty: PathBuf,
}

impl Drop for Frr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts bgpd with `config` (FRR configuration text; the harness puts
/// `frr defaults traditional`, a hostname of `bugyo-frr` and a debug log
/// to `dir/bgpd.log` before it). With `listen_port` it accepts BGP
/// connections on 127.0.0.1 at that port, else it listens nowhere. Waits,
/// at most [`WAIT`], until its vty answers.
pub fn bgpd(dir: &Path, config: &str, listen_port: Option<u16>) -> Frr {
    let bgpd = Path::new(BGPD);
    assert!(
        bgpd.is_file(),
        "{BGPD} not found: install FRR (apt-get install --no-install-recommends frr; \
         scripts/test.sh does this as root)"
    );
    let vty = dir.join("vty");
    std::fs::create_dir_all(&vty).expect("create vty socket directory");
    let conf = dir.join("bgpd.conf");
    let text = format!(
        "frr defaults traditional\nhostname bugyo-frr\nlog file {} debugging\n!\n{config}",
        dir.join("bgpd.log").display()
    );
    std::fs::write(&conf, text).expect("write bgpd config");
    let out = std::fs::File::create(dir.join("bgpd.out")).expect("create bgpd output file");
    let mut cmd = Command::new(bgpd);
    cmd.arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("bgpd.pid"))
        .arg("--vty_socket")
        .arg(&vty)
        .args(["-Z", "-S", "-M", "bmp", "-P", "0"]);
    match listen_port {
        Some(p) => cmd.args(["-l", "127.0.0.1", "-p", &p.to_string()]),
        None => cmd.args(["-p", "0"]),
    };
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("output handle"))
        .stderr(out)
        .spawn()
        .expect("start bgpd");
    let mut f = Frr {
        child,
        dir: dir.to_path_buf(),
        vty,
    };
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(status)) = f.child.try_wait() {
            panic!("bgpd exited at start ({status}):\n{}", f.log());
        }
        if f.try_vtysh("show bgp summary").is_some() {
            return f;
        }
        if Instant::now() > deadline {
            panic!("bgpd's vty did not answer in time:\n{}", f.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Frr {
    fn try_vtysh(&self, command: &str) -> Option<String> {
        let out = Command::new(installed("vtysh", "frr"))
            .arg("--vty_socket")
            .arg(&self.vty)
            .args(["-d", "bgpd", "-c", command])
            .stdin(Stdio::null())
            .output()
            .expect("run vtysh");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs one vtysh command against this bgpd and returns its output;
    /// panics (with the log) if vtysh fails.
    pub fn vtysh(&self, command: &str) -> String {
        self.try_vtysh(command)
            .unwrap_or_else(|| panic!("vtysh -c {command:?} failed\nbgpd log:\n{}", self.log()))
    }

    /// Waits, at most [`WAIT`], until the output of `command` satisfies
    /// `done`; panics with the last output and the log otherwise.
    pub fn wait_for(&self, command: &str, what: &str, done: impl Fn(&str) -> bool) {
        crate::wait_until(
            WAIT,
            || done(&self.vtysh(command)).then_some(()),
            || {
                format!(
                    "bgpd: timed out waiting for {what}; {command}:\n{}\nbgpd log:\n{}",
                    self.vtysh(command),
                    self.log()
                )
            },
        );
    }

    /// Kills bgpd (SIGKILL: its BMP and BGP connections just close) and
    /// waits for it to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// bgpd's log and its standard output/error so far (the last 20,000
    /// characters), for failure messages.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        let all = format!("{}{}", read("bgpd.log"), read("bgpd.out"));
        let cut = all.len().saturating_sub(20_000);
        let cut = (cut..=all.len())
            .find(|&i| all.is_char_boundary(i))
            .unwrap_or(all.len());
        all[cut..].to_string()
    }
}
