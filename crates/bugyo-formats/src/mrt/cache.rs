//! The reader's attribute cache: identical raw attribute blocks are parsed
//! once and shared as one `Arc<PathAttributes>`. Bounded: cleared when it
//! grows past its limit.

use bugyo_model::PathAttributes;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A small, fast, non-cryptographic hasher (the FxHash mixing step) for
/// byte keys that come from files, not from adversaries with a budget.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            self.add(u64::from_le_bytes(a));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut a = [0u8; 8];
            a[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(a) ^ (rest.len() as u64) << 59);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Map from attribute-block key to shared attributes.
pub(crate) struct AttrCache {
    map: HashMap<Box<[u8]>, Arc<PathAttributes>, BuildHasherDefault<FxHasher>>,
    limit: usize,
}

impl AttrCache {
    pub(crate) fn new(limit: usize) -> Self {
        AttrCache {
            map: HashMap::with_capacity_and_hasher(1 << 14, Default::default()),
            limit,
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Arc<PathAttributes>> {
        self.map.get(key)
    }

    pub(crate) fn insert(&mut self, key: &[u8], v: Arc<PathAttributes>) {
        if self.map.len() >= self.limit {
            self.map.clear();
        }
        self.map.insert(key.into(), v);
    }
}
