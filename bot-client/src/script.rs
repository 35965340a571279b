//! Deterministic scripted inputs, one script per game, chosen by the game the `Welcome`
//! schema names:
//!
//! - `arena`, and `drift` (which takes the arena's input): each bot wanders, turns its
//!   aim and fires;
//! - `cubes`: each bot's pusher wanders through the pile, dashing and jumping now and
//!   then;
//! - any other game: wander legs over the fields the schema declares, each held at a
//!   random value within its range (a step count, a bit set of the mask), so a bot can
//!   load a game it has no script for.
//!
//! A script counts in ticks, not wall-clock time, so the inputs of bot `i` under seed `s`
//! are the same on every run and every machine; a divergence the bots find can be
//! replayed. Every input it makes passes the game's validation.

use fastrand::Rng;
use std::f32::consts::{PI, TAU};
use tickcast_shared::arena::{self, ArenaInput};
use tickcast_shared::cubes::{self, CubesInput};
use tickcast_shared::input::{GameInput, Input, InputError, InputField, MAX_INPUT_FIELDS};
use tickcast_shared::{InputFieldSchema, Schema};

/// Share of ticks on which an arena bot holds the fire button.
const FIRE_CHANCE: f32 = 0.2;
/// Share of wander legs on which a bot stands still instead of moving.
const STAND_STILL_CHANCE: f32 = 0.15;
/// Fastest aim rotation, in radians per second, either way.
const MAX_AIM_TURN_PER_SECOND: f32 = PI;
/// Share of ticks on which a cubes bot presses dash (the server lets one in a second
/// through).
const DASH_CHANCE: f32 = 0.02;
/// Share of ticks on which a cubes bot presses jump.
const JUMP_CHANCE: f32 = 0.01;

/// The input stream of one bot: a fresh wander leg every 0.5 to 2 seconds, plus what
/// its game's script does on each tick.
#[derive(Clone, Debug)]
pub struct InputScript {
    rng: Rng,
    tick_rate: u32,
    next_seq: u32,
    ticks_until_turn: u32,
    /// The leg's stick, `[-1, 1]` on each axis.
    stick: (f32, f32),
    game: GameScript,
}

/// What differs per game.
#[derive(Clone, Debug)]
enum GameScript {
    Arena {
        aim: f32,
        aim_turn_per_tick: f32,
    },
    Cubes,
    /// A game with no script of its own: the leg's wire values, per the schema.
    Declared {
        fields: Vec<InputFieldSchema>,
        values: [f32; MAX_INPUT_FIELDS],
    },
}

impl InputScript {
    /// The script of bot `bot_index` under `seed` for the game `schema` describes, on a
    /// server stepping `tick_rate` times a second (a rate of 0 is treated as 1).
    pub fn new(schema: &Schema, seed: u64, bot_index: usize, tick_rate: u16) -> InputScript {
        let mut rng = Rng::with_seed(bot_seed(seed, bot_index));
        let game = match schema.game.as_str() {
            "arena" | "drift" => GameScript::Arena {
                aim: rng.f32() * TAU - PI,
                aim_turn_per_tick: 0.0,
            },
            "cubes" => GameScript::Cubes,
            _ => GameScript::Declared {
                fields: schema.input.iter().take(MAX_INPUT_FIELDS).cloned().collect(),
                values: [0.0; MAX_INPUT_FIELDS],
            },
        };
        InputScript {
            rng,
            tick_rate: u32::from(tick_rate.max(1)),
            next_seq: 0,
            ticks_until_turn: 0,
            stick: (0.0, 0.0),
            game,
        }
    }

    /// The script's name: the game it plays, or `"declared"` for a game without a script.
    pub fn name(&self) -> &'static str {
        match self.game {
            GameScript::Arena { .. } => "arena",
            GameScript::Cubes => "cubes",
            GameScript::Declared { .. } => "declared",
        }
    }

    /// The game's input declaration when the script knows the game, to validate against.
    pub fn fields(&self) -> Option<&'static [InputField]> {
        match self.game {
            GameScript::Arena { .. } => Some(ArenaInput::FIELDS),
            GameScript::Cubes => Some(CubesInput::FIELDS),
            GameScript::Declared { .. } => None,
        }
    }

    /// Checks `input` against the game's declaration (a script bug if it fails); inputs of
    /// a game without a script are valid by construction.
    pub fn validate(&self, input: &Input) -> Result<(), InputError> {
        self.fields().map_or(Ok(()), |fields| input.validate(fields))
    }

    /// The next tick's input; `seq` counts up from 0, and no view tick is claimed.
    pub fn next_input(&mut self) -> Input {
        if self.ticks_until_turn == 0 {
            self.start_new_leg();
        }
        self.ticks_until_turn -= 1;
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let (move_x, move_y) = self.stick;
        match &mut self.game {
            GameScript::Arena { aim, aim_turn_per_tick } => {
                *aim = wrap_angle(*aim + *aim_turn_per_tick);
                let fire = self.rng.f32() < FIRE_CHANCE;
                ArenaInput {
                    move_x,
                    move_y,
                    aim: *aim,
                    buttons: if fire { arena::buttons::FIRE } else { 0 },
                }
                .to_input(seq, None)
            }
            GameScript::Cubes => {
                let mut buttons = 0;
                if self.rng.f32() < DASH_CHANCE {
                    buttons |= cubes::buttons::DASH;
                }
                if self.rng.f32() < JUMP_CHANCE {
                    buttons |= cubes::buttons::JUMP;
                }
                CubesInput {
                    move_x,
                    move_z: move_y,
                    buttons,
                }
                .to_input(seq, None)
            }
            GameScript::Declared { fields, values } => Input::with_values(seq, None, &values[..fields.len()]),
        }
    }

    /// Picks the direction and speed of the next 0.5 to 2 seconds, and what else the game
    /// holds for a leg.
    fn start_new_leg(&mut self) {
        let (shortest, longest) = ((self.tick_rate / 2).max(1), self.tick_rate * 2);
        self.ticks_until_turn = self.rng.u32(shortest..=longest);
        let speed = if self.rng.f32() < STAND_STILL_CHANCE {
            0.0
        } else {
            0.5 + 0.5 * self.rng.f32()
        };
        let heading = self.rng.f32() * TAU - PI;
        self.stick = (
            (heading.cos() * speed).clamp(-1.0, 1.0),
            (heading.sin() * speed).clamp(-1.0, 1.0),
        );
        match &mut self.game {
            GameScript::Arena { aim_turn_per_tick, .. } => {
                let turn_per_second = (self.rng.f32() * 2.0 - 1.0) * MAX_AIM_TURN_PER_SECOND;
                *aim_turn_per_tick = turn_per_second / self.tick_rate as f32;
            }
            GameScript::Cubes => {}
            GameScript::Declared { fields, values } => {
                for (field, value) in fields.iter().zip(values.iter_mut()) {
                    *value = random_wire_value(&mut self.rng, field);
                }
            }
        }
    }
}

/// A random wire value the server accepts for `field`: a float within its range, a step
/// count whose value is within it, or a set of the mask's bits. A field the script cannot
/// make sense of (an unknown kind, an empty range) is sent as the value nearest 0 within
/// its range.
fn random_wire_value(rng: &mut Rng, field: &InputFieldSchema) -> f32 {
    let (min, max) = (field.min as f32, field.max as f32);
    if !(min.is_finite() && max.is_finite() && min <= max) {
        return 0.0;
    }
    match field.kind.as_str() {
        "float" => min + (max - min) * rng.f32(),
        "step" if field.step > 0.0 => {
            let step = field.step as f32;
            let (low, high) = ((min / step).ceil(), (max / step).floor());
            if low > high {
                return 0.0;
            }
            let count = (low + ((high - low + 1.0) * rng.f32()).floor()).min(high);
            // The server checks `count * step` in float 32, as here.
            if (min..=max).contains(&(count * step)) {
                count
            } else {
                low
            }
        }
        "bits" => (rng.u32(..) & (max as u32)) as f32,
        _ => min.max(0.0).min(max),
    }
}

/// Wraps an angle into `[-π, π]`, well inside the `[-2π, 2π]` the server accepts.
fn wrap_angle(angle: f32) -> f32 {
    (angle + PI).rem_euclid(TAU) - PI
}

/// Mixes the run's seed and a bot's index into that bot's seed (splitmix64), so that
/// neighbouring indices and seeds give unrelated streams.
fn bot_seed(seed: u64, bot_index: usize) -> u64 {
    splitmix64(seed ^ splitmix64(bot_index as u64))
}

fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(game: &str) -> Schema {
        let fields: &[InputField] = match game {
            "cubes" => CubesInput::FIELDS,
            _ => ArenaInput::FIELDS,
        };
        Schema {
            game: game.to_owned(),
            components: Vec::new(),
            input: fields.iter().map(InputField::schema).collect(),
        }
    }

    fn inputs(game: &str, seed: u64, bot_index: usize, tick_rate: u16, count: usize) -> Vec<Input> {
        let mut script = InputScript::new(&schema(game), seed, bot_index, tick_rate);
        (0..count).map(|_| script.next_input()).collect()
    }

    fn arena(input: &Input) -> ArenaInput {
        ArenaInput::from_values(input.values())
    }

    #[test]
    fn the_game_in_the_schema_picks_the_script() {
        assert_eq!(InputScript::new(&schema("arena"), 1, 0, 60).name(), "arena");
        assert_eq!(InputScript::new(&schema("cubes"), 1, 0, 60).name(), "cubes");
        let unknown = Schema {
            game: "chess".into(),
            ..schema("cubes")
        };
        assert_eq!(InputScript::new(&unknown, 1, 0, 60).name(), "declared");
    }

    #[test]
    fn the_same_seed_and_index_give_the_same_inputs() {
        for game in ["arena", "cubes"] {
            assert_eq!(inputs(game, 7, 3, 60, 2_000), inputs(game, 7, 3, 60, 2_000));
        }
    }

    #[test]
    fn other_indices_and_seeds_give_other_inputs() {
        let reference = inputs("arena", 7, 3, 60, 200);
        assert_ne!(reference, inputs("arena", 7, 4, 60, 200));
        assert_ne!(reference, inputs("arena", 8, 3, 60, 200));
    }

    #[test]
    fn seqs_count_up_from_zero() {
        let seqs: Vec<u32> = inputs("cubes", 1, 0, 20, 100).iter().map(|input| input.seq).collect();
        assert_eq!(seqs, (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn every_input_passes_validation() {
        for game in ["arena", "cubes"] {
            for tick_rate in [0, 1, 20, 60, 128, u16::MAX] {
                for seed in 0..8 {
                    for bot_index in 0..8 {
                        let script = InputScript::new(&schema(game), seed, bot_index, tick_rate);
                        for input in inputs(game, seed, bot_index, tick_rate, 1_000) {
                            assert_eq!(script.validate(&input), Ok(()), "{input:?} at tick rate {tick_rate}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_game_without_a_script_gets_valid_inputs_from_its_declaration() {
        // Declared as the cubes game is, under another name: validated with its fields.
        let unknown = Schema {
            game: "pushers".into(),
            ..schema("cubes")
        };
        let mut script = InputScript::new(&unknown, 5, 1, 60);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..3_000 {
            let input = script.next_input();
            assert_eq!(input.validate(CubesInput::FIELDS), Ok(()), "{input:?}");
            distinct.insert(input.values().iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
        assert!(distinct.len() > 20, "only {} distinct inputs", distinct.len());
    }

    #[test]
    fn cubes_bots_wander_and_dash_and_jump_now_and_then() {
        let inputs = inputs("cubes", 2, 0, 60, 60 * 60);
        let with = |bit: u32| {
            inputs
                .iter()
                .filter(|input| CubesInput::from_values(input.values()).buttons & bit != 0)
                .count()
        };
        let (dashes, jumps) = (with(cubes::buttons::DASH), with(cubes::buttons::JUMP));
        assert!((20..120).contains(&dashes), "{dashes} dashes");
        assert!((10..70).contains(&jumps), "{jumps} jumps");
        let moving = inputs
            .iter()
            .filter(|input| {
                let input = CubesInput::from_values(input.values());
                (input.move_x, input.move_z) != (0.0, 0.0)
            })
            .count();
        assert!(moving > inputs.len() / 2, "moving on {moving} ticks");
    }

    #[test]
    fn arena_bots_wander_turn_their_aim_and_fire_about_a_fifth_of_the_time() {
        let tick_rate = 60;
        let inputs: Vec<ArenaInput> = inputs("arena", 1, 0, tick_rate, 60 * 60).iter().map(arena).collect();
        let fired = inputs
            .iter()
            .filter(|input| input.buttons & arena::buttons::FIRE != 0)
            .count();
        let fire_share = fired as f32 / inputs.len() as f32;
        assert!((0.15..0.25).contains(&fire_share), "fired on {fire_share} of ticks");
        let direction_changes = inputs
            .windows(2)
            .filter(|pair| (pair[0].move_x, pair[0].move_y) != (pair[1].move_x, pair[1].move_y))
            .count();
        // One leg lasts 0.5 to 2 s, so a minute holds 30 to 120 legs.
        assert!(
            (29..=120).contains(&direction_changes),
            "{direction_changes} direction changes"
        );
        let longest_moving_leg_ticks = inputs
            .chunk_by(|a, b| (a.move_x, a.move_y) == (b.move_x, b.move_y))
            .filter(|leg| (leg[0].move_x, leg[0].move_y) != (0.0, 0.0))
            .map(<[ArenaInput]>::len)
            .max()
            .unwrap_or(0);
        assert!(
            longest_moving_leg_ticks <= 2 * usize::from(tick_rate),
            "a leg of {longest_moving_leg_ticks} ticks"
        );
        let aims_differ = inputs.windows(2).filter(|pair| pair[0].aim != pair[1].aim).count();
        assert!(
            aims_differ > inputs.len() / 2,
            "aim changed on only {aims_differ} ticks"
        );
    }

    #[test]
    fn wrapped_angles_stay_in_half_a_turn_either_way() {
        for angle in [-100.0, -TAU, -PI, -1.0, 0.0, 1.0, PI, TAU, 100.0] {
            let wrapped = wrap_angle(angle);
            assert!((-PI..=PI).contains(&wrapped), "{angle} wrapped to {wrapped}");
            assert!(((wrapped - angle) / TAU - ((wrapped - angle) / TAU).round()).abs() < 1e-4);
        }
    }
}
