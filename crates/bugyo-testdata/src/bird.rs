//! A real BGP peer for tests: Debian's BIRD 2 (`bird2`), started in the
//! foreground with a configuration written into a scratch directory and its
//! own control socket and pid file there, so that it never collides with a
//! system bird. Driven with `birdc -s SOCKET`. Fails (never skips) when bird
//! is not installed. The process is killed when the harness is dropped;
//! every wait is bounded by [`WAIT`].

use crate::gobgp::WAIT;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of an installed program (looked up in `PATH`, `/usr/bin` and
/// `/usr/sbin`); panics, failing the test, with a hint to install the
/// Debian `package` that has it.
pub fn installed(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found in PATH, /usr/bin or /usr/sbin: install it \
                 (apt-get install --no-install-recommends {package}; scripts/test.sh does this as root)"
            )
        })
}

/// A running bird, killed when dropped.
pub struct Bird {
    /// The bird process.
    pub child: Child,
    dir: PathBuf,
    sock: PathBuf,
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts bird with `config` (the whole configuration but the `log` line,
/// which the harness adds: the log is `dir/bird.log`) and waits, at most
/// [`WAIT`], until its control socket answers.
pub fn bird(dir: &Path, config: &str) -> Bird {
    let conf = dir.join("bird.conf");
    write_config(dir, config);
    let out = std::fs::File::create(dir.join("bird.out")).expect("create bird output file");
    let sock = dir.join("bird.ctl");
    let child = Command::new(installed("bird", "bird2"))
        .arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(&sock)
        .arg("-P")
        .arg(dir.join("bird.pid"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("output handle"))
        .stderr(out)
        .spawn()
        .expect("start bird");
    let mut b = Bird {
        child,
        dir: dir.to_path_buf(),
        sock,
    };
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Some(status)) = b.child.try_wait() {
            panic!("bird exited at start ({status}):\n{}", b.log());
        }
        if b.run_birdc(&["show", "status"]).status.success() {
            return b;
        }
        if Instant::now() > deadline {
            panic!("bird's control socket did not answer in time:\n{}", b.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `dir/bird.conf`: a `log` line to `dir/bird.log`, then `config`.
fn write_config(dir: &Path, config: &str) {
    let log = dir.join("bird.log");
    let text = format!("log \"{}\" all;\n{config}", log.display());
    std::fs::write(dir.join("bird.conf"), text).expect("write bird config");
}

impl Bird {
    fn run_birdc(&self, args: &[&str]) -> Output {
        Command::new(installed("birdc", "bird2"))
            .arg("-s")
            .arg(&self.sock)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run birdc")
    }

    /// Runs `birdc -s SOCKET ARGS` once and returns its output; panics
    /// (with bird's log) if birdc fails.
    pub fn birdc(&self, args: &[&str]) -> String {
        let out = self.run_birdc(args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            panic!("birdc {args:?} failed: {text}\nbird log:\n{}", self.log());
        }
        text
    }

    /// Replaces the configuration with `config` (as for [`bird()`]) and has
    /// bird load it (`birdc configure`); panics if bird rejects it.
    pub fn configure(&self, config: &str) {
        write_config(&self.dir, config);
        let out = self.birdc(&["configure"]);
        assert!(
            out.contains("Reconfigured") || out.contains("Reconfiguration in progress"),
            "birdc configure: {out}\nbird log:\n{}",
            self.log()
        );
    }

    /// Waits, at most [`WAIT`], until protocol `name` is up (for BGP:
    /// Established); panics with bird's view of it otherwise.
    pub fn wait_up(&self, name: &str) {
        crate::wait_until(
            WAIT,
            || {
                let out = self.birdc(&["show", "protocols", name]);
                out.lines()
                    .any(|l| l.split_whitespace().next() == Some(name) && l.contains(" up "))
                    .then_some(())
            },
            || {
                format!(
                    "bird protocol {name} not up in time:\n{}\nbird log:\n{}",
                    self.birdc(&["show", "protocols", "all", name]),
                    self.log()
                )
            },
        );
    }

    /// Kills bird (SIGKILL: no NOTIFICATION, the TCP connection just
    /// closes) and waits for it to end.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// bird's log and its standard output/error so far, for failure messages.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("bird.log"), read("bird.out"))
    }
}
