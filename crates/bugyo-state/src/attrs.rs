//! Interned path attributes: a full table from many peers shares a few
//! hundred thousand distinct attribute sets, so each route stores a 4-byte
//! [`AttrId`] instead of its own copy. Each set also carries a 4-byte note
//! for the layer above (the detector keeps its path verdict there), which
//! lives and dies with the set.

use bugyo_model::PathAttributes;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Handle of an interned attribute set. A handle is reused once its set is
/// freed; a new set starts with note 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrId(u32);

impl AttrId {
    /// The handle's index (dense: below the most sets ever held at once).
    pub fn index(self) -> u32 {
        self.0
    }

    #[cfg(test)]
    pub(crate) fn from_index(i: u32) -> AttrId {
        AttrId(i)
    }
}

/// One held set: 16 bytes.
struct Slot {
    attrs: Arc<PathAttributes>,
    refs: u32,
    note: u32,
}

/// Reference-counted store of distinct attribute sets.
///
/// Lookup is first by the `Arc`'s address (parsers hand out the same `Arc`
/// for identical raw attributes, and the detector stores the held `Arc`, so
/// this is the common, cheap case) and then by content. Both indexes hold
/// only slot numbers (4 bytes an entry) and hash the slot's set on demand.
#[derive(Default)]
pub struct AttrStore {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    by_ptr: HashTable<u32>,
    by_content: HashTable<u32>,
}

fn ptr_hash(attrs: &Arc<PathAttributes>) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(Arc::as_ptr(attrs) as usize)
}

fn content_hash(attrs: &PathAttributes) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(attrs)
}

impl AttrStore {
    fn slot(&self, id: u32) -> &Slot {
        match &self.slots[id as usize] {
            Some(slot) => slot,
            None => unreachable!("an index names only held sets"),
        }
    }

    /// The id of the held set equal to `attrs`: the same allocation, or the
    /// same content.
    fn find(&self, attrs: &Arc<PathAttributes>) -> Option<u32> {
        let held = |id: &u32| &self.slot(*id).attrs;
        if let Some(&id) = self
            .by_ptr
            .find(ptr_hash(attrs), |id| Arc::ptr_eq(held(id), attrs))
        {
            return Some(id);
        }
        self.by_content
            .find(content_hash(attrs), |id| **held(id) == **attrs)
            .copied()
    }

    /// Interns `attrs` and takes one reference to it. The flag is true if
    /// the set was not held before.
    pub fn intern(&mut self, attrs: &Arc<PathAttributes>) -> (AttrId, bool) {
        if let Some(id) = self.find(attrs) {
            if let Some(Some(slot)) = self.slots.get_mut(id as usize) {
                slot.refs += 1;
            }
            return (AttrId(id), false);
        }
        let slot = Slot {
            attrs: Arc::clone(attrs),
            refs: 1,
            note: 0,
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
        let slots = &self.slots;
        let held = |id: &u32| match &slots[*id as usize] {
            Some(slot) => &slot.attrs,
            None => unreachable!("an index names only held sets"),
        };
        self.by_ptr
            .insert_unique(ptr_hash(attrs), id, |id| ptr_hash(held(id)));
        self.by_content
            .insert_unique(content_hash(attrs), id, |id| content_hash(held(id)));
        (AttrId(id), true)
    }

    /// The held set equal to `attrs` (the same allocation, or the same
    /// content), if any: callers use it so that equal sets share one
    /// allocation however they arrived.
    pub fn canonical(&self, attrs: &Arc<PathAttributes>) -> Option<&Arc<PathAttributes>> {
        self.find(attrs).map(|id| &self.slot(id).attrs)
    }

    /// The handle and note of the held set equal to `attrs`, if any.
    pub fn note_of(&self, attrs: &Arc<PathAttributes>) -> Option<(AttrId, u32)> {
        self.find(attrs).map(|id| (AttrId(id), self.slot(id).note))
    }

    /// Sets the note of a held set.
    pub fn set_note(&mut self, id: AttrId, note: u32) {
        if let Some(Some(slot)) = self.slots.get_mut(id.0 as usize) {
            slot.note = note;
        }
    }

    /// Resets every note to 0.
    pub fn clear_notes(&mut self) {
        for slot in self.slots.iter_mut().flatten() {
            slot.note = 0;
        }
    }

    /// The attributes behind a handle.
    pub fn get(&self, id: AttrId) -> &Arc<PathAttributes> {
        &self.slot(id.0).attrs
    }

    /// Drops one reference; the set is freed when none is left.
    pub fn release(&mut self, id: AttrId) {
        let Some(Some(slot)) = self.slots.get_mut(id.0 as usize) else {
            return;
        };
        slot.refs -= 1;
        if slot.refs > 0 {
            return;
        }
        let (ph, ch) = (ptr_hash(&slot.attrs), content_hash(&slot.attrs));
        if let Ok(e) = self.by_ptr.find_entry(ph, |&i| i == id.0) {
            e.remove();
        }
        if let Ok(e) = self.by_content.find_entry(ch, |&i| i == id.0) {
            e.remove();
        }
        self.slots[id.0 as usize] = None;
        self.free.push(id.0);
    }

    /// Number of distinct attribute sets held.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the store's own tables (not the sets themselves).
    pub fn memory(&self) -> usize {
        use std::mem::size_of;
        self.slots.capacity() * size_of::<Option<Slot>>()
            + self.free.capacity() * size_of::<u32>()
            + (self.by_ptr.num_buckets() + self.by_content.num_buckets()) * (size_of::<u32>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::AsPath;

    fn set(path: &[u32]) -> Arc<PathAttributes> {
        Arc::new(PathAttributes {
            as_path: AsPath::from_sequence(path.iter().copied()),
            ..Default::default()
        })
    }

    #[test]
    fn shares_and_frees() {
        let mut s = AttrStore::default();
        let a = set(&[1, 2, 3]);
        let b = Arc::new((*a).clone());
        let (ia, new_a) = s.intern(&a);
        let (ib, new_b) = s.intern(&b);
        assert!(new_a && !new_b);
        assert_eq!(ia, ib);
        assert_eq!(s.len(), 1);
        assert!(Arc::ptr_eq(s.canonical(&b).unwrap(), &a));
        s.release(ia);
        assert_eq!(s.len(), 1);
        s.release(ib);
        assert_eq!(s.len(), 0);
        assert!(s.canonical(&a).is_none());
        let (ic, _) = s.intern(&b);
        assert_eq!(s.get(ic).as_path.origin(), Some(bugyo_model::Asn(3)));
    }

    #[test]
    fn notes_live_and_die_with_their_set() {
        let mut s = AttrStore::default();
        let sets: Vec<_> = (0..1000u32).map(|i| set(&[1, i])).collect();
        let ids: Vec<AttrId> = sets.iter().map(|a| s.intern(a).0).collect();
        for (i, id) in ids.iter().enumerate() {
            s.set_note(*id, i as u32 + 1);
        }
        // The indexes survive growth: every set is found by address and by
        // an equal copy, with its note.
        for (i, a) in sets.iter().enumerate() {
            assert_eq!(s.note_of(a), Some((ids[i], i as u32 + 1)));
            assert_eq!(
                s.note_of(&Arc::new((**a).clone())),
                Some((ids[i], i as u32 + 1))
            );
        }
        // A freed handle comes back for another set, without the old note.
        s.release(ids[7]);
        let other = set(&[9, 9, 9]);
        let (id, new) = s.intern(&other);
        assert!(new && id == ids[7]);
        assert_eq!(s.note_of(&other), Some((id, 0)));
        assert_eq!(s.note_of(&sets[7]), None);
        s.clear_notes();
        assert_eq!(s.note_of(&sets[8]), Some((ids[8], 0)));
    }
}
