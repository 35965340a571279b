//! The arena's components. Replicated ones delegate their quantizers to the wire types
//! in `tickcast_shared::arena`, so server and clients share one definition of the layout.

use bevy_ecs::prelude::*;
use glam::Vec2;
use tickcast_shared::arena;
use tickcast_shared::{ComponentKind, FieldDecl, Fields, Replicate};

/// Implements `Replicate` for a newtype component by delegating to its wire type.
macro_rules! replicate_as {
    ($component:ident => $wire:ty) => {
        impl Replicate for $component {
            const KIND: ComponentKind = <$wire as Replicate>::KIND;
            const NAME: &'static str = <$wire as Replicate>::NAME;
            const FIELDS: &'static [FieldDecl] = <$wire as Replicate>::FIELDS;

            fn quantize(&self, out: &mut Fields) {
                self.0.quantize(out);
            }

            fn dequantize(fields: &[i32]) -> Option<Self> {
                <$wire as Replicate>::dequantize(fields).map($component)
            }
        }
    };
}

/// Position and facing (replicated).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Body(pub arena::Transform2);
replicate_as!(Body => arena::Transform2);

/// Hit points (replicated).
#[derive(Component, Clone, Copy, Debug)]
pub struct Health(pub arena::Health);
replicate_as!(Health => arena::Health);

/// Player, drone or projectile (replicated).
#[derive(Component, Clone, Copy, Debug)]
pub struct Kind(pub arena::EntityKind);
replicate_as!(Kind => arena::EntityKind);

/// Kills and deaths (replicated, players only).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Score(pub arena::Score);
replicate_as!(Score => arena::Score);

/// World units per second.
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Velocity(pub Vec2);

/// Collision radius in world units.
#[derive(Component, Clone, Copy, Debug)]
pub struct Radius(pub f32);

/// A connected client's avatar.
#[derive(Component, Clone, Debug)]
pub struct Player {
    /// Display name.
    pub name: String,
    /// Ticks until the weapon can fire again.
    pub fire_cooldown: u32,
    /// Whether the fire button is held this tick.
    pub trigger: bool,
    /// Whether the rail button was held last tick: the rail fires on a press, not a hold.
    pub rail_held: bool,
    /// Ticks until the rail can fire again.
    pub rail_cooldown: u32,
}

/// A dead player waiting to respawn.
#[derive(Component, Clone, Copy, Debug)]
pub struct Respawning {
    /// Ticks left.
    pub ticks_left: u32,
}

/// A wandering NPC.
#[derive(Component, Clone, Copy, Debug)]
pub struct Drone {
    /// Ticks until it picks a new heading.
    pub turn_in: u32,
}

/// A shot in flight.
#[derive(Component, Clone, Copy, Debug)]
pub struct Projectile {
    /// Who fired it (may have left the game since).
    pub owner: Entity,
    /// Ticks until it fizzles.
    pub ticks_left: u32,
}
