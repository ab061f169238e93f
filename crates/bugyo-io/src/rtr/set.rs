//! The RPKI data set an RTR client keeps, and the transfer in progress.
//!
//! Sans-IO: PDUs go in, and at End of Data the transfer is committed in one
//! step, so a consumer never sees half a transfer.

use bugyo_model::{Asn, Aspa, Vrp};
use std::collections::{BTreeMap, BTreeSet};

/// The VRPs and ASPA records of one cache session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpkiSet {
    /// Current VRPs.
    pub vrps: BTreeSet<Vrp>,
    /// Current ASPA records: customer to sorted providers.
    pub aspas: BTreeMap<Asn, Vec<Asn>>,
}

/// One change received in a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A VRP announced (`true`) or withdrawn (`false`).
    Vrp(bool, Vrp),
    /// An ASPA record announced with its providers, or withdrawn (`None`).
    Aspa(Asn, Option<Vec<Asn>>),
}

/// Counts of what a commit did, and of the oddities it met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Records added or replaced.
    pub added: usize,
    /// Records removed.
    pub removed: usize,
    /// Withdrawals of records that were not there (ignored).
    pub unknown_withdrawals: usize,
    /// Announcements of records already there (ignored).
    pub duplicates: usize,
}

impl RpkiSet {
    /// Applies changes in order and reports what happened.
    pub fn apply(&mut self, changes: Vec<Change>) -> CommitStats {
        let mut st = CommitStats::default();
        for c in changes {
            match c {
                Change::Vrp(true, v) => {
                    if self.vrps.insert(v) {
                        st.added += 1;
                    } else {
                        st.duplicates += 1;
                    }
                }
                Change::Vrp(false, v) => {
                    if self.vrps.remove(&v) {
                        st.removed += 1;
                    } else {
                        st.unknown_withdrawals += 1;
                    }
                }
                Change::Aspa(customer, Some(mut providers)) => {
                    providers.sort_unstable();
                    providers.dedup();
                    self.aspas.insert(customer, providers);
                    st.added += 1;
                }
                Change::Aspa(customer, None) => {
                    if self.aspas.remove(&customer).is_some() {
                        st.removed += 1;
                    } else {
                        st.unknown_withdrawals += 1;
                    }
                }
            }
        }
        st
    }

    /// The VRPs as a sorted list.
    pub fn vrp_list(&self) -> Vec<Vrp> {
        self.vrps.iter().copied().collect()
    }

    /// The ASPA records as a list sorted by customer.
    pub fn aspa_list(&self) -> Vec<Aspa> {
        self.aspas
            .iter()
            .map(|(c, p)| Aspa {
                customer: *c,
                providers: p.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugyo_model::Prefix;

    fn v(len: u8, asn: u32) -> Vrp {
        Vrp {
            prefix: Prefix::v4(0xc000_0200, len).unwrap_or_else(|e| panic!("{e}")),
            max_len: len,
            asn: Asn(asn),
        }
    }

    #[test]
    fn applies_in_order_and_counts() {
        let mut s = RpkiSet::default();
        let st = s.apply(vec![
            Change::Vrp(true, v(24, 1)),
            Change::Vrp(true, v(24, 1)),
            Change::Vrp(false, v(23, 1)),
            Change::Aspa(Asn(5), Some(vec![Asn(3), Asn(2), Asn(3)])),
        ]);
        assert_eq!(
            st,
            CommitStats {
                added: 2,
                removed: 0,
                unknown_withdrawals: 1,
                duplicates: 1
            }
        );
        assert_eq!(s.vrp_list(), vec![v(24, 1)]);
        assert_eq!(s.aspa_list()[0].providers, vec![Asn(2), Asn(3)]);
        s.apply(vec![
            Change::Vrp(false, v(24, 1)),
            Change::Aspa(Asn(5), None),
        ]);
        assert_eq!(s, RpkiSet::default());
    }
}
