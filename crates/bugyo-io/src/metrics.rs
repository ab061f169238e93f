//! Feed health as OpenMetrics text, served at `GET /metrics`: per BGP peer
//! its session state and counters, per BMP router its connection and
//! counters, the RTR cache's freshness, and the detection loop's RIB size,
//! incidents and detection delay, and the report mails taken in
//! ([`IntakeStats`]). The HTTP server is `bugyo-api`'s.

use crate::bgp::{BgpStats, SessionState};
use crate::bmp::BmpStats;
use crate::live::LiveStats;
use crate::rtr::RtrStatus;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use tokio::sync::watch;

/// Where the numbers come from; each part is optional.
#[derive(Clone, Default)]
pub struct MetricSources {
    /// BGP sessions.
    pub bgp: Option<BgpStats>,
    /// BMP routers.
    pub bmp: Option<BmpStats>,
    /// The RTR client.
    pub rtr: Option<watch::Receiver<RtrStatus>>,
    /// The detection loop.
    pub live: Option<LiveStats>,
    /// Report mails taken in (`bugyo serve --report-maildir`).
    pub intake: Option<IntakeStats>,
}

/// Counts of report mails taken in from a maildir by the server: whoever
/// runs the intake adds to them, `/metrics` shows them. Cheap to clone
/// (shared counters).
#[derive(Clone, Debug, Default)]
pub struct IntakeStats(Arc<IntakeCounters>);

/// The counters behind [`IntakeStats`].
#[derive(Debug, Default)]
pub struct IntakeCounters {
    /// Messages filed as new reports.
    pub filed: AtomicU64,
    /// Messages filed as a follow-up or correction of a report.
    pub amended: AtomicU64,
    /// Messages seen again after being filed (not filed twice).
    pub duplicates: AtomicU64,
    /// Messages refused (moved to `rejected/` with a `.why`).
    pub rejected: AtomicU64,
    /// Errors: a message left for the next run because the store failed,
    /// or a run that failed as a whole.
    pub errors: AtomicU64,
    /// Runs over the maildir.
    pub runs: AtomicU64,
}

impl IntakeStats {
    /// The counters, to add to.
    pub fn counters(&self) -> &IntakeCounters {
        &self.0
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn render(&self, o: &mut String) {
        let c = &self.0;
        for (name, help, v) in [
            ("filed", "Report mails filed as new reports.", &c.filed),
            (
                "amended",
                "Report mails filed as a follow-up or correction.",
                &c.amended,
            ),
            (
                "duplicates",
                "Report mails seen again after being filed (not filed twice).",
                &c.duplicates,
            ),
            ("rejected", "Report mails refused.", &c.rejected),
            (
                "errors",
                "Report mails left for the next run (the store failed) and failed runs.",
                &c.errors,
            ),
            ("runs", "Runs over the report maildir.", &c.runs),
        ] {
            let name = format!("bugyo_report_mail_{name}");
            let _ = writeln!(
                o,
                "# TYPE {name} counter\n# HELP {name} {help}\n{name}_total {}",
                v.load(Ordering::Relaxed)
            );
        }
    }
}

/// Upper bounds (seconds) of the detection-delay histogram's buckets.
pub const DELAY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram of durations over [`DELAY_BUCKETS`] (plus +Inf), as
/// OpenMetrics shows one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last is +Inf.
    counts: [u64; DELAY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Records `n` observations of `secs` seconds.
    pub fn observe(&mut self, secs: f64, n: u64) {
        let i = DELAY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(DELAY_BUCKETS.len());
        self.counts[i] += n;
        self.sum += secs * n as f64;
        self.count += n;
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The `q` quantile (0..=1), interpolated linearly within its bucket as
    /// Prometheus does; `None` without observations. Above the last bound
    /// it answers that bound.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * self.count as f64;
        let mut below = 0u64;
        for (i, &n) in self.counts.iter().enumerate() {
            if n > 0 && (below + n) as f64 >= rank {
                let Some(&hi) = DELAY_BUCKETS.get(i) else {
                    return DELAY_BUCKETS.last().copied();
                };
                let lo = if i == 0 { 0.0 } else { DELAY_BUCKETS[i - 1] };
                let within = ((rank - below as f64) / n as f64).clamp(0.0, 1.0);
                return Some(lo + (hi - lo) * within);
            }
            below += n;
        }
        DELAY_BUCKETS.last().copied()
    }

    /// Sum of the observations, in seconds.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// Reads back the histogram [`Histogram::render`] wrote under `name`
    /// into `text` (a `/metrics` page); `None` if it is not there or its
    /// buckets are not [`DELAY_BUCKETS`].
    pub fn parse(text: &str, name: &str) -> Option<Histogram> {
        let bucket = format!("{name}_bucket{{le=\"");
        let mut cumulative = Vec::new();
        let (mut sum, mut count) = (None, None);
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix(&bucket) {
                let (bound, value) = rest.split_once("\"} ")?;
                cumulative.push((bound.to_string(), value.trim().parse::<u64>().ok()?));
            } else if let Some(v) = l.strip_prefix(&format!("{name}_sum ")) {
                sum = v.trim().parse::<f64>().ok();
            } else if let Some(v) = l.strip_prefix(&format!("{name}_count ")) {
                count = v.trim().parse::<u64>().ok();
            }
        }
        if cumulative.len() != DELAY_BUCKETS.len() + 1 {
            return None;
        }
        let mut h = Histogram {
            sum: sum?,
            count: count?,
            ..Histogram::default()
        };
        let mut below = 0;
        for (i, (bound, c)) in cumulative.into_iter().enumerate() {
            let expected = DELAY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            if bound != expected || c < below {
                return None;
            }
            h.counts[i] = c - below;
            below = c;
        }
        Some(h)
    }

    /// The observations of `self` that are not in the earlier `before`.
    pub fn minus(&self, before: &Histogram) -> Histogram {
        let mut d = self.clone();
        for (n, m) in d.counts.iter_mut().zip(before.counts) {
            *n = n.saturating_sub(m);
        }
        d.sum -= before.sum;
        d.count = d.count.saturating_sub(before.count);
        d
    }

    /// Writes it in the OpenMetrics text format under `name`.
    pub fn render(&self, name: &str, help: &str, o: &mut String) {
        let _ = writeln!(o, "# TYPE {name} histogram\n# HELP {name} {help}");
        let mut cumulative = 0;
        for (i, n) in self.counts.iter().enumerate() {
            cumulative += n;
            match DELAY_BUCKETS.get(i) {
                Some(b) => {
                    let _ = writeln!(o, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let _ = writeln!(o, "{name}_sum {}", self.sum);
        let _ = writeln!(o, "{name}_count {}", self.count);
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl MetricSources {
    /// The current values in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut o = String::new();
        if let Some(bgp) = &self.bgp {
            let peers = bgp.snapshot();
            let _ = writeln!(o, "# TYPE bugyo_bgp_session_up gauge\n# HELP bugyo_bgp_session_up 1 if the session is Established.");
            for (p, s) in &peers {
                let _ = writeln!(
                    o,
                    "bugyo_bgp_session_up{{peer=\"{}\"}} {}",
                    label(&p.to_string()),
                    u8::from(s.state == SessionState::Established)
                );
            }
            for (name, help, get) in [
                (
                    "messages",
                    "BGP messages received.",
                    (|s: &crate::bgp::PeerStats| s.messages) as fn(&crate::bgp::PeerStats) -> u64,
                ),
                ("updates", "UPDATE messages received.", |s| s.updates),
                ("prefixes_announced", "Prefixes announced.", |s| s.announced),
                ("prefixes_withdrawn", "Prefixes withdrawn.", |s| s.withdrawn),
                ("sessions", "Sessions that reached Established.", |s| {
                    s.sessions
                }),
            ] {
                let _ = writeln!(
                    o,
                    "# TYPE bugyo_bgp_{name} counter\n# HELP bugyo_bgp_{name} {help}"
                );
                for (p, s) in &peers {
                    let _ = writeln!(
                        o,
                        "bugyo_bgp_{name}_total{{peer=\"{}\"}} {}",
                        label(&p.to_string()),
                        get(s)
                    );
                }
            }
            let _ = writeln!(
                o,
                "# TYPE bugyo_bgp_errors counter\n# HELP bugyo_bgp_errors Errors by kind."
            );
            for (p, s) in &peers {
                for (kind, n) in &s.errors {
                    let _ = writeln!(
                        o,
                        "bugyo_bgp_errors_total{{peer=\"{}\",kind=\"{}\"}} {n}",
                        label(&p.to_string()),
                        label(kind)
                    );
                }
            }
            let _ = writeln!(o, "# TYPE bugyo_bgp_last_message_seconds gauge\n# HELP bugyo_bgp_last_message_seconds Unix time of the last message.");
            for (p, s) in &peers {
                if let Some(t) = s.last_message {
                    let _ = writeln!(
                        o,
                        "bugyo_bgp_last_message_seconds{{peer=\"{}\"}} {}.{:06}",
                        label(&p.to_string()),
                        t.secs,
                        t.micros
                    );
                }
            }
        }
        if let Some(bmp) = &self.bmp {
            let routers = bmp.snapshot();
            let _ = writeln!(o, "# TYPE bugyo_bmp_router_connected gauge\n# HELP bugyo_bmp_router_connected 1 while the router is connected.");
            for (r, s) in &routers {
                let _ = writeln!(
                    o,
                    "bugyo_bmp_router_connected{{router=\"{r}\"}} {}",
                    u8::from(s.connected)
                );
            }
            for (name, help, get) in [
                (
                    "messages",
                    "BMP messages decoded.",
                    (|s: &crate::bmp::RouterStats| s.messages)
                        as fn(&crate::bmp::RouterStats) -> u64,
                ),
                (
                    "route_monitoring_fed",
                    "Route Monitoring messages fed to detection.",
                    |s| s.fed,
                ),
                ("errors", "Malformed BMP messages skipped.", |s| s.errors),
            ] {
                let _ = writeln!(
                    o,
                    "# TYPE bugyo_bmp_{name} counter\n# HELP bugyo_bmp_{name} {help}"
                );
                for (r, s) in &routers {
                    let _ = writeln!(o, "bugyo_bmp_{name}_total{{router=\"{r}\"}} {}", get(s));
                }
            }
        }
        if let Some(rtr) = &self.rtr {
            let s = rtr.borrow().clone();
            let _ = writeln!(o, "# TYPE bugyo_rtr_connected gauge\n# HELP bugyo_rtr_connected 1 while connected to the RTR cache.");
            let _ = writeln!(o, "bugyo_rtr_connected {}", u8::from(s.connected));
            let _ = writeln!(o, "# TYPE bugyo_rtr_stale gauge\n# HELP bugyo_rtr_stale 1 when RPKI data is older than the expire interval.");
            let _ = writeln!(o, "bugyo_rtr_stale {}", u8::from(s.stale));
            if let Some(t) = s.last_sync.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
                let _ = writeln!(o, "# TYPE bugyo_rtr_last_sync_seconds gauge\n# HELP bugyo_rtr_last_sync_seconds Unix time of the last completed transfer.");
                let _ = writeln!(o, "bugyo_rtr_last_sync_seconds {}", t.as_secs());
            }
        }
        if let Some(live) = &self.live {
            let c = live.snapshot();
            for (name, kind, help, v) in [
                (
                    "bugyo_rib_routes",
                    "gauge",
                    "Routes in the RIB, all peers.",
                    c.rib_routes,
                ),
                (
                    "bugyo_rib_peers",
                    "gauge",
                    "Peers the RIB has seen.",
                    c.rib_peers,
                ),
                (
                    "bugyo_incidents_open",
                    "gauge",
                    "Incidents open now.",
                    c.incidents_open,
                ),
                (
                    "bugyo_feed_queue",
                    "gauge",
                    "Feed events waiting to be judged.",
                    c.feed_queue,
                ),
                (
                    "bugyo_store_pending",
                    "gauge",
                    "Incident changes waiting to be written to the store.",
                    c.store_pending,
                ),
            ] {
                let _ = writeln!(o, "# TYPE {name} {kind}\n# HELP {name} {help}\n{name} {v}");
            }
            for (name, help, v) in [
                (
                    "bugyo_routes_judged",
                    "Announcements and withdrawals judged.",
                    c.routes_judged,
                ),
                (
                    "bugyo_archived_messages",
                    "Messages written to the MRT archive.",
                    c.archived,
                ),
                (
                    "bugyo_incident_events",
                    "Incident changes written (opened, updated, resolved).",
                    c.incident_events,
                ),
                (
                    "bugyo_store_versions",
                    "Incident versions written to the store.",
                    c.store_versions,
                ),
                (
                    "bugyo_store_errors",
                    "Failed attempts to write to the store (each retried).",
                    c.store_errors,
                ),
            ] {
                let _ = writeln!(
                    o,
                    "# TYPE {name} counter\n# HELP {name} {help}\n{name}_total {v}"
                );
            }
            if let Some(m) = &c.rib_memory {
                let _ = writeln!(o, "# TYPE bugyo_rib_memory_bytes gauge\n# HELP bugyo_rib_memory_bytes The RIB's estimate of its parts.");
                for (part, v) in [
                    ("tables", m.tables),
                    ("prefix_index", m.prefix_index),
                    ("adjacencies", m.adjacencies),
                    ("attribute_index", m.attribute_index),
                ] {
                    let _ = writeln!(o, "bugyo_rib_memory_bytes{{part=\"{part}\"}} {v}");
                }
                let _ = writeln!(o, "# TYPE bugyo_rib_attribute_sets gauge\n# HELP bugyo_rib_attribute_sets Distinct attribute sets held.\nbugyo_rib_attribute_sets {}", m.attribute_sets);
            }
            c.detection_delay.render(
                "bugyo_detection_delay_seconds",
                "Per route, from its UPDATE's arrival to judged, with any incident change written.",
                &mut o,
            );
        }
        if let Some(intake) = &self.intake {
            intake.render(&mut o);
        }
        if let Some(rss) = resident_bytes() {
            let _ = writeln!(o, "# TYPE process_resident_memory_bytes gauge\n# HELP process_resident_memory_bytes Resident memory of this process.\nprocess_resident_memory_bytes {rss}");
        }
        o.push_str("# EOF\n");
        o
    }
}

/// This process's resident memory (Linux `/proc/self/status`).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_interpolate_within_buckets() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        // 90 observations in (0.001, 0.005], 10 in (0.5, 1].
        h.observe(0.003, 90);
        h.observe(0.7, 10);
        assert_eq!(h.count(), 100);
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 > 0.001 && p50 <= 0.005, "{p50}");
        let p99 = h.quantile(0.99).unwrap();
        assert!(p99 > 0.5 && p99 <= 1.0, "{p99}");
        h.observe(60.0, 1000);
        assert_eq!(h.quantile(0.99), Some(10.0), "capped at the last bound");
        let mut o = String::new();
        h.render("d", "help", &mut o);
        assert!(o.contains("d_bucket{le=\"0.005\"} 90\n"), "{o}");
        assert!(o.contains("d_bucket{le=\"1\"} 100\n"), "{o}");
        assert!(o.contains("d_bucket{le=\"+Inf\"} 1100\n"), "{o}");
        assert!(o.contains("d_count 1100\n"), "{o}");
        // Read back, and the part after an earlier reading.
        let back = Histogram::parse(&o, "d").expect("parse");
        assert_eq!(back, h);
        let mut before = Histogram::default();
        before.observe(0.003, 90);
        let d = back.minus(&before);
        assert_eq!(d.count(), 1010);
        assert!(d.quantile(0.5).unwrap() > 5.0, "{:?}", d.quantile(0.5));
        assert_eq!(Histogram::parse(&o, "other"), None);
        assert_eq!(
            Histogram::parse(&o.replace("le=\"1\"", "le=\"2\""), "d"),
            None
        );
    }
}
