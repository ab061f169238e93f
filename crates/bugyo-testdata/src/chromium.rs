//! A headless browser for the portal's tests: Debian's `chromium`, driven
//! through `chromedriver` (WebDriver) started on a free loopback port with
//! its log in the test's scratch directory. Chromium runs headless with a
//! fresh profile, without the background connections a closed network
//! refuses, and without its sandbox (CI runs as root).
//!
//! Fails (never skips) when the packages are missing: `./scripts/test.sh`
//! installs `chromium` and `chromium-driver`. The driver (and the browser
//! it started) are killed when the harness is dropped; every wait is
//! bounded.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Debian's browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's WebDriver server for it.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A running chromedriver.
pub struct Chromedriver {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    profile: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver for a test working in `dir`.
    pub fn start(dir: &Path) -> Chromedriver {
        for (bin, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: install Debian's {package} (./scripts/test.sh does)"
            );
        }
        let port = crate::gobgp::free_port();
        let profile = dir.join("chromium-profile");
        std::fs::create_dir_all(&profile).expect("profile directory");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                dir.join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        crate::wait_until(
            Duration::from_secs(30),
            || TcpStream::connect(("127.0.0.1", port)).ok(),
            || {
                format!(
                    "chromedriver did not listen on {port}; see {}",
                    dir.join("chromedriver.log").display()
                )
            },
        );
        Chromedriver {
            child,
            port,
            profile,
        }
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The session capabilities (JSON) for headless Chromium with a fresh
    /// profile, a fixed window size and a language (`ja` or `en`).
    pub fn capabilities(&self, lang: &str) -> String {
        let profile = self.profile.join(lang);
        format!(
            r#"{{"browserName":"chrome","goog:chromeOptions":{{"binary":"{CHROMIUM}","args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--disable-quic","--no-first-run","--disable-background-networking","--disable-component-update","--disable-sync","--disable-extensions","--window-size=1280,1400","--lang={lang}","--user-data-dir={}"],"prefs":{{"intl.accept_languages":"{lang}"}}}}}}"#,
            profile.display()
        )
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
