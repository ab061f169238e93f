//! Writing MRT. (filled in below)
/// Placeholder.
pub struct MrtWriter;
