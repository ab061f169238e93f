//! Questions to the live RIB from outside the detection loop: how a
//! member's prefixes stand now (how many routes the peers carry for each,
//! from which origins, and whether RPKI authorises each origin), for the
//! portal's NOC dashboard. The loop answers between two feed events, so a
//! question never sees a half-applied UPDATE; an asker waits a bounded
//! time and shows "unknown" rather than hang when the loop is busy.

use bugyo_detect::Engine;
use bugyo_model::{Asn, Prefix};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most prefixes one question may ask about.
pub const MAX_PREFIXES: usize = 1_000;
/// Questions waiting for the loop (beyond, askers are told "busy").
const QUEUE: usize = 64;

/// One prefix in the live RIB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixState {
    /// The prefix asked about.
    pub prefix: Prefix,
    /// Routes the collector's peers carry for exactly this prefix.
    pub routes: u32,
    /// Peers the collector has (the most routes there could be, without
    /// ADD-PATH).
    pub peers: usize,
    /// The origins seen now, each with its RPKI validity (`valid`,
    /// `invalid`, `not-found`).
    pub origins: Vec<(u32, &'static str)>,
}

/// A question: the prefixes, and where the answer goes.
pub struct RibQuery {
    prefixes: Vec<Prefix>,
    reply: oneshot::Sender<Vec<PrefixState>>,
}

impl RibQuery {
    /// Answers from `engine` (called by the loop).
    pub fn answer(self, engine: &Engine) {
        let rib = engine.rib();
        let peers = rib.peers().len();
        let vrps = &engine.reference().vrps;
        let states = self
            .prefixes
            .iter()
            .map(|p| match rib.prefix(p) {
                Some(e) => PrefixState {
                    prefix: *p,
                    routes: e.routes(),
                    peers,
                    origins: e
                        .current_origins()
                        .map(|Asn(a)| (a, vrps.validate(p, Some(Asn(a))).name()))
                        .collect(),
                },
                None => PrefixState {
                    prefix: *p,
                    routes: 0,
                    peers,
                    origins: Vec::new(),
                },
            })
            .collect();
        // The asker may have given up: nothing to do then.
        let _ = self.reply.send(states);
    }
}

/// Where questions are asked (cheap to clone, one per asker).
#[derive(Clone, Debug)]
pub struct RibQueries(mpsc::Sender<RibQuery>);

impl RibQueries {
    /// A pair: the asking side, and the receiver the loop answers from
    /// (`LiveInputs::queries`).
    pub fn new() -> (RibQueries, mpsc::Receiver<RibQuery>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (RibQueries(tx), rx)
    }

    /// The state of `prefixes` (at most [`MAX_PREFIXES`]), or `None` if
    /// the loop did not answer within `limit` (busy, or stopped).
    pub async fn ask(&self, prefixes: &[Prefix], limit: Duration) -> Option<Vec<PrefixState>> {
        let (reply, answer) = oneshot::channel();
        let q = RibQuery {
            prefixes: prefixes.iter().take(MAX_PREFIXES).copied().collect(),
            reply,
        };
        self.0.try_send(q).ok()?;
        tokio::time::timeout(limit, answer).await.ok()?.ok()
    }
}
