//! Wire types of the reference game, "arena": what its replicated components mean.
//!
//! The server's arena components delegate to these types for quantization, and clients
//! decode snapshots with them, so the layout is written once. A game of your own defines
//! its own module like this one; the engine needs no change.

use crate::input::GameInput;
use crate::quantize::{AngleQuantizer, Vec2Quantizer};
use crate::replicate::Replicate;
use crate::schema::FieldDecl;
use crate::state::{ComponentKind, Fields};
use glam::Vec2;

/// Positions: 1/100 of a world unit, within ±10 000 units (the quantizer declared for
/// [`Transform2`]; a game picks its own per component).
pub const POSITION: Vec2Quantizer = Vec2Quantizer::new(0.01, -10_000.0, 10_000.0);
/// Facing: 2^12 steps per turn.
pub const FACING: AngleQuantizer = AngleQuantizer::new(12);

/// Where an entity is and where it faces. Fields: `[x * 100, y * 100, angle (12 bits)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Transform2 {
    /// World position.
    pub position: Vec2,
    /// Facing in radians.
    pub angle: f32,
}

impl Transform2 {
    /// This transform as clients will see it (quantized and back).
    #[must_use]
    pub fn quantized(self) -> Transform2 {
        let mut fields = Fields::new();
        self.quantize(&mut fields);
        Transform2::dequantize(&fields).unwrap_or_default()
    }
}

impl Replicate for Transform2 {
    const KIND: ComponentKind = ComponentKind(0);
    const NAME: &'static str = "Transform2";
    const FIELDS: &'static [FieldDecl] = &[
        FieldDecl::linear("x", POSITION.axis().step() as f64),
        FieldDecl::linear("y", POSITION.axis().step() as f64),
        FieldDecl::angle("angle", FACING.bits()),
    ];

    fn quantize(&self, out: &mut Fields) {
        POSITION.quantize(self.position, out);
        out.push(FACING.quantize(self.angle));
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        let [x, y, facing] = *fields else { return None };
        Some(Transform2 {
            position: POSITION.dequantize(&[x, y])?,
            angle: FACING.try_dequantize(facing)?,
        })
    }
}

/// Hit points. Fields: `[hp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health(pub u8);

impl Replicate for Health {
    const KIND: ComponentKind = ComponentKind(1);
    const NAME: &'static str = "Health";
    const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("hp")];

    fn quantize(&self, out: &mut Fields) {
        out.push(i32::from(self.0));
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        let [hp] = *fields else { return None };
        u8::try_from(hp).ok().map(Health)
    }
}

/// What an entity is. Fields: `[0 = player, 1 = drone, 2 = projectile]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    /// A connected client's avatar.
    Player,
    /// A wandering NPC.
    Drone,
    /// A shot in flight.
    Projectile,
}

impl Replicate for EntityKind {
    const KIND: ComponentKind = ComponentKind(2);
    const NAME: &'static str = "EntityKind";
    const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("kind")];

    fn quantize(&self, out: &mut Fields) {
        out.push(*self as i32);
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        match *fields {
            [0] => Some(EntityKind::Player),
            [1] => Some(EntityKind::Drone),
            [2] => Some(EntityKind::Projectile),
            _ => None,
        }
    }
}

/// A player's tally. Fields: `[kills, deaths]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Score {
    /// Players and drones this player destroyed.
    pub kills: u32,
    /// Times this player was destroyed.
    pub deaths: u32,
}

impl Replicate for Score {
    const KIND: ComponentKind = ComponentKind(3);
    const NAME: &'static str = "Score";
    const FIELDS: &'static [FieldDecl] = &[FieldDecl::integer("kills"), FieldDecl::integer("deaths")];

    fn quantize(&self, out: &mut Fields) {
        out.extend([self.kills as i32, self.deaths as i32]);
    }

    fn dequantize(fields: &[i32]) -> Option<Self> {
        let [kills, deaths] = *fields else { return None };
        Some(Score {
            kills: kills as u32,
            deaths: deaths as u32,
        })
    }
}

/// Input button bits of [`ArenaInput::buttons`].
pub mod buttons {
    /// Fire a projectile (held: repeats at the fire interval).
    pub const FIRE: u32 = 1;
    /// Fire the hitscan rail (once per press), resolved where the shooter saw its
    /// targets: lag-compensated at the input's view tick.
    pub const RAIL: u32 = 2;
    /// Every bit a client may set.
    pub const ALL: u32 = FIRE | RAIL;
}

crate::game_input! {
    /// One tick of the arena's input.
    pub struct ArenaInput {
        /// Desired movement, full left to full right.
        move_x: float(-1.0, 1.0),
        /// Desired movement, full down to full up.
        move_y: float(-1.0, 1.0),
        /// Aim direction in radians.
        aim: float(-std::f32::consts::TAU, std::f32::consts::TAU),
        /// Held buttons, a set of [`buttons`] bits.
        buttons: bits(buttons::ALL),
    }
}

/// The arena's `Welcome` schema: its four components and the input. The server builds
/// the same from what the game registers; this is the reference clients and tests use.
pub fn schema() -> crate::schema::Schema {
    use crate::schema::ComponentSchema;
    crate::schema::Schema {
        game: "arena".to_owned(),
        components: vec![
            ComponentSchema::of::<Transform2>(),
            ComponentSchema::of::<Health>(),
            ComponentSchema::of::<EntityKind>(),
            ComponentSchema::of::<Score>(),
        ],
        input: ArenaInput::FIELDS
            .iter()
            .map(crate::input::InputField::schema)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn transform_quantization_is_idempotent(x in -5000.0f32..5000.0, y in -5000.0f32..5000.0, a in -7.0f32..7.0) {
            let once = Transform2 { position: Vec2::new(x, y), angle: a }.quantized();
            prop_assert_eq!(once.quantized(), once);
            prop_assert!((once.position - Vec2::new(x, y)).length() < 0.01);
        }
    }

    #[test]
    fn malformed_fields_are_refused() {
        assert_eq!(Health::dequantize(&[300]), None);
        assert_eq!(EntityKind::dequantize(&[9]), None);
        assert_eq!(Transform2::dequantize(&[1, 2]), None);
        assert_eq!(Score::dequantize(&[1, 2]), Some(Score { kills: 1, deaths: 2 }));
    }
}
