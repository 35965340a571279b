//! Step 1 of a client's own frame: what it should see.
//!
//! **Contract.** [`Visible::collect`] lists, as sorted snapshot indices, every visible
//! entity the client should hold after this frame: with an interest radius, those near
//! the viewer plus the always-relevant ones, filtered by team and the game's rule, and
//! always the client's own player; without one, every visible entity the rule allows.
//! It reads only the snapshot and the viewer.

use super::settings::ViewSettings;
use crate::room::interest::{InterestGrid, Viewer};
use crate::room::snapshot::{WorldSnapshot, is_visible};

/// The entities in view for one snapshot; buffers reused every frame.
#[derive(Default)]
pub(super) struct Visible {
    /// Snapshot indices, sorted.
    pub indices: Vec<u32>,
    /// Scratch bitset of [`InterestGrid::visible`].
    marks: Vec<u64>,
}

impl Visible {
    pub fn collect(&mut self, snapshot: &WorldSnapshot, viewer: &Viewer, settings: &ViewSettings) {
        match settings.interest_radius {
            Some(radius) => {
                // A room with an interest radius prepares the grid; built here only for
                // a snapshot made by hand (tests, benches).
                let built;
                let grid = match snapshot.interest_grid() {
                    Some(grid) => grid,
                    None => {
                        built = InterestGrid::build(&snapshot.metas, radius);
                        &built
                    }
                };
                grid.visible(
                    viewer,
                    radius,
                    &snapshot.metas,
                    settings.rule,
                    &mut self.indices,
                    &mut self.marks,
                );
                if let Some(own) = viewer.player.and_then(|player| snapshot.index_of(player)) {
                    let own = own as u32;
                    if let Err(at) = self.indices.binary_search(&own) {
                        self.indices.insert(at, own);
                    }
                }
            }
            None => {
                self.indices.clear();
                self.indices.extend(
                    snapshot
                        .metas
                        .iter()
                        .enumerate()
                        .filter(|(_, meta)| is_visible(meta))
                        .filter(|(_, meta)| settings.rule.is_none_or(|rule| rule(viewer, meta)))
                        .map(|(index, _)| index as u32),
                );
            }
        }
    }
}
