//! Deterministic scripted inputs: each bot wanders, turns its aim and fires.
//!
//! The script counts in ticks, not wall-clock time, so the inputs of bot `i` under seed
//! `s` are the same on every run and every machine; a divergence the bots find can be
//! replayed. Every input it makes passes [`PlayerInput::validate`].

use fastrand::Rng;
use std::f32::consts::{PI, TAU};
use tickcast_shared::{PlayerInput, buttons};

/// Share of ticks on which a bot holds the fire button.
const FIRE_CHANCE: f32 = 0.2;
/// Share of wander legs on which a bot stands still instead of moving.
const STAND_STILL_CHANCE: f32 = 0.15;
/// Fastest aim rotation, in radians per second, either way.
const MAX_AIM_TURN_PER_SECOND: f32 = PI;

/// The input stream of one bot: a fresh direction every 0.5 to 2 seconds, an aim that
/// keeps rotating, and fire on about one tick in five.
#[derive(Clone, Debug)]
pub struct InputScript {
    rng: Rng,
    tick_rate: u32,
    next_seq: u32,
    ticks_until_turn: u32,
    move_x: f32,
    move_y: f32,
    aim: f32,
    aim_turn_per_tick: f32,
}

impl InputScript {
    /// The script of bot `bot_index` under `seed`, for a server stepping `tick_rate`
    /// times a second (a rate of 0 is treated as 1).
    pub fn new(seed: u64, bot_index: usize, tick_rate: u16) -> InputScript {
        let mut rng = Rng::with_seed(bot_seed(seed, bot_index));
        let aim = rng.f32() * TAU - PI;
        InputScript {
            rng,
            tick_rate: u32::from(tick_rate.max(1)),
            next_seq: 0,
            ticks_until_turn: 0,
            move_x: 0.0,
            move_y: 0.0,
            aim,
            aim_turn_per_tick: 0.0,
        }
    }

    /// The next tick's input; `seq` counts up from 0.
    pub fn next_input(&mut self) -> PlayerInput {
        if self.ticks_until_turn == 0 {
            self.start_new_leg();
        }
        self.ticks_until_turn -= 1;
        self.aim = wrap_angle(self.aim + self.aim_turn_per_tick);
        let fire = self.rng.f32() < FIRE_CHANCE;
        let input = PlayerInput {
            seq: self.next_seq,
            move_x: self.move_x,
            move_y: self.move_y,
            aim: self.aim,
            buttons: if fire { buttons::FIRE } else { 0 },
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        input
    }

    /// Picks the direction, speed and aim rotation of the next 0.5 to 2 seconds.
    fn start_new_leg(&mut self) {
        let (shortest, longest) = ((self.tick_rate / 2).max(1), self.tick_rate * 2);
        self.ticks_until_turn = self.rng.u32(shortest..=longest);
        let speed = if self.rng.f32() < STAND_STILL_CHANCE {
            0.0
        } else {
            0.5 + 0.5 * self.rng.f32()
        };
        let heading = self.rng.f32() * TAU - PI;
        self.move_x = (heading.cos() * speed).clamp(-1.0, 1.0);
        self.move_y = (heading.sin() * speed).clamp(-1.0, 1.0);
        let turn_per_second = (self.rng.f32() * 2.0 - 1.0) * MAX_AIM_TURN_PER_SECOND;
        self.aim_turn_per_tick = turn_per_second / self.tick_rate as f32;
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

    fn inputs(seed: u64, bot_index: usize, tick_rate: u16, count: usize) -> Vec<PlayerInput> {
        let mut script = InputScript::new(seed, bot_index, tick_rate);
        (0..count).map(|_| script.next_input()).collect()
    }

    #[test]
    fn the_same_seed_and_index_give_the_same_inputs() {
        assert_eq!(inputs(7, 3, 60, 2_000), inputs(7, 3, 60, 2_000));
    }

    #[test]
    fn other_indices_and_seeds_give_other_inputs() {
        let reference = inputs(7, 3, 60, 200);
        assert_ne!(reference, inputs(7, 4, 60, 200));
        assert_ne!(reference, inputs(8, 3, 60, 200));
    }

    #[test]
    fn seqs_count_up_from_zero() {
        let seqs: Vec<u32> = inputs(1, 0, 20, 100).iter().map(|input| input.seq).collect();
        assert_eq!(seqs, (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn every_input_passes_validation() {
        for tick_rate in [0, 1, 20, 60, 128, u16::MAX] {
            for seed in 0..8 {
                for bot_index in 0..8 {
                    for input in inputs(seed, bot_index, tick_rate, 1_000) {
                        assert_eq!(input.validate(), Ok(()), "{input:?} at tick rate {tick_rate}");
                    }
                }
            }
        }
    }

    #[test]
    fn bots_wander_turn_their_aim_and_fire_about_a_fifth_of_the_time() {
        let tick_rate = 60;
        let inputs = inputs(1, 0, tick_rate, 60 * 60);
        let fired = inputs.iter().filter(|input| input.buttons & buttons::FIRE != 0).count();
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
            .map(<[PlayerInput]>::len)
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
