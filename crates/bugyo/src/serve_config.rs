//! The `bugyo serve` configuration: a TOML file (`--config`, documented in
//! `docs/serve.example.toml`) overlaid by command-line flags, resolved into
//! one [`Settings`] with every default filled in.
//!
//! Precedence: a flag beats the file, the file beats the built-in default.
//! `--peer` and `--irr` add to the file's lists. Relative paths in the file
//! are relative to the file's own directory, so a configuration can be moved
//! with its data. Unknown keys are errors (a misspelt key must not be
//! silently ignored), reported with their line and column.

use crate::load::ReferenceArgs;
use bugyo_model::Asn;
use bugyo_notify::{CaFile, SmtpRelay};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The configuration file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Where the archive and the default events file go.
    pub data_dir: Option<PathBuf>,
    /// bugyo's own AS number on BGP sessions.
    pub local_asn: Option<u32>,
    /// bugyo's BGP identifier.
    pub router_id: Option<Ipv4Addr>,
    /// Where `/metrics` (and later the API and portal) are served.
    pub http: Option<SocketAddr>,
    /// Where incident changes are appended.
    pub events: Option<PathBuf>,
    /// The store: `sqlite://PATH` or `postgres://...`.
    pub database: Option<String>,
    /// API requests per second per token.
    pub api_rate: Option<u32>,
    /// The SMTP relay for e-mail notices (as `--smtp`: HOST:PORT, smtp://,
    /// smtp://...?tls=required, smtps://).
    pub smtp: Option<SmtpRelay>,
    /// The sender of e-mail notices.
    pub mail_from: Option<String>,
    /// CA certificates (PEM) trusted for notices over TLS besides the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// The maildir outage reports arrive in by e-mail, taken in every
    /// `intake_secs` (as `bugyo report intake --maildir`).
    pub report_maildir: Option<PathBuf>,
    /// Seconds between runs over `report_maildir`.
    pub intake_secs: Option<u64>,
    /// BGP sessions.
    pub bgp: BgpSection,
    /// The BMP station.
    pub bmp: BmpSection,
    /// The RTR cache.
    pub rtr: RtrSection,
    /// Reference data files.
    pub reference: ReferenceSection,
    /// The MRT archive.
    pub archive: ArchiveSection,
    /// Detection tunables.
    pub detection: DetectionSection,
}

/// `[bgp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BgpSection {
    /// Where to accept sessions.
    pub listen: Option<SocketAddr>,
    /// The hold time proposed to peers, in seconds (0, or 3 and more).
    pub hold_time: Option<u16>,
    /// `[[bgp.peer]]`: the peers allowed to connect.
    pub peer: Vec<PeerSection>,
}

/// `[[bgp.peer]]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// The AS the peer must announce.
    pub asn: u32,
    /// The peer's address.
    pub address: IpAddr,
    /// Connect to the peer rather than wait for it.
    #[serde(default)]
    pub active: bool,
    /// The port to connect to when active (default 179).
    pub port: Option<u16>,
    /// Free text for operators (who, which router).
    pub description: Option<String>,
}

/// `[bmp]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BmpSection {
    /// Where to accept BMP connections from monitored routers.
    pub listen: Option<SocketAddr>,
}

/// `[rtr]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtrSection {
    /// The cache, `HOST:PORT`.
    pub server: Option<String>,
}

/// `[reference]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReferenceSection {
    /// RPKI VRPs (and ASPA) file.
    pub rpki: Option<PathBuf>,
    /// IRR dumps in RPSL.
    pub irr: Vec<PathBuf>,
    /// CAIDA AS relationships.
    pub as_rel: Option<PathBuf>,
    /// CAIDA AS2Org.
    pub as2org: Option<PathBuf>,
    /// The watch list of members.
    pub watch: Option<PathBuf>,
    /// How often to look for changed files, in seconds (0: never).
    pub reload_secs: Option<u64>,
}

/// `[archive]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveSection {
    /// Length of one updates file, in seconds.
    pub rotate_secs: Option<i64>,
    /// How often a RIB snapshot is written, in seconds (0: never).
    pub rib_snapshot_secs: Option<i64>,
    /// Remove files older than this many days.
    pub retention_days: Option<u32>,
}

/// `[detection]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectionSection {
    /// Seconds an incident's routes must be gone before it resolves.
    pub quiet_secs: Option<i64>,
    /// Seconds after a session comes up during which its routes are its
    /// initial table.
    pub learning_secs: Option<i64>,
    /// A peer silent this long opens a feed-down incident.
    pub feed_quiet_secs: Option<i64>,
}

/// Everything `bugyo serve` runs with, defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the archive and the default events file go.
    pub data_dir: PathBuf,
    /// Our AS on BGP sessions.
    pub local_asn: Asn,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Where `/metrics` is served.
    pub http: SocketAddr,
    /// Where incident changes are appended.
    pub events: PathBuf,
    /// The store's URL (default: the SQLite file under the data directory).
    pub database: String,
    /// API requests per second per token.
    pub api_rate: u32,
    /// Where notices go out.
    pub mail: crate::notify::MailArgs,
    /// Where BGP sessions are accepted.
    pub bgp_listen: SocketAddr,
    /// Proposed hold time.
    pub hold_time: u16,
    /// Configured peers.
    pub peers: Vec<PeerSection>,
    /// Where BMP is accepted, if anywhere.
    pub bmp_listen: Option<SocketAddr>,
    /// The RTR cache, if any.
    pub rtr: Option<String>,
    /// Reference data files.
    pub reference: ReferenceArgs,
    /// Seconds between looks for changed reference files (0: never).
    pub reload_secs: u64,
    /// Updates file length.
    pub rotate_secs: i64,
    /// RIB snapshot period (`None`: none).
    pub rib_snapshot_secs: Option<i64>,
    /// Archive retention.
    pub retention_days: Option<u32>,
    /// Incident resolution quiet period.
    pub quiet_secs: i64,
    /// Initial-table learning window.
    pub learning_secs: i64,
    /// Silent-feed limit.
    pub feed_quiet_secs: Option<i64>,
    /// The maildir of outage reports by e-mail, if any.
    pub report_maildir: Option<PathBuf>,
    /// Seconds between runs over it.
    pub intake_secs: u64,
}

/// The built-in defaults: unprivileged ports on loopback, embedded storage
/// under `./bugyo-data`.
pub mod defaults {
    use std::net::{Ipv4Addr, SocketAddr};

    /// Data directory.
    pub const DATA_DIR: &str = "bugyo-data";
    /// Private AS (RFC 6996's last 16-bit one is reserved; 65535 is what
    /// monitors conventionally use on passive sessions).
    pub const LOCAL_ASN: u32 = 65535;
    /// BGP identifier.
    pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::LOCALHOST;
    /// Hold time.
    pub const HOLD_TIME: u16 = 90;
    /// Seconds between looks for changed reference files.
    pub const RELOAD_SECS: u64 = 30;
    /// Updates file length (RIS: 5 minutes; RouteViews: 15).
    pub const ROTATE_SECS: i64 = 300;
    /// RIB snapshot period.
    pub const RIB_SNAPSHOT_SECS: i64 = 3600;
    /// Incident resolution quiet period.
    pub const QUIET_SECS: i64 = 300;
    /// Initial-table learning window.
    pub const LEARNING_SECS: i64 = 300;
    /// API requests per second per token.
    pub const API_RATE: u32 = 50;
    /// The sender of e-mail notices.
    pub const MAIL_FROM: &str = "bugyo@localhost";
    /// Seconds between runs over the report maildir.
    pub const INTAKE_SECS: u64 = 10;

    /// BGP listen address.
    pub fn bgp_listen() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 1179))
    }

    /// HTTP address.
    pub fn http() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 8080))
    }
}

impl ServeConfig {
    /// Reads and checks a configuration file. Relative paths in it become
    /// relative to its directory.
    pub fn load(path: &Path) -> Result<ServeConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut config =
            ServeConfig::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.rebase(base);
        Ok(config)
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<ServeConfig, String> {
        let config: ServeConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.local_asn == Some(0) {
            return Err("local_asn: AS0 cannot be used on a session".into());
        }
        if let Some(h) = self.bgp.hold_time {
            if h == 1 || h == 2 {
                return Err(format!(
                    "bgp.hold_time: {h} is not allowed (0, or at least 3; RFC 4271)"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.bgp.peer.iter().enumerate() {
            if p.asn == 0 {
                return Err(format!("bgp.peer[{i}].asn: AS0 cannot be a peer"));
            }
            if !seen.insert(p.address) {
                return Err(format!(
                    "bgp.peer[{i}].address: {} is configured twice",
                    p.address
                ));
            }
        }
        for (name, v) in [
            ("archive.rotate_secs", self.archive.rotate_secs),
            ("detection.quiet_secs", self.detection.quiet_secs),
            ("detection.feed_quiet_secs", self.detection.feed_quiet_secs),
        ] {
            if v.is_some_and(|v| v <= 0) {
                return Err(format!("{name}: must be more than 0"));
            }
        }
        for (name, v) in [
            ("archive.rib_snapshot_secs", self.archive.rib_snapshot_secs),
            ("detection.learning_secs", self.detection.learning_secs),
        ] {
            if v.is_some_and(|v| v < 0) {
                return Err(format!("{name}: must not be negative"));
            }
        }
        if self.intake_secs == Some(0) {
            return Err("intake_secs: must be more than 0".into());
        }
        if self.archive.retention_days == Some(0) {
            return Err("archive.retention_days: at least 1 (leave it out to keep all)".into());
        }
        Ok(())
    }

    fn rebase(&mut self, base: &Path) {
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        let r = &mut self.reference;
        for p in [
            &mut self.data_dir,
            &mut self.events,
            &mut self.ca_file,
            &mut self.report_maildir,
            &mut r.rpki,
            &mut r.as_rel,
            &mut r.as2org,
            &mut r.watch,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        r.irr.iter_mut().for_each(fix);
        if let Some(db) = &mut self.database {
            if let Some(path) = db.strip_prefix("sqlite://") {
                if Path::new(path).is_relative() {
                    *db = format!("sqlite://{}", base.join(path).display());
                }
            }
        }
    }
}

/// What the command line gave, each `None` when not given.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--local-asn`
    pub local_asn: Option<Asn>,
    /// `--router-id`
    pub router_id: Option<Ipv4Addr>,
    /// `--bgp-listen`
    pub bgp_listen: Option<SocketAddr>,
    /// `--http`
    pub http: Option<SocketAddr>,
    /// `--bmp-listen`
    pub bmp_listen: Option<SocketAddr>,
    /// `--peer` (added to the file's)
    pub peers: Vec<(Asn, IpAddr)>,
    /// `--rtr`
    pub rtr: Option<String>,
    /// `--rpki`, `--irr` (added), `--as-rel`, `--as2org`, `--watch`
    pub reference: ReferenceArgs,
    /// `--events`
    pub events: Option<PathBuf>,
    /// `--database`
    pub database: Option<String>,
    /// `--api-rate`
    pub api_rate: Option<u32>,
    /// `--smtp`
    pub smtp: Option<SmtpRelay>,
    /// `--mail-from`
    pub mail_from: Option<String>,
    /// `--ca-file`, read
    pub ca_file: Option<CaFile>,
    /// `--retry-secs`
    pub retry_secs: Option<u64>,
    /// `--retention-days`
    pub retention_days: Option<u32>,
    /// `--quiet-secs`
    pub quiet_secs: Option<i64>,
    /// `--learning-secs`
    pub learning_secs: Option<i64>,
    /// `--feed-quiet-secs`
    pub feed_quiet_secs: Option<i64>,
    /// `--report-maildir`
    pub report_maildir: Option<PathBuf>,
    /// `--intake-secs`
    pub intake_secs: Option<u64>,
}

impl Settings {
    /// Flags over the file over the defaults.
    pub fn resolve(flags: Flags, file: ServeConfig) -> Result<Settings, String> {
        let data_dir = flags
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(defaults::DATA_DIR));
        let events = flags
            .events
            .or(file.events)
            .unwrap_or_else(|| data_dir.join("events.jsonl"));
        let database = flags
            .database
            .or(file.database)
            .unwrap_or_else(|| bugyo_store::sqlite_url(&data_dir));
        let mut peers = file.bgp.peer;
        for (asn, addr) in flags.peers {
            if peers.iter().any(|p| p.address == addr) {
                return Err(format!("--peer {asn}@{addr}: {addr} is already configured"));
            }
            peers.push(PeerSection {
                asn: asn.0,
                address: addr,
                active: false,
                port: None,
                description: None,
            });
        }
        let fr = file.reference;
        let mut irr = fr.irr;
        irr.extend(flags.reference.irr);
        let reference = ReferenceArgs {
            rpki: flags.reference.rpki.or(fr.rpki),
            irr,
            as_rel: flags.reference.as_rel.or(fr.as_rel),
            as2org: flags.reference.as2org.or(fr.as2org),
            watch: flags.reference.watch.or(fr.watch),
        };
        let ca_file = match (flags.ca_file, &file.ca_file) {
            (Some(ca), _) => Some(ca),
            (None, Some(path)) => Some(CaFile::load(path).map_err(|e| format!("ca_file: {e}"))?),
            (None, None) => None,
        };
        let snapshot = file
            .archive
            .rib_snapshot_secs
            .unwrap_or(defaults::RIB_SNAPSHOT_SECS);
        Ok(Settings {
            local_asn: flags
                .local_asn
                .or(file.local_asn.map(Asn))
                .unwrap_or(Asn(defaults::LOCAL_ASN)),
            router_id: flags
                .router_id
                .or(file.router_id)
                .unwrap_or(defaults::ROUTER_ID),
            http: flags.http.or(file.http).unwrap_or_else(defaults::http),
            events,
            database,
            api_rate: flags
                .api_rate
                .or(file.api_rate)
                .unwrap_or(defaults::API_RATE),
            mail: crate::notify::MailArgs {
                smtp: flags.smtp.or(file.smtp),
                mail_from: flags.mail_from.or(file.mail_from),
                ca_file,
                retry_secs: flags.retry_secs,
            },
            bgp_listen: flags
                .bgp_listen
                .or(file.bgp.listen)
                .unwrap_or_else(defaults::bgp_listen),
            hold_time: file.bgp.hold_time.unwrap_or(defaults::HOLD_TIME),
            peers,
            bmp_listen: flags.bmp_listen.or(file.bmp.listen),
            rtr: flags.rtr.or(file.rtr.server),
            reference,
            reload_secs: fr.reload_secs.unwrap_or(defaults::RELOAD_SECS),
            rotate_secs: file.archive.rotate_secs.unwrap_or(defaults::ROTATE_SECS),
            rib_snapshot_secs: (snapshot > 0).then_some(snapshot),
            retention_days: flags.retention_days.or(file.archive.retention_days),
            quiet_secs: flags
                .quiet_secs
                .or(file.detection.quiet_secs)
                .unwrap_or(defaults::QUIET_SECS),
            learning_secs: flags
                .learning_secs
                .or(file.detection.learning_secs)
                .unwrap_or(defaults::LEARNING_SECS),
            feed_quiet_secs: flags.feed_quiet_secs.or(file.detection.feed_quiet_secs),
            report_maildir: flags.report_maildir.or(file.report_maildir),
            intake_secs: flags
                .intake_secs
                .or(file.intake_secs)
                .unwrap_or(defaults::INTAKE_SECS),
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_and_is_complete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/serve.example.toml");
        let c = ServeConfig::load(&path).expect("docs/serve.example.toml is valid");
        assert_eq!(c.local_asn, Some(65535));
        assert_eq!(c.bgp.peer.len(), 2);
        assert!(c.bgp.peer[1].active);
        assert!(c.bmp.listen.is_some());
        assert_eq!(c.archive.rotate_secs, Some(300));
        // Relative paths follow the file.
        let rpki = c.reference.rpki.unwrap();
        assert!(rpki.starts_with(path.parent().unwrap()), "{rpki:?}");
    }

    #[test]
    fn errors_name_the_key() {
        let e =
            ServeConfig::parse("[bgp]\nlisten = \"127.0.0.1:1179\"\nhodl_time = 90\n").unwrap_err();
        assert!(e.contains("hodl_time") && e.contains("line 3"), "{e}");
        let e = ServeConfig::parse("[[bgp.peer]]\nasn = 0\naddress = \"192.0.2.1\"\n").unwrap_err();
        assert!(e.contains("bgp.peer[0].asn"), "{e}");
        let e = ServeConfig::parse(
            "[[bgp.peer]]\nasn = 1\naddress = \"192.0.2.1\"\n[[bgp.peer]]\nasn = 2\naddress = \"192.0.2.1\"\n",
        )
        .unwrap_err();
        assert!(e.contains("bgp.peer[1].address"), "{e}");
        let e = ServeConfig::parse("[bgp]\nhold_time = 2\n").unwrap_err();
        assert!(e.contains("bgp.hold_time"), "{e}");
        let e = ServeConfig::parse("[archive]\nretention_days = 0\n").unwrap_err();
        assert!(e.contains("archive.retention_days"), "{e}");
        let e = ServeConfig::parse("[bgp]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(e.contains("listen"), "{e}");
        let e = ServeConfig::parse("intake_secs = 0\n").unwrap_err();
        assert!(e.contains("intake_secs"), "{e}");
    }

    #[test]
    fn report_maildir_from_the_file_or_the_flag() {
        let mut file = ServeConfig::parse("report_maildir = \"mail\"\nintake_secs = 30\n").unwrap();
        file.rebase(Path::new("/etc/bugyo"));
        let s = Settings::resolve(Flags::default(), file).unwrap();
        assert_eq!(s.report_maildir, Some(PathBuf::from("/etc/bugyo/mail")));
        assert_eq!(s.intake_secs, 30);
        let flags = Flags {
            report_maildir: Some(PathBuf::from("/srv/mail")),
            ..Flags::default()
        };
        let s = Settings::resolve(flags, ServeConfig::default()).unwrap();
        assert_eq!(s.report_maildir, Some(PathBuf::from("/srv/mail")));
        assert_eq!(s.intake_secs, defaults::INTAKE_SECS);
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file = ServeConfig::parse(
            "local_asn = 64500\n[bgp]\nlisten = \"127.0.0.1:2179\"\n[[bgp.peer]]\nasn = 2497\naddress = \"192.0.2.1\"\n[detection]\nquiet_secs = 600\n",
        )
        .unwrap();
        let flags = Flags {
            local_asn: Some(Asn(65001)),
            peers: vec![(Asn(2914), "192.0.2.2".parse().unwrap())],
            ..Flags::default()
        };
        let s = Settings::resolve(flags, file).unwrap();
        assert_eq!(s.local_asn, Asn(65001), "flag wins");
        assert_eq!(s.bgp_listen.port(), 2179, "file wins over default");
        assert_eq!(s.quiet_secs, 600);
        assert_eq!(s.learning_secs, defaults::LEARNING_SECS);
        assert_eq!(s.http, defaults::http());
        assert_eq!(s.events, PathBuf::from("bugyo-data/events.jsonl"));
        assert_eq!(s.peers.len(), 2, "--peer adds to the file's peers");
        assert_eq!(s.rib_snapshot_secs, Some(3600));
        // The same address twice is refused.
        let file =
            ServeConfig::parse("[[bgp.peer]]\nasn = 2497\naddress = \"192.0.2.1\"\n").unwrap();
        let flags = Flags {
            peers: vec![(Asn(2497), "192.0.2.1".parse().unwrap())],
            ..Flags::default()
        };
        assert!(Settings::resolve(flags, file).is_err());
    }

    #[test]
    fn mail_keys_take_relay_urls_and_a_ca_file_beside_the_config() {
        let dir = bugyo_testdata::scratch("serve-config-mail");
        std::fs::write(
            dir.join("ca.pem"),
            bugyo_testdata::tls::TestCa::new("test").cert_pem(),
        )
        .unwrap();
        let path = dir.join("serve.toml");
        std::fs::write(
            &path,
            "smtp = \"smtps://noc:pw@mail.example.net\"\nca_file = \"ca.pem\"\n",
        )
        .unwrap();
        let c = ServeConfig::load(&path).unwrap();
        let relay = c.smtp.clone().unwrap();
        assert_eq!(relay.security, bugyo_notify::relay::Security::Tls);
        assert_eq!(relay.to_string(), "smtps://noc@mail.example.net:465");
        assert_eq!(c.ca_file, Some(dir.join("ca.pem")), "beside the file");
        let s = Settings::resolve(Flags::default(), c).unwrap();
        assert_eq!(s.mail.ca_file.map(|c| c.len()), Some(1));
        assert!(s.mail.smtp.is_some());

        let e = ServeConfig::parse("smtp = \"smtp://noc:pw@mail.example.net\"\n").unwrap_err();
        assert!(
            e.contains("smtp") && e.contains("TLS only") && e.contains("line 1"),
            "{e}"
        );
        std::fs::remove_file(dir.join("ca.pem")).unwrap();
        let c = ServeConfig::load(&path).unwrap();
        let e = Settings::resolve(Flags::default(), c).unwrap_err();
        assert!(e.starts_with("ca_file: ") && e.contains("ca.pem"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn no_file_at_all_gives_working_defaults() {
        let s = Settings::resolve(Flags::default(), ServeConfig::default()).unwrap();
        assert_eq!(s.data_dir, PathBuf::from("bugyo-data"));
        assert_eq!(s.bgp_listen, defaults::bgp_listen());
        assert!(s.peers.is_empty() && s.bmp_listen.is_none() && s.rtr.is_none());
    }
}
