//! Inputs declared by the game.
//!
//! A game declares its input once, as a list of [`InputField`]s (usually through the
//! [`game_input!`](crate::game_input) macro, which also writes the struct the game's
//! systems read). From that declaration follow:
//!
//! - the wire: an `Input` message is `[seq, view_tick, values...]`, one value per field in
//!   declared order, each in the form its [`InputKind`] says (a float, a step count, a
//!   bit set);
//! - validation: [`Input::validate`] checks count, finiteness, range, integrality and
//!   bits, naming the field that fails;
//! - the `Welcome` schema's input part ([`InputField::schema`]), from which generic
//!   clients write any game's inputs;
//! - how the engine folds a skipped input into the next one ([`Input::fold_into`]: bit
//!   sets are or-ed, so a press between two ticks is not lost).
//!
//! The engine stores and forwards [`Input`]s in wire form, fixed-size and `Copy`, so no
//! game type leaks into buffering, acks and folding; a system turns one into the game's
//! type with [`GameInput::from_values`].

use crate::schema::InputFieldSchema;
use crate::tick::Tick;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most fields an input may declare.
pub const MAX_INPUT_FIELDS: usize = 8;

/// Largest magnitude of an integer value on the wire (a step count or a bit set): every
/// integer up to it is exact in an `f32`, the form inputs are held in.
pub const MAX_INPUT_INTEGER: f32 = 16_777_216.0;

/// What one input field holds and how the wire carries it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InputKind {
    /// A float 32 within `[min, max]`, sent as is.
    Float,
    /// A multiple of the step within `[min, max]`, sent as the integer count of steps: the
    /// value is `count as f32 * step`, computed the same way on every side, so client
    /// prediction and server agree bit for bit.
    Step(f32),
    /// A set of bits, sent as an unsigned integer that may only hold bits of the mask.
    Bits(u32),
}

/// One field of a game's input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputField {
    /// The field's name, announced in the schema and named in validation errors.
    pub name: &'static str,
    /// Smallest value accepted (in game units; 0 for bits).
    pub min: f32,
    /// Largest value accepted (in game units; the mask for bits).
    pub max: f32,
    /// The field's kind.
    pub kind: InputKind,
}

impl InputField {
    /// A float 32 field within `[min, max]`.
    pub const fn float(name: &'static str, min: f32, max: f32) -> InputField {
        InputField {
            name,
            min,
            max,
            kind: InputKind::Float,
        }
    }

    /// A field of `step`s within `[min, max]`, sent as the step count.
    pub const fn step(name: &'static str, min: f32, max: f32, step: f32) -> InputField {
        InputField {
            name,
            min,
            max,
            kind: InputKind::Step(step),
        }
    }

    /// A bit set of `mask`'s bits.
    ///
    /// # Panics
    /// At compile time (in a `const`), if the mask does not fit [`MAX_INPUT_INTEGER`].
    pub const fn bits(name: &'static str, mask: u32) -> InputField {
        assert!(mask < (1 << 24), "an input bit mask must fit 24 bits");
        InputField {
            name,
            min: 0.0,
            max: mask as f32,
            kind: InputKind::Bits(mask),
        }
    }

    /// Checks one wire value against the declaration.
    pub fn check(&self, wire: f32) -> Result<(), InputError> {
        let field = self.name;
        if !wire.is_finite() {
            return Err(InputError::NotFinite { field });
        }
        let integer = || {
            if wire.fract() != 0.0 || wire.abs() > MAX_INPUT_INTEGER {
                Err(InputError::NotAnInteger { field, value: wire })
            } else {
                Ok(())
            }
        };
        let in_range = |value: f32| {
            if (self.min..=self.max).contains(&value) {
                Ok(())
            } else {
                Err(InputError::OutOfRange { field, value })
            }
        };
        match self.kind {
            InputKind::Float => in_range(wire),
            InputKind::Step(step) => {
                integer()?;
                in_range(wire * step)
            }
            InputKind::Bits(mask) => {
                integer()?;
                if wire < 0.0 || (wire as u32) & !mask != 0 {
                    return Err(InputError::UnknownBits {
                        field,
                        value: wire as i64,
                    });
                }
                Ok(())
            }
        }
    }

    /// The field as the `Welcome` schema announces it.
    pub fn schema(&self) -> InputFieldSchema {
        let (kind, step) = match self.kind {
            InputKind::Float => ("float", 0.0),
            InputKind::Step(step) => ("step", f64::from(step)),
            InputKind::Bits(_) => ("bits", 1.0),
        };
        InputFieldSchema {
            name: self.name.to_owned(),
            kind: kind.to_owned(),
            min: f64::from(self.min),
            max: f64::from(self.max),
            step,
        }
    }
}

/// A game's input type: a struct whose fields mirror its [`InputField`] declaration.
/// Write it with [`game_input!`](crate::game_input) rather than by hand.
pub trait GameInput: Copy + Default + Send + Sync + 'static {
    /// The fields, in wire order.
    const FIELDS: &'static [InputField];

    /// The game's value of validated wire values (in [`GameInput::FIELDS`] order).
    fn from_values(values: &[f32]) -> Self;

    /// The wire values of this input, into `out` (in [`GameInput::FIELDS`] order).
    fn to_values(&self, out: &mut [f32]);

    /// This input as a message with the given `seq` and view tick.
    fn to_input(&self, seq: u32, view_tick: Option<Tick>) -> Input {
        let mut input = Input::new(seq, view_tick, Self::FIELDS.len());
        self.to_values(&mut input.values[..Self::FIELDS.len()]);
        input
    }
}

/// How a typed field converts to and from its wire value; implemented for the types
/// [`game_input!`](crate::game_input) gives fields (`f32` and `u32`).
pub trait InputValue: Sized {
    /// The game's value of a validated wire value.
    fn from_wire(field: &InputField, wire: f32) -> Self;
    /// The wire value of `self` (rounded to the field's step, clamped to its range).
    fn to_wire(&self, field: &InputField) -> f32;
}

impl InputValue for f32 {
    fn from_wire(field: &InputField, wire: f32) -> f32 {
        match field.kind {
            InputKind::Step(step) => wire * step,
            InputKind::Float | InputKind::Bits(_) => wire,
        }
    }

    fn to_wire(&self, field: &InputField) -> f32 {
        let value = if self.is_finite() { *self } else { 0.0 }.clamp(field.min, field.max);
        match field.kind {
            InputKind::Step(step) => {
                // The count whose product lies in range: rounding may overshoot an edge
                // that is not a multiple of the step.
                let count = (value / step).round();
                if (field.min..=field.max).contains(&(count * step)) {
                    count
                } else {
                    count - (count * step - value).signum()
                }
            }
            InputKind::Float | InputKind::Bits(_) => value,
        }
    }
}

impl InputValue for u32 {
    fn from_wire(_field: &InputField, wire: f32) -> u32 {
        wire as u32
    }

    fn to_wire(&self, field: &InputField) -> f32 {
        match field.kind {
            InputKind::Bits(mask) => (self & mask) as f32,
            InputKind::Float | InputKind::Step(_) => (*self as f32).clamp(field.min, field.max),
        }
    }
}

/// Declares a game's input: the struct its systems read and its [`GameInput`]
/// implementation, from one list of fields. Each field is `name: kind(args)` with a kind
/// of [`InputField`]'s constructors: `float(min, max)` and `step(min, max, step)` give
/// an `f32`, `bits(mask)` a `u32`.
///
/// ```
/// tickcast_shared::game_input! {
///     /// One tick of a racing game's input.
///     pub struct DriveInput {
///         /// Steering, full left to full right, in 1/64 steps.
///         steer: step(-1.0, 1.0, 1.0 / 64.0),
///         /// Throttle.
///         throttle: float(0.0, 1.0),
///         /// Held buttons: 1 = brake, 2 = boost.
///         buttons: bits(0b11),
///     }
/// }
/// use tickcast_shared::input::GameInput;
/// assert_eq!(DriveInput::FIELDS[0].name, "steer");
/// let input = DriveInput { steer: 0.5, throttle: 1.0, buttons: 2 }.to_input(7, None);
/// assert_eq!(input.values(), [32.0, 1.0, 2.0]);
/// assert!(input.validate(DriveInput::FIELDS).is_ok());
/// assert_eq!(DriveInput::from_values(input.values()).steer, 0.5);
/// ```
#[macro_export]
macro_rules! game_input {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field:ident : $kind:ident ( $($arg:expr),* $(,)? ) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $crate::game_input!(@type $kind), )*
        }

        impl $crate::input::GameInput for $name {
            const FIELDS: &'static [$crate::input::InputField] = &[
                $( $crate::input::InputField::$kind(stringify!($field), $($arg),*), )*
            ];

            fn from_values(values: &[f32]) -> Self {
                // Struct fields are evaluated in the order written, the declared order.
                let mut wire = Self::FIELDS.iter().zip(values.iter().copied());
                $name {
                    $( $field: wire.next().map_or_else(Default::default, |(field, value)| {
                        $crate::input::InputValue::from_wire(field, value)
                    }), )*
                }
            }

            fn to_values(&self, out: &mut [f32]) {
                let mut slots = out.iter_mut().zip(Self::FIELDS);
                $( if let Some((slot, field)) = slots.next() {
                    *slot = $crate::input::InputValue::to_wire(&self.$field, field);
                } )*
            }
        }
    };
    (@type float) => { f32 };
    (@type step) => { f32 };
    (@type bits) => { u32 };
}

/// One tick of input as the wire carries it: `seq`, the tick the client was viewing, and
/// the game's values in wire form. Fixed-size and `Copy`, so buffering never allocates.
///
/// Wire: `[seq, view_tick, values...]`, with `view_tick` nil when the client shows no
/// world yet (or does not say).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Input {
    /// Increases by one per input; wrapping.
    pub seq: u32,
    /// The tick of the world the client was showing when it acted (its interpolated render
    /// tick), for lag compensation.
    pub view_tick: Option<Tick>,
    len: u8,
    values: [f32; MAX_INPUT_FIELDS],
}

impl Input {
    /// An input of `len` zero values.
    ///
    /// # Panics
    /// If `len` exceeds [`MAX_INPUT_FIELDS`].
    pub fn new(seq: u32, view_tick: Option<Tick>, len: usize) -> Input {
        assert!(
            len <= MAX_INPUT_FIELDS,
            "an input holds at most {MAX_INPUT_FIELDS} fields"
        );
        Input {
            seq,
            view_tick,
            len: len as u8,
            values: [0.0; MAX_INPUT_FIELDS],
        }
    }

    /// An input of the given wire values.
    ///
    /// # Panics
    /// If there are more than [`MAX_INPUT_FIELDS`] values.
    pub fn with_values(seq: u32, view_tick: Option<Tick>, values: &[f32]) -> Input {
        let mut input = Input::new(seq, view_tick, values.len());
        input.values[..values.len()].copy_from_slice(values);
        input
    }

    /// The wire values, in declared order.
    pub fn values(&self) -> &[f32] {
        &self.values[..usize::from(self.len)]
    }

    /// Checks the values against the game's declaration; only inputs that pass may reach a
    /// simulation.
    pub fn validate(&self, fields: &[InputField]) -> Result<(), InputError> {
        if self.values().len() != fields.len() {
            return Err(InputError::FieldCount {
                expected: fields.len(),
                got: self.values().len(),
            });
        }
        fields
            .iter()
            .zip(self.values())
            .try_for_each(|(field, value)| field.check(*value))
    }

    /// Folds `self`, an input the engine skips, into `next`: bit sets are or-ed so a
    /// press is not lost; every other field keeps `next`'s value.
    pub fn fold_into(&self, next: &mut Input, fields: &[InputField]) {
        for ((field, skipped), kept) in fields.iter().zip(self.values()).zip(&mut next.values) {
            if let InputKind::Bits(_) = field.kind {
                *kept = (*skipped as u32 | *kept as u32) as f32;
            }
        }
    }
}

impl Serialize for Input {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut tuple = serializer.serialize_tuple(2 + self.values().len())?;
        tuple.serialize_element(&self.seq)?;
        tuple.serialize_element(&self.view_tick.map(|tick| tick.0))?;
        for value in self.values() {
            // Integral values go as integers (a step count or a bit set must; a float
            // that happens to be whole is smaller so too, and reads back the same).
            if value.fract() == 0.0 && value.abs() <= MAX_INPUT_INTEGER {
                tuple.serialize_element(&(*value as i32))?;
            } else {
                tuple.serialize_element(value)?;
            }
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Input;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an input array [seq, view_tick, values...]")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Input, A::Error> {
                use serde::de::Error;
                let sequence: u32 = seq.next_element()?.ok_or_else(|| A::Error::custom("missing seq"))?;
                let view_tick: Option<u32> = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::custom("missing view_tick"))?;
                let mut input = Input::new(sequence, view_tick.map(Tick), 0);
                // Any MessagePack number is accepted (serde's f64 takes integers too);
                // what it must be is the declaration's business, in `validate`.
                while let Some(value) = seq.next_element::<f64>()? {
                    let Some(slot) = input.values.get_mut(usize::from(input.len)) else {
                        return Err(A::Error::custom(format!(
                            "an input has at most {MAX_INPUT_FIELDS} values"
                        )));
                    };
                    *slot = value as f32;
                    input.len += 1;
                }
                Ok(input)
            }
        }
        deserializer.deserialize_seq(Visitor)
    }
}

/// Why an input was refused before it could reach the simulation.
#[derive(Debug, Error, PartialEq)]
pub enum InputError {
    /// Not as many values as the game declares fields.
    #[error("input has {got} values, the game declares {expected}")]
    FieldCount {
        /// Fields declared.
        expected: usize,
        /// Values sent.
        got: usize,
    },
    /// NaN or infinity.
    #[error("input field {field} is not finite")]
    NotFinite {
        /// Which field.
        field: &'static str,
    },
    /// Finite but outside the field's range.
    #[error("input field {field} = {value} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value (in game units).
        value: f32,
    },
    /// A step count or bit set that is not a whole number.
    #[error("input field {field} = {value} is not an integer")]
    NotAnInteger {
        /// Which field.
        field: &'static str,
        /// The value sent.
        value: f32,
    },
    /// Bits outside the field's mask.
    #[error("input field {field} = {value:#x} has unknown bits")]
    UnknownBits {
        /// Which field.
        field: &'static str,
        /// The value sent.
        value: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ClientMsg;
    use proptest::prelude::*;

    crate::game_input! {
        /// A test game's input.
        struct Pad {
            steer: step(-1.0, 1.0, 0.25),
            throttle: float(0.0, 1.0),
            buttons: bits(0b101),
        }
    }

    fn wire(values: &[f32]) -> Input {
        Input::with_values(1, None, values)
    }

    #[test]
    fn validation_follows_the_declaration_and_names_the_field() {
        let fields = Pad::FIELDS;
        assert!(wire(&[-4.0, 0.5, 5.0]).validate(fields).is_ok());
        assert_eq!(
            wire(&[0.0, 0.5]).validate(fields),
            Err(InputError::FieldCount { expected: 3, got: 2 })
        );
        assert_eq!(
            wire(&[5.0, 0.5, 0.0]).validate(fields),
            Err(InputError::OutOfRange {
                field: "steer",
                value: 1.25
            })
        );
        assert_eq!(
            wire(&[0.5, 0.5, 0.0]).validate(fields),
            Err(InputError::NotAnInteger {
                field: "steer",
                value: 0.5
            })
        );
        assert_eq!(
            wire(&[0.0, f32::NAN, 0.0]).validate(fields),
            Err(InputError::NotFinite { field: "throttle" })
        );
        assert_eq!(
            wire(&[0.0, 0.0, 2.0]).validate(fields),
            Err(InputError::UnknownBits {
                field: "buttons",
                value: 2
            })
        );
        assert_eq!(
            wire(&[0.0, 0.0, -1.0]).validate(fields),
            Err(InputError::UnknownBits {
                field: "buttons",
                value: -1
            })
        );
    }

    #[test]
    fn the_macro_writes_the_struct_and_its_wire_form() {
        let pad = Pad {
            steer: -0.75,
            throttle: 0.5,
            buttons: 4,
        };
        let input = pad.to_input(3, Some(Tick(90)));
        assert_eq!(input.values(), [-3.0, 0.5, 4.0]);
        assert_eq!(Pad::from_values(input.values()), pad);
        // Out of range and unknown bits are clamped and masked on the way out.
        let wild = Pad {
            steer: 9.0,
            throttle: -1.0,
            buttons: 0xff,
        };
        assert_eq!(wild.to_input(0, None).values(), [4.0, 0.0, 5.0]);
        let schema: Vec<_> = Pad::FIELDS.iter().map(InputField::schema).collect();
        assert_eq!(
            (
                schema[0].kind.as_str(),
                schema[0].step,
                schema[2].kind.as_str(),
                schema[2].max
            ),
            ("step", 0.25, "bits", 5.0)
        );
    }

    #[test]
    fn the_wire_form_carries_seq_view_tick_and_integers_as_integers() {
        let message = ClientMsg::Input(Input::with_values(7, Some(Tick(300)), &[-3.0, 0.5, 4.0]));
        let bytes = message.encode().unwrap();
        // {"i": [7, 300, -3, 0.5 (f32), 4]}
        assert_eq!(
            bytes,
            [
                0x81, 0xa1, b'i', 0x95, 0x07, 0xcd, 0x01, 0x2c, 0xfd, 0xca, 0x3f, 0x00, 0x00, 0x00, 0x04
            ]
        );
        assert_eq!(ClientMsg::decode(&bytes).unwrap(), message);
        let none = ClientMsg::Input(Input::with_values(1, None, &[]));
        assert_eq!(none.encode().unwrap(), [0x81, 0xa1, b'i', 0x92, 0x01, 0xc0]);
    }

    #[test]
    fn more_values_than_an_input_holds_are_refused() {
        let mut bytes = vec![0x81, 0xa1, b'i', 0x90 | 11, 0x01, 0xc0];
        bytes.extend([0u8; 9]);
        assert!(ClientMsg::decode(&bytes).is_err());
        assert!(
            ClientMsg::decode(&[0x81, 0xa1, b'i', 0x91, 0x01]).is_err(),
            "no view_tick"
        );
    }

    #[test]
    fn folding_ors_bits_and_keeps_the_rest_of_the_next_input() {
        let skipped = wire(&[4.0, 1.0, 1.0]);
        let mut next = wire(&[-4.0, 0.0, 4.0]);
        skipped.fold_into(&mut next, Pad::FIELDS);
        assert_eq!(next.values(), [-4.0, 0.0, 5.0]);
    }

    proptest! {
        #[test]
        fn any_typed_input_survives_the_wire_and_validates(
            steer in -2.0f32..2.0, throttle in -1.0f32..2.0, buttons: u32, seq: u32, tick: Option<u32>,
        ) {
            let pad = Pad { steer, throttle, buttons };
            let input = pad.to_input(seq, tick.map(Tick));
            prop_assert!(input.validate(Pad::FIELDS).is_ok());
            let decoded = ClientMsg::decode(&ClientMsg::Input(input).encode().unwrap()).unwrap();
            prop_assert_eq!(decoded, ClientMsg::Input(input));
            let back = Pad::from_values(input.values());
            prop_assert!((back.steer - steer.clamp(-1.0, 1.0)).abs() <= 0.125);
            prop_assert_eq!(back.throttle, throttle.clamp(0.0, 1.0));
            prop_assert_eq!(back.buttons, buttons & 0b101);
        }

        #[test]
        fn decoding_any_input_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut message = vec![0x81, 0xa1, b'i'];
            message.extend(bytes);
            let _ = ClientMsg::decode(&message);
        }
    }
}
