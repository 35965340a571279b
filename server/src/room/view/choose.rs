//! Step 3 of a client's own frame: choose what fits the byte budget, and encode it.
//!
//! **Contract.** [`Choice::within_budget`] marks the candidates that go in this frame,
//! writes the frame, and returns the checksum the client will hold after applying it:
//! - when every candidate is estimated to fit (the common case), all go and nothing is
//!   sorted;
//! - otherwise each candidate adds this snapshot's weight to its accumulated priority
//!   (more when near, when its change is large, much more for the client's own entity),
//!   and the highest go first until the budget is spent. The rest wait with their
//!   priority kept, so every entity in view is refreshed within a bounded staleness;
//! - the choice is made on estimated costs and checked against the real encoded frame:
//!   while it is over budget, the lowest-priority choice goes back to waiting. A frame
//!   always carries at least the top candidate, so an entity larger than the whole
//!   budget is still sent.
//!
//! Besides marking candidates it changes only the priorities in the next entity list.

use super::encode::{Encoder, FrameHeader};
use super::held::HeldStore;
use super::settings::{FRAME_OVERHEAD_BYTES, ViewSettings};
use super::stale::Stale;
use crate::room::interest::Viewer;
use crate::room::snapshot::WorldSnapshot;
use tickcast_shared::delta::DESPAWN_COST_BITS;

/// Priority weight of the client's own entity: it beats everything else.
const OWN_ENTITY_WEIGHT: f32 = 1000.0;
/// Candidates that did not fit before the fill stops looking for smaller ones.
const MAX_SKIPPED: usize = 32;

/// The choice's buffer, reused every frame.
#[derive(Default)]
pub(super) struct Choice {
    /// Candidate indices by descending priority, built only when not everything fits.
    by_priority: Vec<u32>,
}

/// What the choice needs to know about the frame besides the candidates.
pub(super) struct Frame<'a> {
    pub snapshot: &'a WorldSnapshot,
    pub viewer: &'a Viewer,
    pub settings: &'a ViewSettings,
    pub header: FrameHeader,
}

impl Choice {
    /// See the module docs.
    pub fn within_budget(
        &mut self,
        frame: &Frame,
        stale: &mut Stale,
        held: &HeldStore,
        encoder: &mut Encoder,
        out: &mut Vec<u8>,
    ) -> u32 {
        let settings = frame.settings;
        let budget_bits = settings.budget_bytes.saturating_sub(FRAME_OVERHEAD_BYTES) * 8;
        let mut used_bits = 32 + 8 + stale.despawns.len() * DESPAWN_COST_BITS;
        let wanted_bits: usize = stale.candidates.iter().map(|c| c.cost_bits as usize).sum();
        self.by_priority.clear();
        let mut chosen = 0;
        if used_bits + wanted_bits <= budget_bits {
            for candidate in &mut stale.candidates {
                candidate.chosen = true;
            }
            chosen = stale.candidates.len();
        } else {
            self.weigh_and_sort(frame, stale);
            let mut skipped = 0;
            for &at in &self.by_priority {
                let candidate = &mut stale.candidates[at as usize];
                let cost = candidate.cost_bits as usize;
                let fits = used_bits + cost <= budget_bits;
                if (fits || chosen == 0) && skipped < MAX_SKIPPED {
                    used_bits += cost;
                    candidate.chosen = true;
                    chosen += 1;
                } else {
                    skipped += usize::from(!fits);
                }
            }
        }
        loop {
            let checksum = encoder.write(frame.snapshot, stale, held, settings.checksums, frame.header, out);
            if out.len() <= settings.budget_bytes || chosen <= 1 {
                return checksum;
            }
            // Over budget: the lowest-priority choice waits.
            if self.by_priority.is_empty() {
                self.weigh_and_sort(frame, stale);
            }
            let candidates = &mut stale.candidates;
            if let Some(&at) = self
                .by_priority
                .iter()
                .rev()
                .find(|&&at| candidates[at as usize].chosen)
            {
                candidates[at as usize].chosen = false;
                chosen -= 1;
            }
        }
    }

    /// Adds this snapshot's weight to each candidate's accumulated priority (until now
    /// [`Candidate::priority`](super::stale::Candidate) held only the size part of the
    /// weight), then fills `by_priority`: candidates by descending priority, ties by
    /// snapshot order.
    fn weigh_and_sort(&mut self, frame: &Frame, stale: &mut Stale) {
        for candidate in &mut stale.candidates {
            let tracked = &mut stale.next[candidate.tracked as usize];
            let weight = if Some(tracked.id) == frame.viewer.player {
                OWN_ENTITY_WEIGHT
            } else {
                let position = frame.snapshot.metas[candidate.entity as usize].position;
                let nearness = match (frame.settings.interest_radius, position) {
                    (Some(radius), Some(position)) => {
                        1.0 - 0.75 * (position.distance(frame.viewer.position) / radius).min(1.0)
                    }
                    _ => 1.0,
                };
                nearness * candidate.priority
            };
            tracked.priority += weight;
            candidate.priority = tracked.priority;
        }
        let candidates = &stale.candidates;
        self.by_priority.clear();
        self.by_priority.extend(0..candidates.len() as u32);
        self.by_priority.sort_unstable_by(|&a, &b| {
            let (a, b) = (&candidates[a as usize], &candidates[b as usize]);
            b.priority.total_cmp(&a.priority).then(a.entity.cmp(&b.entity))
        });
    }
}
