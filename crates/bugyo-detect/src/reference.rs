//! The reference data a route is judged against, bundled.

use bugyo_state::{AsGraph, AspaIndex, IrrIndex, MemberIndex, VrpIndex};

/// All loaded reference data. Every part may be empty; checks that need a
/// missing part answer "unknown" rather than guessing.
#[derive(Default)]
pub struct Reference {
    /// RPKI VRPs.
    pub vrps: VrpIndex,
    /// ASPA records.
    pub aspa: AspaIndex,
    /// IRR route objects.
    pub irr: IrrIndex,
    /// AS relationships and names.
    pub graph: AsGraph,
    /// Member organisations being watched.
    pub members: MemberIndex,
}
