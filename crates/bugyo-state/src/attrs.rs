//! Interned path attributes: a full table from many peers shares a few
//! hundred thousand distinct attribute sets, so each route stores a 4-byte
//! [`AttrId`] instead of its own copy.

use bugyo_model::PathAttributes;
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// Handle of an interned attribute set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttrId(u32);

struct Slot {
    attrs: Arc<PathAttributes>,
    refs: u32,
}

/// Reference-counted store of distinct attribute sets.
///
/// Lookup is first by the `Arc`'s address (parsers hand out the same `Arc`
/// for identical raw attributes, so this is the common, cheap case) and then
/// by content.
#[derive(Default)]
pub struct AttrStore {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_ptr: FxHashMap<usize, u32>,
    by_content: FxHashMap<Arc<PathAttributes>, u32>,
}

impl AttrStore {
    /// Interns `attrs` and takes one reference to it. The flag is true if
    /// the set was not held before.
    pub fn intern(&mut self, attrs: &Arc<PathAttributes>) -> (AttrId, bool) {
        let ptr = Arc::as_ptr(attrs) as usize;
        if let Some(&id) = self.by_ptr.get(&ptr) {
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                slot.refs += 1;
                return (AttrId(id), false);
            }
        }
        if let Some(&id) = self.by_content.get(attrs) {
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                slot.refs += 1;
                return (AttrId(id), false);
            }
        }
        let slot = Slot {
            attrs: Arc::clone(attrs),
            refs: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(slot);
                id
            }
            None => {
                self.slots.push(Some(slot));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_ptr.insert(ptr, id);
        self.by_content.insert(Arc::clone(attrs), id);
        (AttrId(id), true)
    }

    /// The held set equal to `attrs` (the same allocation, or the same
    /// content), if any: callers use it so that equal sets share one
    /// allocation however they arrived.
    pub fn canonical(&self, attrs: &Arc<PathAttributes>) -> Option<&Arc<PathAttributes>> {
        let id = match self.by_ptr.get(&(Arc::as_ptr(attrs) as usize)) {
            Some(&id) => id,
            None => *self.by_content.get(attrs)?,
        };
        self.slots.get(id as usize)?.as_ref().map(|s| &s.attrs)
    }

    /// The attributes behind a handle.
    pub fn get(&self, id: AttrId) -> &Arc<PathAttributes> {
        match &self.slots[id.0 as usize] {
            Some(slot) => &slot.attrs,
            None => unreachable!("AttrId used after release"),
        }
    }

    /// Drops one reference; the set is freed when none is left.
    pub fn release(&mut self, id: AttrId) {
        let Some(Some(slot)) = self.slots.get_mut(id.0 as usize) else {
            return;
        };
        slot.refs -= 1;
        if slot.refs == 0 {
            if let Some(slot) = self.slots[id.0 as usize].take() {
                let ptr = Arc::as_ptr(&slot.attrs) as usize;
                if self.by_ptr.get(&ptr) == Some(&id.0) {
                    self.by_ptr.remove(&ptr);
                }
                if self.by_content.get(&slot.attrs) == Some(&id.0) {
                    self.by_content.remove(&slot.attrs);
                }
            }
            self.free.push(id.0);
        }
    }

    /// Number of distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::AsPath;

    #[test]
    fn shares_and_frees() {
        let mut s = AttrStore::default();
        let a = Arc::new(PathAttributes {
            as_path: AsPath::from_sequence([1, 2, 3]),
            ..Default::default()
        });
        let b = Arc::new((*a).clone());
        let (ia, new_a) = s.intern(&a);
        let (ib, new_b) = s.intern(&b);
        assert!(new_a && !new_b);
        assert_eq!(ia, ib);
        assert_eq!(s.len(), 1);
        s.release(ia);
        assert_eq!(s.len(), 1);
        s.release(ib);
        assert_eq!(s.len(), 0);
        let (ic, _) = s.intern(&b);
        assert_eq!(s.get(ic).as_path.origin(), Some(bugyo_model::Asn(3)));
    }
}
