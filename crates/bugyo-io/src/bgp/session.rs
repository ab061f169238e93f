//! One connection's FSM (RFC 4271 §8): OpenSent → OpenConfirm →
//! Established, the hold and keepalive timers, and UPDATE handling with the
//! RFC 7606 error actions.

use super::peer::{End, PeerTask, Restart};
use super::wire::{spawn_reader, Frame};
use super::SessionState;
use crate::feed::{self, FeedEvent};
use bugyo_formats::bgp::message::parse_body;
use bugyo_formats::bgp::{
    add_path_mode, cap_add_path, cap_asn4, cap_graceful_restart, cap_multiprotocol,
    cap_route_refresh, encode_end_of_rib, encode_keepalive, encode_notification, encode_open,
    end_of_rib, parse_update, split_update, BgpMessage, ErrorAction, GracefulRestart, Open,
    UpdateOptions,
};
use bugyo_formats::mrt::UpdateEntry;
use bugyo_model::{Afi, Asn, Peer};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info, warn};

/// Hold time while waiting for the peer's OPEN (RFC 4271 §8: "large").
const OPEN_HOLD: Duration = Duration::from_secs(240);
/// Stale routes left after a restart are dropped this long after the
/// session is back, if the peer never sends End-of-RIB (RFC 4724 §4.2).
const STALE_TIME: Duration = Duration::from_secs(360);
/// Our restart time in the graceful restart capability.
const OUR_RESTART_TIME: u16 = 120;
/// How long one write may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What was agreed with the peer's OPEN.
struct Negotiated {
    asn4: bool,
    add_path_v4: bool,
    add_path_v6: bool,
    /// Graceful restart, if the peer's capability has a restart time and
    /// lists IPv4 or IPv6 unicast.
    restart: Option<Restart>,
    /// The unicast families the peer's graceful restart capability lists
    /// with the Forwarding State bit (empty without the capability).
    forwarding: Vec<Afi>,
    hold: u16,
}

/// A NOTIFICATION to send before closing: code, subcode, data, error kind.
struct Fail(u8, u8, Vec<u8>, &'static str, String);

/// Our OPEN.
fn our_open(local_asn: u32, hold: u16, id: std::net::Ipv4Addr) -> Open {
    Open::new(
        local_asn,
        hold,
        id,
        vec![
            cap_multiprotocol(1, 1),
            cap_multiprotocol(2, 1),
            cap_route_refresh(),
            cap_asn4(local_asn),
            cap_add_path(&[
                (1, 1, add_path_mode::RECEIVE),
                (2, 1, add_path_mode::RECEIVE),
            ]),
            cap_graceful_restart(&GracefulRestart {
                restart_state: true,
                restart_time: OUR_RESTART_TIME,
                families: vec![(1, 1, false), (2, 1, false)],
            }),
        ],
    )
}

impl PeerTask {
    /// Runs one connection until it ends.
    pub(super) async fn session(&mut self, stream: TcpStream) -> End {
        let local = stream
            .local_addr()
            .ok()
            .map(|a| Peer::new(Asn(self.s.local_asn), a.ip()));
        let (rd, mut wr) = stream.into_split();
        let (ftx, mut frx) = mpsc::channel(64);
        let reader = spawn_reader(rd, ftx);
        let end = self.fsm(&mut frx, &mut wr, local).await;
        reader.abort();
        let _ = timeout(Duration::from_secs(1), wr.shutdown()).await;
        end
    }

    async fn send(&self, wr: &mut OwnedWriteHalf, bytes: &[u8]) -> Result<(), String> {
        match timeout(WRITE_TIMEOUT, wr.write_all(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err("write timed out".to_string()),
        }
    }

    async fn notify(&self, wr: &mut OwnedWriteHalf, code: u8, subcode: u8, data: &[u8]) {
        let mut out = Vec::new();
        encode_notification(code, subcode, data, &mut out);
        self.stats().notifications_sent += 1;
        let _ = self.send(wr, &out).await;
    }

    /// The FSM proper.
    async fn fsm(
        &mut self,
        frx: &mut mpsc::Receiver<Frame>,
        wr: &mut OwnedWriteHalf,
        local: Option<Peer>,
    ) -> End {
        let peer = self.s.peer;
        let mut end = End {
            established: false,
            reason: String::new(),
            restart: None,
            shutdown: false,
            local,
        };
        let mut out = Vec::new();
        encode_open(
            &our_open(self.s.local_asn, self.s.hold_time, self.s.router_id),
            &mut out,
        );
        if let Err(e) = self.send(wr, &out).await {
            end.reason = e;
            return end;
        }
        self.set_state(SessionState::OpenSent);
        let mut state = SessionState::OpenSent;
        let mut neg: Option<Negotiated> = None;
        let far = Duration::from_secs(86400 * 365);
        let mut hold_at = Instant::now() + OPEN_HOLD;
        let mut keepalive_at = Instant::now() + far;
        let mut stale_at: Option<Instant> = None;
        'run: loop {
            let hold = neg.as_ref().map_or(1, |n| n.hold);
            let stale_deadline = stale_at.unwrap_or(Instant::now() + far);
            let fail: Fail = tokio::select! {
                _ = self.s.shutdown.changed() => {
                    if self.stopping() {
                        self.notify(wr, 6, 2, &[]).await;
                        end.shutdown = true;
                        end.reason = "shutdown".to_string();
                        return end;
                    }
                    continue;
                }
                _ = sleep_until(hold_at), if hold != 0 => {
                    Fail(4, 0, Vec::new(), "hold timer", "hold timer expired".to_string())
                }
                _ = sleep_until(keepalive_at), if hold != 0 && neg.is_some() => {
                    let mut k = Vec::new();
                    encode_keepalive(&mut k);
                    if let Err(e) = self.send(wr, &k).await {
                        end.reason = e;
                        end.restart = self.restart_for(&end, &neg);
                        return end;
                    }
                    keepalive_at = Instant::now() + Duration::from_secs(u64::from(hold / 3).max(1));
                    continue;
                }
                _ = sleep_until(stale_deadline), if stale_at.is_some() => {
                    stale_at = None;
                    self.drop_stale(None, local).await;
                    continue;
                }
                f = frx.recv() => 'frame: {
                    let Some(f) = f else {
                        end.reason = "connection closed".to_string();
                        end.restart = self.restart_for(&end, &neg);
                        return end;
                    };
                    let (ty, body) = match f {
                        Frame::Closed(reason) => {
                            end.reason = reason;
                            end.restart = self.restart_for(&end, &neg);
                            return end;
                        }
                        Frame::HeaderError { subcode, data } => {
                            let what = ["", "bad marker", "bad message length", "bad message type"];
                            let w = what.get(usize::from(subcode)).copied().unwrap_or("header");
                            break 'frame Fail(1, subcode, data, "header", format!("message header error: {w}"));
                        }
                        Frame::Msg { ty, body } => (ty, body),
                    };
                    {
                        let mut st = self.stats();
                        st.messages += 1;
                        st.last_message = Some(feed::now());
                    }
                    if let Some(n) = &neg {
                        if n.hold != 0 {
                            hold_at = Instant::now() + Duration::from_secs(u64::from(n.hold));
                        }
                    }
                    let msg = match parse_body(ty, &body, 19) {
                        Ok(m) => m,
                        Err(e) => {
                            // Only a truncated OPEN gets here (header checks came first).
                            break 'frame Fail(2, 0, Vec::new(), "open", format!("bad OPEN: {e}"));
                        }
                    };
                    match (state, msg) {
                        (_, BgpMessage::Notification(n)) => {
                            self.stats().notifications_received += 1;
                            end.reason = format!("NOTIFICATION {}/{} received", n.code, n.subcode);
                            warn!(%peer, code = n.code, subcode = n.subcode, "NOTIFICATION received");
                            return end;
                        }
                        (SessionState::OpenSent, BgpMessage::Open(open)) => {
                            let n = match self.check_open(&open) {
                                Ok(n) => n,
                                Err(f) => break 'frame f,
                            };
                            let mut k = Vec::new();
                            encode_keepalive(&mut k);
                            if let Err(e) = self.send(wr, &k).await {
                                end.reason = e;
                                return end;
                            }
                            if n.hold != 0 {
                                hold_at = Instant::now() + Duration::from_secs(u64::from(n.hold));
                                keepalive_at = Instant::now() + Duration::from_secs(u64::from(n.hold / 3).max(1));
                            }
                            debug!(%peer, hold = n.hold, asn4 = n.asn4, add_path_v4 = n.add_path_v4,
                                add_path_v6 = n.add_path_v6, gr = ?n.restart, forwarding = ?n.forwarding, "OPEN accepted");
                            neg = Some(n);
                            state = SessionState::OpenConfirm;
                            self.set_state(state);
                            continue 'run;
                        }
                        (SessionState::OpenConfirm, BgpMessage::Keepalive) => {
                            state = SessionState::Established;
                            end.established = true;
                            let gr = neg.as_ref().is_some_and(|n| n.restart.is_some());
                            let forwarding = neg.as_ref().map(|n| n.forwarding.clone()).unwrap_or_default();
                            stale_at = self.established(&forwarding, local).await;
                            if gr {
                                let mut eor = Vec::new();
                                encode_end_of_rib(1, 1, &mut eor);
                                encode_end_of_rib(2, 1, &mut eor);
                                if let Err(e) = self.send(wr, &eor).await {
                                    end.reason = e;
                                    end.restart = self.restart_for(&end, &neg);
                                    return end;
                                }
                            }
                            continue 'run;
                        }
                        (SessionState::Established, BgpMessage::Update(body)) => {
                            let Some(n) = &neg else { continue 'run };
                            let (asn4, v4, v6, gr) = (n.asn4, n.add_path_v4, n.add_path_v6, n.restart.is_some());
                            if let Err(f) = self.update(body, asn4, v4, v6, gr, local).await {
                                break 'frame f;
                            }
                            if self.stale.is_empty() {
                                stale_at = None;
                            }
                            continue 'run;
                        }
                        (SessionState::Established, BgpMessage::Keepalive)
                        | (SessionState::Established, BgpMessage::RouteRefresh { .. }) => continue 'run,
                        (st, m) => {
                            let sub = match st {
                                SessionState::OpenSent => 1,
                                SessionState::OpenConfirm => 2,
                                _ => 3,
                            };
                            Fail(5, sub, Vec::new(), "fsm", format!("unexpected {} in {}", m.name(), st.as_str()))
                        }
                    }
                }
            };
            let Fail(code, subcode, data, kind, reason) = fail;
            warn!(%peer, code, subcode, %reason, "closing session with NOTIFICATION");
            self.stats().error(kind);
            self.notify(wr, code, subcode, &data).await;
            end.reason = reason;
            return end;
        }
    }

    /// Graceful restart applies to this end (the TCP connection went away
    /// in Established with the capability negotiated).
    fn restart_for(&self, end: &End, neg: &Option<Negotiated>) -> Option<Restart> {
        if end.established {
            neg.as_ref().and_then(|n| n.restart.clone())
        } else {
            None
        }
    }

    /// Validates the peer's OPEN and works out the session parameters.
    fn check_open(&self, open: &Open) -> Result<Negotiated, Fail> {
        if open.version != 4 {
            return Err(Fail(
                2,
                1,
                vec![0, 4],
                "open",
                format!("BGP version {}", open.version),
            ));
        }
        let asn = open.peer_asn();
        if asn != self.s.cfg.asn {
            return Err(Fail(
                2,
                2,
                Vec::new(),
                "open",
                format!("peer AS {asn}, expected {}", self.s.cfg.asn),
            ));
        }
        if open.bgp_id.is_unspecified() || open.bgp_id == self.s.router_id {
            return Err(Fail(
                2,
                3,
                Vec::new(),
                "open",
                format!("bad BGP identifier {}", open.bgp_id),
            ));
        }
        if open.hold_time == 1 || open.hold_time == 2 {
            return Err(Fail(
                2,
                6,
                Vec::new(),
                "open",
                format!("hold time {}", open.hold_time),
            ));
        }
        let sends = |afi: u16| {
            open.add_path()
                .iter()
                .any(|&(a, s, m)| a == afi && s == 1 && m & add_path_mode::SEND != 0)
        };
        // Graceful restart, per family: IPv4 and IPv6 unicast as listed in
        // the capability, and which of them kept their forwarding state.
        let gr = open.graceful_restart();
        let listed = |forwarding: bool| -> Vec<Afi> {
            let fams = gr.as_ref().map(|g| g.families.as_slice()).unwrap_or(&[]);
            [(1, Afi::Ipv4), (2, Afi::Ipv6)]
                .into_iter()
                .filter(|(code, _)| {
                    fams.iter()
                        .any(|&(a, s, f)| a == *code && s == 1 && (f || !forwarding))
                })
                .map(|(_, afi)| afi)
                .collect()
        };
        let families = listed(false);
        let restart = gr
            .as_ref()
            .filter(|g| g.restart_time > 0 && !families.is_empty())
            .map(|g| Restart {
                time: Duration::from_secs(u64::from(g.restart_time)),
                families,
            });
        Ok(Negotiated {
            asn4: open.asn4().is_some(),
            add_path_v4: sends(1),
            add_path_v6: sends(2),
            restart,
            forwarding: listed(true),
            hold: open.hold_time.min(self.s.hold_time),
        })
    }

    /// The session reached Established: SessionUp unless the peer is back
    /// from a graceful restart. Stale routes are kept only for the families
    /// in `forwarding` (listed with the Forwarding State bit in the new
    /// OPEN, RFC 4724 §4.2). Returns when to drop the stale routes left.
    async fn established(&mut self, forwarding: &[Afi], local: Option<Peer>) -> Option<Instant> {
        let peer = self.s.peer;
        {
            let mut st = self.stats();
            st.state = SessionState::Established;
            st.sessions += 1;
        }
        self.restart_deadline = None;
        if self.up {
            info!(%peer, stale = self.stale.len(), "peer back after graceful restart");
        } else {
            info!(%peer, "BGP session established");
            self.up = true;
            self.emit(FeedEvent::SessionUp {
                time: feed::now(),
                peer,
            })
            .await;
        }
        for afi in [Afi::Ipv4, Afi::Ipv6] {
            if !forwarding.contains(&afi) {
                // Not preserved by the peer (or no capability now): the
                // old routes of this family go at once.
                self.drop_stale(Some(afi), local).await;
            }
        }
        (!self.stale.is_empty()).then(|| Instant::now() + STALE_TIME)
    }

    /// One UPDATE in Established.
    async fn update(
        &mut self,
        body: &[u8],
        asn4: bool,
        add_path_v4: bool,
        add_path_v6: bool,
        track: bool,
        local: Option<Peer>,
    ) -> Result<(), Fail> {
        // ADD-PATH is negotiated per family but the parser takes one flag:
        // an UPDATE with classic NLRI fields is taken as IPv4, else as the
        // MP family (IPv6).
        let add_path = if add_path_v4 == add_path_v6 {
            add_path_v4
        } else {
            match split_update(body) {
                Ok(p) if !p.withdrawn.is_empty() || !p.nlri.is_empty() => add_path_v4,
                _ => add_path_v6,
            }
        };
        let m = match parse_update(body, UpdateOptions { asn4, add_path }) {
            Ok(m) => m,
            Err(e) => {
                return Err(Fail(
                    3,
                    1,
                    Vec::new(),
                    "update reset",
                    format!("malformed UPDATE: {e}"),
                ));
            }
        };
        if let Some(e) = m
            .errors
            .iter()
            .find(|e| e.action == ErrorAction::SessionReset)
        {
            let sub = if e.field.contains("NLRI") || e.field.contains("withdrawn") {
                10
            } else {
                1
            };
            return Err(Fail(
                3,
                sub,
                Vec::new(),
                "update reset",
                format!("malformed UPDATE: {e}"),
            ));
        }
        {
            let mut st = self.stats();
            st.updates += 1;
            st.announced += m.announced.len() as u64;
            st.withdrawn += m.withdrawn.len() as u64;
            for e in &m.errors {
                st.error(match e.action {
                    ErrorAction::AttributeDiscard => "attribute discarded",
                    _ => "treat-as-withdraw",
                });
            }
        }
        for e in &m.errors {
            warn!(peer = %self.s.peer, error = %e, "malformed UPDATE");
        }
        for w in &m.withdrawn {
            self.rib.remove(w);
            self.stale.remove(w);
        }
        for a in &m.announced {
            self.stale.remove(a);
            if track {
                self.rib.insert(*a);
            }
        }
        self.emit(FeedEvent::Update(UpdateEntry {
            time: feed::now(),
            extended: true,
            peer: self.s.peer,
            local,
            withdrawn: m.withdrawn,
            announced: m.announced,
            attrs: m.attrs.map(Arc::new),
            outgoing: false,
            legacy: false,
            treat_as_withdraw: m.treat_as_withdraw,
            multicast: false,
        }))
        .await;
        if let Some((afi, 1)) = end_of_rib(body) {
            let afi = match afi {
                1 => Some(Afi::Ipv4),
                2 => Some(Afi::Ipv6),
                _ => None,
            };
            if let Some(afi) = afi {
                debug!(peer = %self.s.peer, ?afi, "End-of-RIB");
                self.drop_stale(Some(afi), local).await;
            }
        }
        Ok(())
    }
}
