//! Network identities of replicated entities.
//!
//! The server never puts a bevy `Entity` on the wire: each replicated entity gets a
//! [`NetId`] from a slotmap, and the server keeps a `NetId <-> Entity` map. Slotmap keys
//! carry a generation, so a recycled slot is a different `NetId` and a late snapshot can
//! never update the wrong entity on a client.

use slotmap::{Key, KeyData};
use std::fmt;

slotmap::new_key_type! {
    /// Identity of one replicated entity, stable for the entity's lifetime and never
    /// reused with the same generation. Serialized as `[index, generation]`.
    pub struct NetId;
}

impl NetId {
    /// Builds a `NetId` from its wire parts (the generation is forced odd, as slotmap
    /// requires of occupied keys).
    pub fn from_parts(index: u32, generation: u32) -> NetId {
        let ffi = (u64::from(generation | 1) << 32) | u64::from(index);
        NetId::from(KeyData::from_ffi(ffi))
    }

    /// The slot index.
    pub fn index(self) -> u32 {
        self.data().as_ffi() as u32
    }

    /// The slot generation.
    pub fn generation(self) -> u32 {
        (self.data().as_ffi() >> 32) as u32
    }
}

impl fmt::Display for NetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}v{}", self.index(), self.generation())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slotmap::SlotMap;

    #[test]
    fn parts_round_trip_and_order_is_by_index() {
        let mut ids: SlotMap<NetId, ()> = SlotMap::with_key();
        let a = ids.insert(());
        let b = ids.insert(());
        assert_eq!(NetId::from_parts(a.index(), a.generation()), a);
        assert!(a < b);
        ids.remove(a);
        let reused = ids.insert(());
        assert_eq!(reused.index(), a.index());
        assert_ne!(reused, a, "a recycled slot must be a new identity");
    }
}
