//! How a client's view is chosen and paced: the settings every step reads.

use crate::room::interest::RelevanceRule;

/// How a client's view is chosen and paced.
#[derive(Clone, Copy, Debug)]
pub struct ViewSettings {
    /// Radius of the area of interest around the client's player; `None` sends the
    /// whole world.
    pub interest_radius: Option<f32>,
    /// Most frame bytes (WebSocket payload) per snapshot: the per-client bandwidth budget
    /// divided by the snapshot rate.
    pub budget_bytes: usize,
    /// Whether bodies carry the checksum of the client's resulting state.
    pub checksums: bool,
    /// The game's extra relevance rule, if any.
    pub rule: Option<RelevanceRule>,
}

/// Frame bytes outside the body (envelope and header), reserved from the budget.
pub(super) const FRAME_OVERHEAD_BYTES: usize = 16;
