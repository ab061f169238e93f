//! The detection engine: takes route events in data-time order, keeps the
//! RIB, judges every route, and correlates anomalies into incidents.
//!
//! The same engine runs in `bugyo replay` and, later, behind the live
//! listeners. All times are data times.

use crate::anomaly::{classify, Anomaly, AnomalyKind};
use crate::incident::{
    Evidence, Incident, IncidentEvent, IncidentEventKind, IncidentStatus, SampleRoute, Severity,
};
use crate::path_notes::PathNotes;
use crate::reference::Reference;
use crate::relations::{LeakRule, PathCheck};
use crate::timeline::{self, Timeline};
use crate::verdict::{History, PathVerdict, RouteVerdicts};
use bugyo_model::{Asn, PathAttributes, Peer, Prefix, Timestamp};
use bugyo_state::rpki::AspaVerdict;
use bugyo_state::{IrrMatch, PeerId, Rib, Rov};
use rustc_hash::FxHashMap;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Tunables of detection and correlation (all in data-time seconds).
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// After a peer first appears or its session comes up, its routes are
    /// its initial table: history-based detectors ignore them this long.
    pub learning_secs: i64,
    /// An incident resolves when none of its routes has been seen for this long.
    pub quiet_secs: i64,
    /// Window for counting a peer's new prefixes.
    pub flood_window_secs: i64,
    /// New prefixes within the window that make a surge, at least...
    pub flood_min: u64,
    /// ...and at least this fraction of the peer's table.
    pub flood_fraction: f64,
    /// Prefixes of one origin lost within the quiet period before a
    /// visibility-loss incident opens (a watched member's single prefix is enough).
    pub visibility_min: usize,
    /// Example routes kept per incident.
    pub samples: usize,
    /// Without a starting RIB, how long the data must run before a prefix
    /// "never seen before" means anything (route-flood detection waits).
    pub warmup_secs: i64,
    /// An incident that grew since its last reported change is reported
    /// again (`updated`) once it has not grown for this long, so a burst's
    /// final size is published within seconds of its last route.
    pub settle_secs: i64,
    /// A peer from which no UPDATE (nor any other message) arrived for this
    /// long opens a feed-down incident (a stuck session or a silent BMP
    /// router), resolved by its next message. `None`: never (the default,
    /// as a member that only feeds its own few prefixes can be quiet for
    /// days; full-table feeds never are).
    pub feed_quiet_secs: Option<i64>,
}

/// Why a feed is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FeedLoss {
    /// The session left Established: only its return resolves it.
    SessionDown,
    /// Nothing arrived for `feed_quiet_secs`: any message resolves it.
    Quiet,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            learning_secs: 300,
            quiet_secs: 300,
            flood_window_secs: 60,
            flood_min: 5_000,
            flood_fraction: 0.1,
            visibility_min: 10,
            samples: 5,
            warmup_secs: 3600,
            settle_secs: 1,
            feed_quiet_secs: None,
        }
    }
}

/// Counters of what the engine has done.
#[derive(Clone, Debug, Default)]
pub struct EngineStats {
    /// Routes loaded as starting state (no detection).
    pub rib_routes: u64,
    /// Announcements processed.
    pub announcements: u64,
    /// Withdrawals processed.
    pub withdrawals: u64,
    /// Announcements found anomalous.
    pub anomalous: u64,
    /// Peer session state changes.
    pub state_changes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct CauseKey {
    kind: AnomalyKind,
    culprit: Option<Asn>,
    leaked_to: Option<Asn>,
    peer: Option<Peer>,
}

impl CauseKey {
    /// The cause of an incident about one collector peer (a flood, a feed down).
    fn of_peer(kind: AnomalyKind, peer: Peer) -> CauseKey {
        CauseKey {
            kind,
            culprit: Some(peer.asn),
            leaked_to: None,
            peer: Some(peer),
        }
    }
}

/// A route as the correlator tracks it: peer, prefix, ADD-PATH id.
type RouteKey = (PeerId, Prefix, u32);

/// The peer id used for visibility-loss entries, which belong to no peer.
const NO_PEER: PeerId = PeerId(u16::MAX);

#[derive(Default)]
struct FloodState {
    buckets: Vec<(i64, u64, u64)>,
    flagged_until: i64,
    last_incident: Option<usize>,
    flood_incident: Option<usize>,
}

/// The engine.
pub struct Engine {
    reference: Reference,
    config: EngineConfig,
    rib: Rib,
    incidents: Vec<Incident>,
    open: FxHashMap<CauseKey, usize>,
    owner: FxHashMap<RouteKey, usize>,
    reported_size: Vec<usize>,
    reported_severity: Vec<Severity>,
    events: Vec<IncidentEvent>,
    warm_peers: BTreeSet<PeerId>,
    floods: FxHashMap<PeerId, FloodState>,
    lost: FxHashMap<Asn, Vec<(Prefix, Timestamp)>>,
    /// Leaks (leaker, leaked-to, learned-from) present before detection
    /// started: in the starting RIB or in a peer's initial table.
    standing: rustc_hash::FxHashSet<(Asn, Asn, Asn)>,
    /// Prefix and origin of routes attributed to origin-based incidents
    /// (hijacks), so that every peer's view of the same bad route joins the
    /// same incident, whatever order the peers report it in.
    hijacked: FxHashMap<(Prefix, Asn), usize>,
    /// The routes (peer, prefix, path id) each open incident has counted in
    /// its evidence, so that a route announced again is not counted again.
    counted: FxHashMap<usize, rustc_hash::FxHashSet<(PeerId, Prefix, u32)>>,
    /// The last input of [`Engine::canonical`] and its answer.
    last_canonical: Option<(Arc<PathAttributes>, Arc<PathAttributes>)>,
    /// Peers whose feed is down (session down, or silent too long), and
    /// their open feed-down incident.
    feed_down: FxHashMap<PeerId, (usize, FeedLoss)>,
    /// Path verdicts, kept with the RIB's attribute sets.
    path_notes: PathNotes,
    /// The observers and prefixes of incidents taken over from a previous
    /// run ([`Engine::resume`]): a route of one of those peers for one of
    /// those prefixes was counted then, and is not counted again when the
    /// peer sends its table anew.
    resumed: FxHashMap<usize, (BTreeSet<Peer>, rustc_hash::FxHashSet<Prefix>)>,
    /// When incidents were taken over, while their timelines still carry
    /// the counts of before the restart (settled after the quiet period).
    resumed_at: Option<Timestamp>,
    now: Timestamp,
    started: Timestamp,
    last_sweep: i64,
    stats: EngineStats,
}

impl Engine {
    /// A new engine over the given reference data.
    pub fn new(reference: Reference, config: EngineConfig) -> Engine {
        Engine {
            reference,
            config,
            rib: Rib::new(),
            incidents: Vec::new(),
            open: FxHashMap::default(),
            owner: FxHashMap::default(),
            reported_size: Vec::new(),
            reported_severity: Vec::new(),
            events: Vec::new(),
            warm_peers: BTreeSet::new(),
            floods: FxHashMap::default(),
            lost: FxHashMap::default(),
            standing: Default::default(),
            hijacked: FxHashMap::default(),
            feed_down: FxHashMap::default(),
            counted: FxHashMap::default(),
            last_canonical: None,
            path_notes: PathNotes::default(),
            resumed: FxHashMap::default(),
            resumed_at: None,
            now: Timestamp::default(),
            started: Timestamp::default(),
            last_sweep: i64::MIN,
            stats: EngineStats::default(),
        }
    }

    /// The RIB.
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// The reference data.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Replaces the RPKI data (a new VRP and ASPA set from an RTR cache or
    /// a reloaded file). Routes already judged keep their incidents; new
    /// routes are judged with the new data.
    pub fn set_rpki(&mut self, vrps: bugyo_state::VrpIndex, aspa: bugyo_state::AspaIndex) {
        self.reference.vrps = vrps;
        self.reference.aspa = aspa;
        // ASPA verdicts are part of the path verdicts.
        self.path_notes.clear(&mut self.rib);
    }

    /// Replaces all reference data (a reloaded file): later routes are judged
    /// against it; routes already judged keep their verdicts.
    pub fn set_reference(&mut self, reference: Reference) {
        self.reference = reference;
        self.path_notes.clear(&mut self.rib);
    }

    /// One incident by id.
    pub fn incident(&self, id: u64) -> Option<&Incident> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.incidents.get(i)
    }

    /// Counters.
    pub fn stats(&self) -> &EngineStats {
        &self.stats
    }

    /// Latest data time seen.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// All incidents, in order of opening.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// How many incidents are open now.
    pub fn open_incidents(&self) -> usize {
        self.open.len()
    }

    /// Takes the incident changes since the last call.
    pub fn drain_events(&mut self) -> Vec<IncidentEvent> {
        std::mem::take(&mut self.events)
    }

    /// The AS name for output, from AS2Org data.
    pub fn as_name(&self, asn: Asn) -> Option<String> {
        self.reference.graph.name(asn).map(|(n, o)| {
            if o.is_empty() {
                n.to_string()
            } else {
                format!("{n}, {o}")
            }
        })
    }

    /// Loads a route as starting state (from a RIB dump): it enters the RIB
    /// and its history, and its peer counts as settled, but no incident is
    /// raised.
    pub fn load_rib_route(
        &mut self,
        time: Timestamp,
        peer: Peer,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
    ) {
        let pid = self.rib.peer_id(peer, time);
        self.warm_peers.insert(pid);
        self.rib.announce(pid, prefix, path_id, attrs, time);
        self.stats.rib_routes += 1;
        // Each attribute set's path is judged once (then noted with the set).
        if prefix.afi() == bugyo_model::Afi::Ipv4 {
            let pv = self.path_verdict(attrs);
            if let PathCheck::Leak(l) = pv.relations {
                self.standing
                    .insert((l.leaker, l.leaked_to, l.learned_from));
            }
        }
    }

    fn settled(&self, pid: PeerId) -> bool {
        if self.warm_peers.contains(&pid) {
            return true;
        }
        let p = self.rib.peer(pid);
        self.now.secs >= p.session_start.secs + self.config.learning_secs
    }

    /// Takes over the incidents that were open when a previous run stopped
    /// (as the store kept them), before the first event of this run; `now`
    /// is the time of the restart. Routes still there when the peers send
    /// their tables again join these incidents instead of opening new ones
    /// (without being counted twice in the evidence), and an incident whose
    /// routes do not come back resolves after the quiet period, as one whose
    /// routes were withdrawn. A visibility loss stays open until its
    /// prefixes are seen again, a feed-down until its peer is heard from.
    /// Incidents are renumbered in this run's order; their identity in the
    /// store (kind, culprit, leaked-to, feed peer, first sighting) is kept.
    /// Returns how many were taken over (not resolved ones, nor a second
    /// one of the same cause).
    pub fn resume(&mut self, incidents: Vec<Incident>, now: Timestamp) -> usize {
        self.advance(now);
        let before = self.incidents.len();
        for mut inc in incidents {
            let key = CauseKey {
                kind: inc.kind,
                culprit: inc.culprit,
                leaked_to: match inc.kind {
                    // Keyed by the origin whose prefixes are lost.
                    AnomalyKind::VisibilityLoss => inc.prefixes.values().next().copied(),
                    _ => inc.leaked_to,
                },
                peer: inc.feed_peer,
            };
            if inc.status != IncidentStatus::Open || self.open.contains_key(&key) {
                continue;
            }
            let i = self.incidents.len();
            inc.id = i as u64 + 1;
            inc.active = 0;
            match inc.kind {
                AnomalyKind::FeedDown => {
                    if let Some(peer) = inc.feed_peer {
                        // Any message from the peer, or its session coming
                        // up, ends it.
                        let pid = self.rib.peer_id(peer, now);
                        self.feed_down.insert(pid, (i, FeedLoss::Quiet));
                        inc.active = 1;
                        inc.timeline.set(now, &peer.to_string(), 1);
                    }
                }
                AnomalyKind::VisibilityLoss => {
                    for p in inc.prefixes.keys() {
                        self.owner.insert((NO_PEER, *p, 0), i);
                    }
                    inc.active = inc.prefixes.len();
                    let lost = u32::try_from(inc.active).unwrap_or(u32::MAX);
                    inc.timeline.set(now, timeline::ALL, lost);
                }
                AnomalyKind::OriginHijack | AnomalyKind::SubprefixHijack => {
                    if let Some(origin) = inc.culprit {
                        for p in inc.prefixes.keys() {
                            self.hijacked.insert((*p, origin), i);
                        }
                    }
                }
                _ => {
                    // Routes sent again are the ones counted before.
                    inc.timeline.carry_over();
                    if inc.timeline.carrying() {
                        self.resumed_at = Some(now);
                    }
                }
            }
            inc.quiet_since = (inc.active == 0).then_some(now);
            self.reported_size.push(inc.prefixes.len());
            self.reported_severity.push(inc.assess().0);
            self.resumed.insert(
                i,
                (inc.peers.clone(), inc.prefixes.keys().copied().collect()),
            );
            self.open.insert(key, i);
            self.incidents.push(inc);
        }
        self.incidents.len() - before
    }

    /// Moves data time forward, resolving incidents that have been quiet
    /// long enough.
    pub fn advance(&mut self, time: Timestamp) {
        if self.started == Timestamp::default() {
            self.started = time;
        }
        if time > self.now {
            self.now = time;
        }
        if self.now.secs == self.last_sweep {
            return;
        }
        self.last_sweep = self.now.secs;
        let quiet = self.config.quiet_secs;
        let now = self.now;
        self.settle_resumed();
        let mut resolved: Vec<(CauseKey, usize)> = self
            .open
            .iter()
            .filter(|(_, &i)| {
                let inc = &self.incidents[i];
                inc.active == 0 && inc.quiet_since.is_some_and(|q| now.secs >= q.secs + quiet)
            })
            .map(|(k, &i)| (*k, i))
            .collect();
        resolved.sort_by_key(|(_, i)| *i);
        for (key, i) in resolved {
            self.open.remove(&key);
            self.hijacked.retain(|_, v| *v != i);
            self.counted.remove(&i);
            self.resumed.remove(&i);
            let inc = &mut self.incidents[i];
            if inc.kind == AnomalyKind::RouteLeak {
                // The leak is over: if it starts again, it is a fresh one.
                self.standing
                    .retain(|t| Some(t.0) != inc.culprit || Some(t.1) != inc.leaked_to);
            }
            inc.status = IncidentStatus::Resolved;
            inc.resolved_at = inc.quiet_since;
            inc.version += 1;
            self.events.push(IncidentEvent {
                event: IncidentEventKind::Resolved,
                id: inc.id,
                time: now,
            });
        }
        self.lost.retain(|_, v| {
            v.retain(|(_, t)| now.secs < t.secs + quiet);
            !v.is_empty()
        });
        self.check_quiet_feeds();
        self.report_settled();
    }

    /// A quiet period after a restart, the routes of the incidents taken
    /// over that the peers did not send again are gone from their
    /// timelines, as of the restart (or their latest point, if later).
    fn settle_resumed(&mut self) {
        let Some(at) = self.resumed_at else {
            return;
        };
        if self.now.secs < at.secs + self.config.quiet_secs {
            return;
        }
        self.resumed_at = None;
        for inc in &mut self.incidents {
            if inc.timeline.carrying() {
                inc.timeline.settle(at);
            }
        }
    }

    /// Reports open incidents that grew since their last event and have
    /// since been still for `settle_secs` (see [`EngineConfig::settle_secs`]).
    fn report_settled(&mut self) {
        let now = self.now;
        let settle = self.config.settle_secs;
        let mut settled: Vec<usize> = self
            .open
            .values()
            .copied()
            .filter(|&i| {
                let inc = &self.incidents[i];
                self.reported_size[i] != 0
                    && inc.prefixes.len() != self.reported_size[i]
                    && now.secs >= inc.last_seen.secs + settle
            })
            .collect();
        settled.sort_unstable();
        for i in settled {
            self.reported_size[i] = self.incidents[i].prefixes.len();
            self.reported_severity[i] = self.incidents[i].assess().0;
            self.incidents[i].version += 1;
            self.events.push(IncidentEvent {
                event: IncidentEventKind::Updated,
                id: self.incidents[i].id,
                time: now,
            });
        }
    }

    /// A BGP session state change. Leaving Established drops the peer's
    /// routes (a visibility event, not a leak); entering it starts a new
    /// initial table transfer.
    pub fn peer_state(&mut self, time: Timestamp, peer: Peer, established: bool) {
        self.advance(time);
        self.stats.state_changes += 1;
        let pid = self.rib.peer_id(peer, time);
        self.rib.touch(pid, time);
        if established {
            self.rib.session_up(pid, time);
            self.warm_peers.remove(&pid);
            // The feed is back: its feed-down incident can resolve.
            if let Some((i, _)) = self.feed_down.remove(&pid) {
                self.release_route(i, pid);
            }
        } else {
            let routes = self.rib.peer(pid).routes;
            for (prefix, path_id, attrs) in self.rib.clear_peer(pid) {
                self.after_withdraw(pid, prefix, path_id, &attrs);
            }
            match self.feed_down.get(&pid) {
                Some((_, FeedLoss::SessionDown)) => {}
                // Silent, then down: the same incident, now needing the session back.
                Some(&(i, FeedLoss::Quiet)) => {
                    self.feed_down.insert(pid, (i, FeedLoss::SessionDown));
                    let (en, ja) = session_down_note(peer, time, routes);
                    self.incidents[i].evidence.note(en, ja);
                }
                None => self.open_feed_down(
                    pid,
                    FeedLoss::SessionDown,
                    session_down_note(peer, time, routes),
                ),
            }
        }
    }

    /// Opens (or joins) the feed-down incident of a peer.
    fn open_feed_down(&mut self, pid: PeerId, why: FeedLoss, (en, ja): (String, String)) {
        let peer = self.rib.peer(pid).peer;
        let i = self.incident_for(CauseKey::of_peer(AnomalyKind::FeedDown, peer));
        let collector_peers = self.rib.peers().len();
        let inc = &mut self.incidents[i];
        inc.peers.insert(peer);
        inc.last_seen = self.now;
        inc.collector_peers = collector_peers;
        inc.active += 1;
        inc.timeline.add(self.now, &peer.to_string());
        inc.quiet_since = None;
        inc.evidence.note(en, ja);
        self.feed_down.insert(pid, (i, why));
    }

    /// Records that a message arrived from a peer; a feed that was down for
    /// silence is back.
    fn heard_from(&mut self, pid: PeerId, time: Timestamp) {
        self.rib.touch(pid, time);
        if !self.feed_down.is_empty() {
            if let Some(&(i, FeedLoss::Quiet)) = self.feed_down.get(&pid) {
                self.feed_down.remove(&pid);
                self.release_route(i, pid);
            }
        }
    }

    /// Opens feed-down incidents for peers silent for `feed_quiet_secs`.
    fn check_quiet_feeds(&mut self) {
        let Some(limit) = self.config.feed_quiet_secs else {
            return;
        };
        let now = self.now;
        let silent: Vec<(PeerId, Timestamp, u64)> = self
            .rib
            .peers()
            .iter()
            .enumerate()
            .map(|(i, p)| (PeerId(i as u16), p))
            .filter(|(pid, p)| {
                !self.feed_down.contains_key(pid) && now.secs >= p.last_seen.secs + limit
            })
            .map(|(pid, p)| (pid, p.last_seen, p.routes))
            .collect();
        for (pid, last, routes) in silent {
            let peer = self.rib.peer(pid).peer;
            self.open_feed_down(
                pid,
                FeedLoss::Quiet,
                (
                    format!("no message from {peer} since {last} ({limit} s or more); its {routes} routes are kept but may be stale"),
                    format!("{peer} から {last} 以降メッセージがありません({limit} 秒以上)。その {routes} 経路は保持していますが、古い可能性があります"),
                ),
            );
        }
    }

    /// Processes an announcement.
    pub fn announce(
        &mut self,
        time: Timestamp,
        peer: Peer,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
    ) {
        self.advance(time);
        self.stats.announcements += 1;
        let held = self.canonical(attrs);
        let attrs = held.as_ref().unwrap_or(attrs);
        let pid = self.rib.peer_id(peer, time);
        self.heard_from(pid, time);
        let settled = self.settled(pid);
        let path = self.path_verdict(attrs);
        let verdicts = RouteVerdicts::with_path(&self.reference, &prefix, &path);
        let mut anomaly = classify(
            &self.reference,
            &self.rib,
            settled,
            &prefix,
            attrs,
            &verdicts,
        );
        if let Some(origin) = verdicts.origin {
            let sticky = self.hijacked.get(&(prefix, origin)).copied();
            if let Some(i) = sticky.filter(|&i| self.incidents[i].status == IncidentStatus::Open) {
                if anomaly
                    .as_ref()
                    .is_none_or(|a| a.kind != AnomalyKind::RouteLeak)
                {
                    let inc = &self.incidents[i];
                    anomaly = Some(Anomaly {
                        kind: inc.kind,
                        culprit: inc.culprit,
                        leaked_to: inc.leaked_to,
                        victims: inc.prefixes.get(&prefix).copied().into_iter().collect(),
                    });
                }
            }
        }
        let key = (pid, prefix, path_id);
        let new_key = anomaly.as_ref().map(|a| self.cause_key(a));
        if let Some(&old) = self.owner.get(&key) {
            let same = new_key.is_some_and(|k| self.open.get(&k) == Some(&old));
            if !same {
                self.owner.remove(&key);
                self.release_route(old, pid);
            }
        }
        // A lost prefix that comes back is no longer lost.
        if let Some(&inc) = self.owner.get(&(NO_PEER, prefix, 0)) {
            self.owner.remove(&(NO_PEER, prefix, 0));
            self.release_route(inc, NO_PEER);
        }
        // A prefix no peer has ever carried: what a leak of more-specifics
        // brings, and what a session refresh does not.
        let unheard_of = self.rib.prefix(&prefix).is_none();
        // History as the RIB had it before this route, for the evidence.
        let mut verdicts = verdicts;
        if anomaly.is_some() {
            verdicts.history = Some(History::of(&self.rib, &prefix, attrs));
        }
        let change = self.rib.announce(pid, prefix, path_id, attrs, time);
        if change.new_set {
            self.path_notes.remember(&mut self.rib, change.attrs, &path);
        }
        let mut attributed = None;
        if let Some(a) = anomaly {
            self.stats.anomalous += 1;
            let i = self.attach(a, pid, prefix, path_id, attrs, &verdicts);
            attributed = Some(i);
        }
        if change.previous.is_none() && unheard_of && settled {
            self.count_new_prefix(pid, prefix, path_id, attrs, attributed);
        }
    }

    /// Processes a withdrawal.
    pub fn withdraw(&mut self, time: Timestamp, peer: Peer, prefix: Prefix, path_id: u32) {
        self.advance(time);
        self.stats.withdrawals += 1;
        let pid = self.rib.peer_id(peer, time);
        self.heard_from(pid, time);
        if let Some(attrs) = self.rib.withdraw(pid, &prefix, path_id) {
            self.after_withdraw(pid, prefix, path_id, &attrs);
        }
    }

    fn after_withdraw(
        &mut self,
        pid: PeerId,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
    ) {
        if let Some(inc) = self.owner.remove(&(pid, prefix, path_id)) {
            // An anomalous route going away is its incident resolving, not a loss.
            self.release_route(inc, pid);
            return;
        }
        let Some(entry) = self.rib.prefix(&prefix) else {
            return;
        };
        let young = self.now.secs < entry.first_seen_secs + self.config.quiet_secs;
        if entry.routes() > 0 || entry.max_routes < 2 || young || !self.settled(pid) {
            return;
        }
        let Some(origin) = attrs.as_path.origin() else {
            return;
        };
        let now = self.now;
        let watched = self.reference.members.by_asn(origin).is_some()
            || self.reference.members.by_prefix(&prefix).is_some();
        let list = self.lost.entry(origin).or_default();
        list.push((prefix, now));
        let key = CauseKey {
            kind: AnomalyKind::VisibilityLoss,
            culprit: None,
            leaked_to: Some(origin),
            peer: None,
        };
        let existing = self.open.get(&key).copied();
        if existing.is_none() && list.len() < self.config.visibility_min && !watched {
            return;
        }
        let pending: Vec<Prefix> = match existing {
            Some(_) => vec![prefix],
            None => list.iter().map(|(p, _)| *p).collect(),
        };
        let peer = self.rib.peer(pid).peer;
        for p in pending {
            if self.rib.prefix(&p).is_some_and(|e| e.routes() > 0) {
                continue;
            }
            let i = self.incident_for(key);
            let inc = &mut self.incidents[i];
            inc.prefixes.insert(p, origin);
            inc.peers.insert(peer);
            inc.collector_peers = self.rib.peers().len();
            inc.last_seen = now;
            if self.owner.insert((NO_PEER, p, 0), i).is_none() {
                inc.active += 1;
                inc.timeline.add(now, timeline::ALL);
                inc.quiet_since = None;
            }
            self.note_growth(i);
        }
    }

    fn cause_key(&self, a: &Anomaly) -> CauseKey {
        CauseKey {
            kind: a.kind,
            culprit: a.culprit,
            leaked_to: a.leaked_to,
            peer: None,
        }
    }

    fn incident_for(&mut self, key: CauseKey) -> usize {
        if let Some(&i) = self.open.get(&key) {
            return i;
        }
        let i = self.incidents.len();
        let id = i as u64 + 1;
        self.incidents.push(Incident {
            id,
            kind: key.kind,
            status: IncidentStatus::Open,
            first_seen: self.now,
            last_seen: self.now,
            resolved_at: None,
            culprit: key.culprit,
            leaked_to: if key.kind == AnomalyKind::VisibilityLoss {
                None
            } else {
                key.leaked_to
            },
            feed_peer: key.peer,
            prefixes: BTreeMap::new(),
            peers: BTreeSet::new(),
            samples: Vec::new(),
            evidence: Evidence::default(),
            members: BTreeSet::new(),
            active: 0,
            quiet_since: None,
            version: 1,
            collector_peers: 0,
            timeline: Timeline::default(),
        });
        self.reported_size.push(0);
        self.reported_severity.push(Severity::Info);
        self.open.insert(key, i);
        self.events.push(IncidentEvent {
            event: IncidentEventKind::Opened,
            id,
            time: self.now,
        });
        if let Some(c) = key.culprit {
            if let Some(m) = self.reference.members.by_asn(c) {
                self.incidents[i].members.insert(m.id.clone());
            }
        }
        i
    }

    fn attach(
        &mut self,
        a: Anomaly,
        pid: PeerId,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
        v: &RouteVerdicts,
    ) -> usize {
        let key = self.cause_key(&a);
        let i = self.incident_for(key);
        if matches!(
            a.kind,
            AnomalyKind::OriginHijack | AnomalyKind::SubprefixHijack
        ) {
            if let Some(origin) = attrs.as_path.origin() {
                self.hijacked.insert((prefix, origin), i);
            }
        }
        self.add_route(i, &a.victims, pid, prefix, path_id, attrs, v);
        i
    }

    #[allow(clippy::too_many_arguments)]
    fn add_route(
        &mut self,
        i: usize,
        victims: &[Asn],
        pid: PeerId,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
        v: &RouteVerdicts,
    ) {
        let peer = self.rib.peer(pid).peer;
        let now = self.now;
        let victim = victims.first().copied().unwrap_or(Asn(0));
        let hijack = matches!(
            self.incidents[i].kind,
            AnomalyKind::OriginHijack | AnomalyKind::SubprefixHijack
        );
        let graph = &self.reference.graph;
        let unverified = hijack
            && (attrs.as_path.origin().is_none_or(|o| !graph.knows(o)) || !graph.knows(victim));
        let standing = match v.path {
            PathCheck::Leak(l) => {
                let triple = (l.leaker, l.leaked_to, l.learned_from);
                // An incident already seen growing outside any initial table
                // is fresh: a session reset re-sending its routes in the new
                // session's learning window does not make it standing.
                let ev = &self.incidents[i].evidence;
                let fresh = ev.routes > ev.standing;
                if !self.settled(pid) && !fresh {
                    self.standing.insert(triple);
                }
                self.standing.contains(&triple)
            }
            _ => false,
        };
        // Evidence counts routes, each once: not the announcements of a
        // route already counted (re-sent after a reset or graceful restart,
        // or after a restart of ours).
        let counted_before = self
            .resumed
            .get(&i)
            .is_some_and(|(peers, prefixes)| peers.contains(&peer) && prefixes.contains(&prefix));
        let first_time = self
            .counted
            .entry(i)
            .or_default()
            .insert((pid, prefix, path_id))
            && !counted_before;
        let mut member = None;
        if let Some(m) = self.reference.members.by_prefix(&prefix) {
            member = Some(m.id.clone());
        } else if let Some(m) = victims
            .iter()
            .find_map(|a| self.reference.members.by_asn(*a))
        {
            member = Some(m.id.clone());
        }
        let samples = self.config.samples;
        let collector_peers = self.rib.peers().len();
        let inc = &mut self.incidents[i];
        inc.last_seen = now;
        inc.collector_peers = collector_peers;
        inc.prefixes.entry(prefix).or_insert(victim);
        inc.peers.insert(peer);
        if let Some(m) = member {
            inc.members.insert(m);
        }
        let e = &mut inc.evidence;
        if first_time {
            Self::count_evidence(e, v, standing, unverified);
        }
        if inc.samples.len() < samples
            && !inc
                .samples
                .iter()
                .any(|s| s.peer_asn == peer.asn && s.prefix == prefix)
        {
            inc.samples.push(SampleRoute {
                time: now,
                peer_asn: peer.asn,
                peer_ip: peer.addr.to_string(),
                peer_router: peer.via,
                prefix,
                as_path: attrs.as_path.to_string(),
                verdicts: v.explain(),
            });
        }
        if self.owner.insert((pid, prefix, path_id), i).is_none() {
            inc.active += 1;
            inc.timeline.add(now, &peer.to_string());
        }
        inc.quiet_since = None;
        self.note_growth(i);
    }

    /// Adds one route's verdicts to an incident's evidence.
    fn count_evidence(e: &mut Evidence, v: &RouteVerdicts, standing: bool, unverified: bool) {
        e.routes += 1;
        match v.rov {
            Some(Rov::Valid(_)) => e.rov_valid += 1,
            Some(r) if r.is_invalid() => e.rov_invalid += 1,
            _ => {}
        }
        match &v.irr {
            Some(IrrMatch::Exact { .. } | IrrMatch::MoreSpecific { .. }) => e.irr_ok += 1,
            Some(_) => e.irr_bad += 1,
            None => {}
        }
        if let PathCheck::Leak(l) = v.path {
            match l.rule {
                LeakRule::ValleyFree => e.valley_free += 1,
                LeakRule::CustomerCone => e.cone += 1,
            }
            if standing {
                e.standing += 1;
            }
        }
        if matches!(v.aspa, Some(AspaVerdict::Invalid { .. })) {
            e.aspa_invalid += 1;
        }
        if !v.sanity.is_empty() {
            e.sanity += 1;
        }
        if unverified {
            e.unverified += 1;
        }
    }

    /// One active route (or lost prefix, or down feed) of incident `i`
    /// fewer: `pid` is the peer whose route it was (the feed's peer for a
    /// feed-down, [`NO_PEER`] for a lost prefix, counted under
    /// [`timeline::ALL`]).
    fn release_route(&mut self, i: usize, pid: PeerId) {
        let now = self.now;
        let peer = if pid == NO_PEER {
            timeline::ALL.to_string()
        } else {
            self.rib.peer(pid).peer.to_string()
        };
        let inc = &mut self.incidents[i];
        inc.active = inc.active.saturating_sub(1);
        inc.timeline.remove(now, &peer);
        if inc.active == 0 {
            inc.quiet_since = Some(now);
        }
    }

    /// Emits an `updated` event when an incident doubles in size or its
    /// severity changes — not on every route.
    fn note_growth(&mut self, i: usize) {
        let n = self.incidents[i].prefixes.len();
        let grew = n >= 2 * self.reported_size[i].max(1) && n > 1;
        // Severity is cheap enough to recompute only when size changed a lot.
        if !grew && n != 1 {
            return;
        }
        let (sev, _) = self.incidents[i].assess();
        let first = self.reported_size[i] == 0;
        self.reported_size[i] = n;
        if !first && (grew || sev != self.reported_severity[i]) {
            self.incidents[i].version += 1;
            self.events.push(IncidentEvent {
                event: IncidentEventKind::Updated,
                id: self.incidents[i].id,
                time: self.now,
            });
        }
        self.reported_severity[i] = sev;
    }

    /// Counts a prefix new to the RIB from one peer; a surge beyond what a
    /// max-prefix limiter would allow becomes evidence on the incident that
    /// explains it, or a route-flood incident of its own.
    fn count_new_prefix(
        &mut self,
        pid: PeerId,
        prefix: Prefix,
        path_id: u32,
        attrs: &Arc<PathAttributes>,
        attributed: Option<usize>,
    ) {
        let now = self.now.secs;
        let window = self.config.flood_window_secs.max(1);
        let bucket_len = (window / 6).max(1);
        let bucket = now - now.rem_euclid(bucket_len);
        let table = self.rib.peer(pid).routes;
        let peer = self.rib.peer(pid).peer;
        let threshold = self
            .config
            .flood_min
            .max((table as f64 * self.config.flood_fraction) as u64);
        let st = self.floods.entry(pid).or_default();
        st.buckets.retain(|(b, _, _)| *b > now - window);
        match st.buckets.last_mut() {
            Some((b, n, a)) if *b == bucket => {
                *n += 1;
                *a += u64::from(attributed.is_some());
            }
            _ => st
                .buckets
                .push((bucket, 1, u64::from(attributed.is_some()))),
        }
        if let Some(i) = attributed {
            st.last_incident = Some(i);
        }
        let (new, attr): (u64, u64) = st
            .buckets
            .iter()
            .fold((0, 0), |acc, (_, n, a)| (acc.0 + n, acc.1 + a));
        if now < st.flagged_until {
            if attributed.is_none() {
                if let Some(i) = st.flood_incident {
                    if self.incidents[i].status == IncidentStatus::Open {
                        let v = self.verdicts(&prefix, attrs);
                        let victims: Vec<Asn> = attrs.as_path.origin().into_iter().collect();
                        self.add_route(i, &victims, pid, prefix, path_id, attrs, &v);
                    }
                }
            }
            return;
        }
        let warm = self.stats.rib_routes > 0 || now >= self.started.secs + self.config.warmup_secs;
        if new < threshold || !warm {
            return;
        }
        st.flagged_until = now + window;
        let en = format!(
            "peer {peer} sent {new} prefixes never seen before within {window} s (more than a max-prefix limit of {threshold} would allow)"
        );
        let ja = format!(
            "ピア {peer} が {window} 秒以内に、これまで見たことのないプレフィックスを {new} 個送りました(最大プレフィックス数 {threshold} の制限を超える量です)"
        );
        if attr * 2 >= new {
            if let Some(i) = st.last_incident {
                st.flood_incident = None;
                self.incidents[i].evidence.note(en, ja);
                return;
            }
        }
        let i = self.incident_for(CauseKey::of_peer(AnomalyKind::RouteFlood, peer));
        if let Some(st) = self.floods.get_mut(&pid) {
            st.flood_incident = Some(i);
        }
        self.incidents[i].evidence.note(en, ja);
        let v = self.verdicts(&prefix, attrs);
        let victims: Vec<Asn> = attrs.as_path.origin().into_iter().collect();
        self.add_route(i, &victims, pid, prefix, path_id, attrs, &v);
    }

    /// The verdicts on a route, judging its path only once per attribute set.
    fn verdicts(&mut self, prefix: &Prefix, attrs: &Arc<PathAttributes>) -> RouteVerdicts {
        let pv = self.path_verdict(attrs);
        RouteVerdicts::with_path(&self.reference, prefix, &pv)
    }

    /// The attribute set the RIB already holds that equals `attrs`, when it
    /// is another allocation (`None`: `attrs` is the held one, or new). A
    /// live feed brings a new allocation with every UPDATE; judging and
    /// storing the held one keeps one allocation per distinct set (memory)
    /// and one verdict per set (the cache is keyed by allocation). The last
    /// such answer is remembered, as the routes of one UPDATE share one
    /// allocation; holding the input keeps its address from being reused
    /// while it is remembered.
    fn canonical(&mut self, attrs: &Arc<PathAttributes>) -> Option<Arc<PathAttributes>> {
        if let Some((input, held)) = &self.last_canonical {
            if Arc::ptr_eq(input, attrs) {
                return Some(Arc::clone(held));
            }
        }
        let held = self.rib.canonical_attrs(attrs)?;
        if Arc::ptr_eq(held, attrs) {
            return None;
        }
        let held = Arc::clone(held);
        self.last_canonical = Some((Arc::clone(attrs), Arc::clone(&held)));
        Some(held)
    }

    /// The verdict on a path, judged once per attribute set the RIB holds.
    fn path_verdict(&mut self, attrs: &Arc<PathAttributes>) -> PathVerdict {
        self.path_notes
            .verdict(&mut self.rib, &self.reference, attrs)
    }

    /// Incidents at or above `min`, in order of opening.
    pub fn incidents_at_least(&self, min: Severity) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(move |i| i.assess().0 >= min)
    }
}

/// The finding of a BGP session gone down, in English and Japanese.
fn session_down_note(peer: Peer, time: Timestamp, routes: u64) -> (String, String) {
    (
        format!("session with {peer} went down at {time}, {routes} routes withdrawn"),
        format!("{peer} とのセッションが {time} に切断され、{routes} 経路が取り消されました"),
    )
}
