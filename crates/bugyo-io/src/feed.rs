//! What live feeds deliver to detection: route events from BGP sessions and
//! BMP routers, in arrival order, stamped with their arrival time. Each event
//! is also what the archive stores, as the MRT entry it corresponds to, so
//! that `bugyo replay` over the archive sees exactly what the live engine saw.

use bugyo_detect::Engine;
use bugyo_formats::mrt::{MrtEntry, StateChange, UpdateEntry};
use bugyo_model::{Peer, Timestamp};

/// BGP FSM state numbers as MRT records them (RFC 6396).
const IDLE: u16 = 1;
const ESTABLISHED: u16 = 6;

/// One event from a live feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedEvent {
    /// A session with a peer came up (BGP Established, or BMP Peer Up).
    SessionUp {
        /// Arrival time.
        time: Timestamp,
        /// The peer.
        peer: Peer,
    },
    /// A session went down: the peer's routes are gone.
    SessionDown {
        /// Arrival time.
        time: Timestamp,
        /// The peer.
        peer: Peer,
        /// Why, in words (NOTIFICATION, hold timer, connection closed...).
        reason: String,
    },
    /// A BGP UPDATE received from a peer (time = arrival time).
    Update(UpdateEntry),
}

impl FeedEvent {
    /// Arrival time.
    pub fn time(&self) -> Timestamp {
        match self {
            FeedEvent::SessionUp { time, .. } | FeedEvent::SessionDown { time, .. } => *time,
            FeedEvent::Update(u) => u.time,
        }
    }

    /// The MRT entry that records this event in the archive.
    pub fn into_mrt(self) -> MrtEntry {
        match self {
            FeedEvent::SessionUp { time, peer } => MrtEntry::State(StateChange {
                time,
                extended: true,
                peer,
                old: IDLE,
                new: ESTABLISHED,
                legacy: false,
            }),
            FeedEvent::SessionDown { time, peer, .. } => MrtEntry::State(StateChange {
                time,
                extended: true,
                peer,
                old: ESTABLISHED,
                new: IDLE,
                legacy: false,
            }),
            FeedEvent::Update(u) => MrtEntry::Update(u),
        }
    }
}

/// The current time as a [`Timestamp`].
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: d.as_secs() as i64,
        micros: d.subsec_micros(),
    }
}

/// Feeds one MRT entry to the engine — the one way both replay and live
/// collection turn entries into engine calls. Returns the number of route
/// announcements and withdrawals applied.
pub fn apply(engine: &mut Engine, entry: &MrtEntry) -> u64 {
    match entry {
        MrtEntry::Rib(r) => {
            engine.announce(r.time, r.peer, r.prefix, r.path_id.unwrap_or(0), &r.attrs);
            1
        }
        MrtEntry::Update(u) if u.multicast || u.outgoing => {
            // Not routes this collector received for the unicast RIB.
            engine.advance(u.time);
            0
        }
        MrtEntry::Update(u) => {
            let mut n = 0;
            for w in &u.withdrawn {
                engine.withdraw(u.time, u.peer, w.prefix, w.path_id.unwrap_or(0));
                n += 1;
            }
            if let Some(attrs) = &u.attrs {
                for a in &u.announced {
                    engine.announce(u.time, u.peer, a.prefix, a.path_id.unwrap_or(0), attrs);
                    n += 1;
                }
            }
            n
        }
        MrtEntry::State(s) => {
            if s.new == ESTABLISHED {
                engine.peer_state(s.time, s.peer, true);
            } else if s.old == ESTABLISHED {
                engine.peer_state(s.time, s.peer, false);
            } else {
                engine.advance(s.time);
            }
            0
        }
        MrtEntry::Message {
            time, peer, what, ..
        } => {
            // An OPEN starts a new session (its routes are an initial table
            // transfer); a NOTIFICATION ends one.
            match *what {
                "OPEN" => engine.peer_state(*time, *peer, true),
                "NOTIFICATION" => engine.peer_state(*time, *peer, false),
                _ => engine.advance(*time),
            }
            0
        }
        MrtEntry::Other { time, .. } => {
            engine.advance(*time);
            0
        }
    }
}
