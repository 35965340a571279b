//! What clients of "cubes", the 3D game, write: its input.
//!
//! The game itself (its replicated components, rules and physics) lives in the server
//! (`server/src/game/cubes.rs`). Clients need no type for the components, which they
//! mirror and decode from the `Welcome` schema; the input is here so that Rust clients
//! (the bots, tests) and the server share one declaration of it.

crate::game_input! {
    /// One tick of a pusher's controls in the cubes game.
    pub struct CubesInput {
        /// Desired movement along x, full left to full right, in 1/64 steps.
        move_x: step(-1.0, 1.0, 1.0 / 64.0),
        /// Desired movement along z, in 1/64 steps.
        move_z: step(-1.0, 1.0, 1.0 / 64.0),
        /// Held buttons, a set of [`buttons`] bits.
        buttons: bits(buttons::ALL),
    }
}

/// Input button bits of [`CubesInput::buttons`].
pub mod buttons {
    /// Dash: a burst of speed, then a cooldown.
    pub const DASH: u32 = 1;
    /// Jump (from the floor): a pusher in the air passes over cubes.
    pub const JUMP: u32 = 2;
    /// Every bit a client may set.
    pub const ALL: u32 = DASH | JUMP;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::GameInput;

    #[test]
    fn the_input_travels_as_step_counts_and_bits() {
        let input = CubesInput {
            move_x: 0.5,
            move_z: -1.0,
            buttons: buttons::JUMP,
        }
        .to_input(4, None);
        assert_eq!(input.values(), [32.0, -64.0, 2.0]);
        assert!(input.validate(CubesInput::FIELDS).is_ok());
        let names: Vec<&str> = CubesInput::FIELDS.iter().map(|field| field.name).collect();
        assert_eq!(names, ["move_x", "move_z", "buttons"]);
    }
}
