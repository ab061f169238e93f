//! An incident's timeline: how many of its routes each observing peer
//! announced, over data time, so that a chart can draw a leak's spike and
//! its withdrawal.
//!
//! A point is recorded whenever a peer's count of the incident's active
//! routes changes (an announcement adds one; a withdrawal, a session going
//! down or the route leaving for another incident removes one). The
//! timeline stays small by two rules:
//!
//! - **One point per peer and second.** A change of a peer whose last point
//!   lies in the same second replaces that point's time and count, so a
//!   burst of 10,000 routes within a second is one point: the count at the
//!   end of the second.
//! - **At most [`MAX_POINTS`] points.** When over, every second point of the
//!   older half is dropped, except each peer's first point, its highest
//!   point (the first one at its maximum: the spike stays) and its latest
//!   point (the present value). Should that not be enough (an incident seen
//!   by hundreds of peers), the oldest points are dropped, sparing first the
//!   latest points, then the highest, then the first ones.
//!
//! Peers are named by their display form (`AS64500@192.0.2.1`, with
//! ` via ROUTER` for BMP). Incidents whose routes belong to no peer use a
//! pseudo peer: a visibility loss counts its lost prefixes under [`ALL`]
//! (prefixes no peer sees), a feed-down counts 1 under its feed peer while
//! the feed is down and 0 when it is back.
//!
//! After a restart the counts are carried over ([`Timeline::carry_over`]):
//! the routes the peers send again are taken as the ones counted before (no
//! new points); those not sent again within the quiet period are taken
//! away then, as of the restart or the latest point ([`Timeline::settle`]), so a table transfer after a restart
//! does not draw a false withdrawal and a second spike.

use bugyo_model::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The most points a timeline keeps.
pub const MAX_POINTS: usize = 1_000;

/// The pseudo peer of counts that belong to no one peer: the lost prefixes
/// of a visibility loss, and the totals over all peers shown to those who
/// may not see peer identities.
pub const ALL: &str = "all";

/// A peer's count of active routes of the incident from a time on.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelinePoint {
    /// Data time of the change (the latest change within its second).
    pub time: Timestamp,
    /// The observing peer (`AS64500@192.0.2.1`), or [`ALL`].
    pub peer: String,
    /// Its count of active routes of the incident from then on.
    pub routes: u32,
}

/// Announced route counts per observing peer over time (see the module
/// documentation for the rules that bound it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Timeline {
    /// Each peer's count now (peers at zero left out).
    current: BTreeMap<String, u32>,
    /// Counts carried over a restart and not yet seen again, per peer.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    carried: BTreeMap<String, u32>,
    /// The changes, in time order.
    points: Vec<TimelinePoint>,
}

impl Timeline {
    /// The recorded points, in time order.
    pub fn points(&self) -> &[TimelinePoint] {
        &self.points
    }

    /// A peer's count now.
    pub fn current(&self, peer: &str) -> u32 {
        self.current.get(peer).copied().unwrap_or(0)
    }

    /// One more active route of `peer`.
    pub fn add(&mut self, time: Timestamp, peer: &str) {
        if let Some(c) = self.carried.get_mut(peer) {
            // One of the routes counted before a restart, sent again.
            *c -= 1;
            if *c == 0 {
                self.carried.remove(peer);
            }
            return;
        }
        let n = self.current(peer).saturating_add(1);
        self.set(time, peer, n);
    }

    /// One active route of `peer` fewer.
    pub fn remove(&mut self, time: Timestamp, peer: &str) {
        let n = self.current(peer).saturating_sub(1);
        self.set(time, peer, n);
    }

    /// Sets `peer`'s count, recording a point if it changed.
    pub fn set(&mut self, time: Timestamp, peer: &str, routes: u32) {
        if self.current(peer) == routes {
            return;
        }
        if routes == 0 {
            self.current.remove(peer);
        } else {
            self.current.insert(peer.to_string(), routes);
        }
        // The peer's last point, if in the same second: points are in time
        // order, and a second holds at most one point per peer, so the look
        // back is bounded by the number of peers.
        let same_second = self
            .points
            .iter()
            .rev()
            .take_while(|p| p.time.secs == time.secs)
            .position(|p| p.peer == peer);
        if let Some(back) = same_second {
            let k = self.points.len() - 1 - back;
            let p = self.points.remove(k);
            self.points.push(TimelinePoint { time, ..p });
            self.points.last_mut().expect("just pushed").routes = routes;
            return;
        }
        self.points.push(TimelinePoint {
            time,
            peer: peer.to_string(),
            routes,
        });
        if self.points.len() > MAX_POINTS {
            self.thin();
        }
    }

    /// Takes the counts over after a restart: routes the peers send again
    /// are taken as the ones already counted, until [`Timeline::settle`].
    pub fn carry_over(&mut self) {
        self.carried = self.current.clone();
    }

    /// The routes carried over a restart and not sent again are gone as of
    /// `time` (the restart), or of the latest point if that is later, so
    /// that the points stay in time order.
    pub fn settle(&mut self, time: Timestamp) {
        let time = self.points.last().map_or(time, |p| p.time.max(time));
        for (peer, gone) in std::mem::take(&mut self.carried) {
            let n = self.current(&peer).saturating_sub(gone);
            self.set(time, &peer, n);
        }
    }

    /// True while counts carried over a restart wait to be seen again.
    pub fn carrying(&self) -> bool {
        !self.carried.is_empty()
    }

    /// The total over all peers at each recorded time (see [`totals_of`]).
    pub fn totals(&self) -> Vec<TimelinePoint> {
        totals_of(&self.points)
    }

    /// Drops points until at most [`MAX_POINTS`] are left (see the module
    /// documentation).
    fn thin(&mut self) {
        let n = self.points.len();
        let mut first: BTreeMap<&str, usize> = BTreeMap::new();
        let mut last: BTreeMap<&str, usize> = BTreeMap::new();
        let mut peak: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, p) in self.points.iter().enumerate() {
            first.entry(&p.peer).or_insert(i);
            last.insert(&p.peer, i);
            let top = peak.entry(&p.peer).or_insert(i);
            if p.routes > self.points[*top].routes {
                *top = i;
            }
        }
        let set = |m: BTreeMap<&str, usize>| m.into_values().collect::<BTreeSet<usize>>();
        let (first, last, peak) = (set(first), set(last), set(peak));
        let mut keep = vec![true; n];
        let mut drop_this = false;
        for (i, k) in keep.iter_mut().enumerate().take(n / 2) {
            if first.contains(&i) || last.contains(&i) || peak.contains(&i) {
                continue;
            }
            *k = !drop_this;
            drop_this = !drop_this;
        }
        let mut excess = keep
            .iter()
            .filter(|k| **k)
            .count()
            .saturating_sub(MAX_POINTS);
        // Not enough (many peers): the oldest go, the least needed first.
        let classes: [&dyn Fn(usize) -> bool; 4] = [
            &|i| !first.contains(&i) && !last.contains(&i) && !peak.contains(&i),
            &|i| !last.contains(&i) && !peak.contains(&i),
            &|i| !last.contains(&i),
            &|_| true,
        ];
        for class in classes {
            for (i, k) in keep.iter_mut().enumerate() {
                if excess == 0 {
                    break;
                }
                if *k && class(i) {
                    *k = false;
                    excess -= 1;
                }
            }
        }
        let mut i = 0;
        self.points.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
}

/// The total over all peers of `points` (in time order) at each of their
/// times, under the pseudo peer [`ALL`] (one point per distinct time): the
/// spike's shape without the peers.
pub fn totals_of(points: &[TimelinePoint]) -> Vec<TimelinePoint> {
    let mut by_peer: BTreeMap<&str, u32> = BTreeMap::new();
    let mut out: Vec<TimelinePoint> = Vec::new();
    for p in points {
        by_peer.insert(&p.peer, p.routes);
        let routes = by_peer.values().fold(0u32, |a, b| a.saturating_add(*b));
        match out.last_mut() {
            Some(last) if last.time == p.time => last.routes = routes,
            _ => out.push(TimelinePoint {
                time: p.time,
                peer: ALL.to_string(),
                routes,
            }),
        }
    }
    out
}

/// The ASN of a peer as a timeline names it (`AS64500@192.0.2.1`); `None`
/// for [`ALL`].
pub fn peer_asn(peer: &str) -> Option<u32> {
    peer.strip_prefix("AS")?.split('@').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(secs)
    }

    fn shape(tl: &Timeline) -> Vec<(i64, &str, u32)> {
        tl.points()
            .iter()
            .map(|p| (p.time.secs, p.peer.as_str(), p.routes))
            .collect()
    }

    #[test]
    fn one_point_per_peer_and_second() {
        let mut tl = Timeline::default();
        for _ in 0..3 {
            tl.add(t(10), "a");
        }
        tl.add(t(10), "b");
        tl.add(t(10), "a");
        tl.add(t(11), "a");
        tl.remove(t(12), "b");
        assert_eq!(
            shape(&tl),
            [(10, "b", 1), (10, "a", 4), (11, "a", 5), (12, "b", 0)]
        );
        assert_eq!(tl.current("a"), 5);
        assert_eq!(tl.current("b"), 0);
        let totals: Vec<_> = tl
            .totals()
            .iter()
            .map(|p| (p.time.secs, p.routes))
            .collect();
        assert_eq!(totals, [(10, 5), (11, 6), (12, 5)]);
        assert!(tl.totals().iter().all(|p| p.peer == ALL));
        assert_eq!(peer_asn("AS64500@192.0.2.1 via 10.0.0.1"), Some(64500));
        assert_eq!(peer_asn(ALL), None);
    }

    #[test]
    fn thinning_keeps_first_peak_and_latest() {
        let mut tl = Timeline::default();
        let mut s = 0;
        // A rises to 600 and falls to 1, one change a second; B changes
        // once at the start.
        tl.add(t(0), "b");
        for _ in 0..600 {
            s += 1;
            tl.add(t(s), "a");
        }
        for _ in 0..599 {
            s += 1;
            tl.remove(t(s), "a");
        }
        assert!(tl.points().len() <= MAX_POINTS, "{}", tl.points().len());
        let pts = tl.points();
        assert_eq!(shape(&tl)[0], (0, "b", 1), "b's only point stays");
        assert_eq!((pts[1].time.secs, pts[1].routes), (1, 1), "a's first");
        assert!(pts.iter().any(|p| p.peer == "a" && p.routes == 600));
        assert_eq!(shape(&tl).last(), Some(&(s, "a", 1)));
        assert!(pts.windows(2).all(|w| w[0].time <= w[1].time));
    }

    #[test]
    fn hard_cap_with_many_peers() {
        let mut tl = Timeline::default();
        for i in 0..1_500 {
            let peer = format!("p{i}");
            tl.add(t(i), &peer);
            tl.add(t(i + 2_000), &peer);
        }
        assert!(tl.points().len() <= MAX_POINTS);
        assert_eq!(tl.points().last().unwrap().routes, 2);
    }

    #[test]
    fn a_restart_carries_the_counts() {
        let mut tl = Timeline::default();
        for _ in 0..5 {
            tl.add(t(1), "a");
        }
        tl.add(t(1), "b");
        let mut back: Timeline =
            serde_json::from_str(&serde_json::to_string(&tl).unwrap()).unwrap();
        assert_eq!(back, tl);
        back.carry_over();
        assert!(back.carrying());
        // a sends 3 of its 5 again, b nothing; later a adds a new one.
        for _ in 0..3 {
            back.add(t(100), "a");
        }
        assert_eq!(shape(&back), shape(&tl), "sent again: no change");
        back.settle(t(50));
        assert!(!back.carrying());
        back.add(t(401), "a");
        assert_eq!(
            shape(&back)[2..],
            [(50, "a", 3), (50, "b", 0), (401, "a", 4)]
        );
    }
}
