//! Detection: a verdict for every route, stateful detectors over the RIB, and
//! the correlator that turns a flood of anomalous routes into a few incidents
//! that say who did what to whom.
//!
//! Everything here is a deterministic function of the input and its data
//! timestamps: the same events in the same order give the same incidents,
//! so a replay is a test.
//!
//! - [`verdict`]: per-route checks (RPKI, ASPA, IRR, relationships, path
//!   sanity), each explainable in one line;
//! - [`anomaly`]: what is wrong with one route given the RIB's history;
//! - [`incident`]: the incident model, its severity and JSON form;
//! - [`timeline`]: each incident's route counts per observing peer over time;
//! - [`engine`]: the event loop tying RIB, detectors and correlator together.

pub mod anomaly;
pub mod engine;
pub mod incident;
mod path_notes;
pub mod reference;
pub mod relations;
pub mod sanity;
pub mod timeline;
pub mod verdict;

pub use anomaly::{Anomaly, AnomalyKind};
pub use engine::{Engine, EngineConfig, EngineStats};
pub use incident::{Incident, IncidentEvent, IncidentStatus, Severity};
pub use reference::Reference;
pub use timeline::{Timeline, TimelinePoint};
pub use verdict::RouteVerdicts;
