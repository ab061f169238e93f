//! The watch list as an index: which member organisation an AS or a prefix
//! belongs to.

use bugyo_model::{Asn, Member, Prefix};
use ipnet::IpNet;
use prefix_trie::joint::JointPrefixMap;
use rustc_hash::FxHashMap;

/// Members indexed by ASN and by prefix.
#[derive(Default)]
pub struct MemberIndex {
    members: Vec<Member>,
    by_asn: FxHashMap<Asn, usize>,
    by_prefix: JointPrefixMap<IpNet, usize>,
}

impl MemberIndex {
    /// Builds the index.
    pub fn new(members: Vec<Member>) -> MemberIndex {
        let mut idx = MemberIndex::default();
        for (i, m) in members.iter().enumerate() {
            for a in &m.asns {
                idx.by_asn.insert(*a, i);
            }
            for p in &m.prefixes {
                idx.by_prefix.insert(p.net(), i);
            }
        }
        idx.members = members;
        idx
    }

    /// All members.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// The member owning `asn`.
    pub fn by_asn(&self, asn: Asn) -> Option<&Member> {
        self.by_asn.get(&asn).map(|&i| &self.members[i])
    }

    /// The member whose registered prefix covers `prefix` (most specific).
    pub fn by_prefix(&self, prefix: &Prefix) -> Option<&Member> {
        self.by_prefix
            .get_lpm(&prefix.net())
            .map(|(_, &i)| &self.members[i])
    }

    /// True if the list is empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}
