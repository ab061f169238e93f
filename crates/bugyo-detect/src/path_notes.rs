//! Path verdicts kept with the RIB's attribute sets, so a path is judged once
//! per distinct set rather than once per route.
//!
//! The verdict goes into the set's 4-byte note in the RIB
//! ([`Rib::attr_note`]): nearly every verdict (relationships consistent or
//! unknown, ASPA valid, unknown or not loaded, no sanity issue) fits the
//! note itself; the rest (leaks, ASPA-invalid paths, sanity issues) are kept
//! in full beside it. A note lives and dies with its set, so nothing here
//! outlives the routes, and a reused set handle starts unjudged.

use crate::reference::Reference;
use crate::relations::PathCheck;
use crate::verdict::PathVerdict;
use bugyo_model::PathAttributes;
use bugyo_state::rpki::AspaVerdict;
use bugyo_state::{AttrId, Rib};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Note bits 0–1: the relationship check, or "kept in full".
const CONSISTENT: u32 = 1;
const UNKNOWN: u32 = 2;
const FULL: u32 = 3;
/// Note bits 2–3: the ASPA verdict (0: not loaded).
const ASPA_SHIFT: u32 = 2;
const ASPA_VALID: u32 = 1;
const ASPA_UNKNOWN: u32 = 2;

/// The verdicts that do not fit a note, by set handle.
#[derive(Default)]
pub(crate) struct PathNotes {
    full: FxHashMap<AttrId, PathVerdict>,
}

/// A verdict as a note, if it fits one.
fn compact(pv: &PathVerdict) -> Option<u32> {
    let relations = match pv.relations {
        PathCheck::Consistent => CONSISTENT,
        PathCheck::Unknown => UNKNOWN,
        PathCheck::Leak(_) => return None,
    };
    let aspa = match pv.aspa {
        None => 0,
        Some(AspaVerdict::Valid) => ASPA_VALID,
        Some(AspaVerdict::Unknown) => ASPA_UNKNOWN,
        Some(AspaVerdict::Invalid { .. }) => return None,
    };
    pv.sanity
        .is_empty()
        .then_some(relations | (aspa << ASPA_SHIFT))
}

impl PathNotes {
    /// The verdict on a path: from its set's note if the RIB holds the set
    /// and it was judged, otherwise judged now (and noted, if held).
    pub(crate) fn verdict(
        &mut self,
        rib: &mut Rib,
        reference: &Reference,
        attrs: &Arc<PathAttributes>,
    ) -> PathVerdict {
        let held = rib.attr_note(attrs);
        if let Some((id, note)) = held {
            if let Some(pv) = self.expand(id, note, attrs) {
                return pv;
            }
        }
        let pv = PathVerdict::judge(reference, attrs);
        if let Some((id, _)) = held {
            self.remember(rib, id, &pv);
        }
        pv
    }

    /// Notes the verdict of a set the RIB holds (one that became held after
    /// it was judged).
    pub(crate) fn remember(&mut self, rib: &mut Rib, id: AttrId, pv: &PathVerdict) {
        let note = match compact(pv) {
            Some(note) => {
                self.full.remove(&id);
                note
            }
            None => {
                self.full.insert(id, pv.clone());
                FULL
            }
        };
        rib.set_attr_note(id, note);
    }

    /// Forgets every verdict (the reference data changed).
    pub(crate) fn clear(&mut self, rib: &mut Rib) {
        self.full.clear();
        rib.clear_attr_notes();
    }

    fn expand(&self, id: AttrId, note: u32, attrs: &PathAttributes) -> Option<PathVerdict> {
        let relations = match note & 3 {
            CONSISTENT => PathCheck::Consistent,
            UNKNOWN => PathCheck::Unknown,
            FULL => return self.full.get(&id).cloned(),
            _ => return None,
        };
        let aspa = match note >> ASPA_SHIFT {
            ASPA_VALID => Some(AspaVerdict::Valid),
            ASPA_UNKNOWN => Some(AspaVerdict::Unknown),
            _ => None,
        };
        Some(PathVerdict {
            origin: attrs.as_path.origin(),
            aspa,
            relations,
            sanity: Vec::new(),
        })
    }
}
