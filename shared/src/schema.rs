//! The game's schema: what each replicated component's fields mean and what an input
//! holds, announced in the `Welcome` so that a generic client (the TypeScript SDK, a
//! debugging tool) decodes any game's snapshots without code written for that game.
//!
//! A game declares each field once, next to its quantizer ([`crate::Replicate::FIELDS`]):
//! its name, the `scale` that turns the integer on the wire into world units (metres,
//! radians, hit points) and, for angles, the `wrap` at which the integer turns over. The
//! engine gathers the declarations of every registered component into a [`Schema`].

use serde::{Deserialize, Serialize};

/// One field of a replicated component, as a game declares it (a `const`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldDecl {
    /// The field's name, e.g. `"x"`.
    pub name: &'static str,
    /// World value = wire integer × `scale`.
    pub scale: f64,
    /// 0 for a linear field; otherwise the integer lives in `[0, wrap)` and wraps around
    /// (an angle), so clients interpolate it the short way round.
    pub wrap: u32,
}

impl FieldDecl {
    /// A linear field: world value = integer × `scale`.
    pub const fn linear(name: &'static str, scale: f64) -> FieldDecl {
        FieldDecl { name, scale, wrap: 0 }
    }

    /// An integer field taken as is (a count, an enum, hit points).
    pub const fn integer(name: &'static str) -> FieldDecl {
        FieldDecl::linear(name, 1.0)
    }

    /// An angle quantized to `bits` bits per turn: radians = integer × 2π / 2^bits.
    pub const fn angle(name: &'static str, bits: u32) -> FieldDecl {
        let steps = 1u32 << bits;
        FieldDecl {
            name,
            scale: std::f64::consts::TAU / steps as f64,
            wrap: steps,
        }
    }
}

/// Wire form of one field: `[name, scale, wrap]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// The field's name.
    pub name: String,
    /// World value = wire integer × `scale`.
    pub scale: f64,
    /// 0: linear; otherwise the integer wraps at this value.
    pub wrap: u32,
}

impl From<&FieldDecl> for FieldSchema {
    fn from(decl: &FieldDecl) -> FieldSchema {
        FieldSchema {
            name: decl.name.to_owned(),
            scale: decl.scale,
            wrap: decl.wrap,
        }
    }
}

/// Wire form of one replicated component: `[kind, name, fields]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentSchema {
    /// Its [`crate::ComponentKind`] number.
    pub kind: u8,
    /// Its name, e.g. `"Transform2"`.
    pub name: String,
    /// Its fields in wire order.
    pub fields: Vec<FieldSchema>,
}

impl ComponentSchema {
    /// The schema `R` declares.
    pub fn of<R: crate::Replicate>() -> ComponentSchema {
        ComponentSchema {
            kind: R::KIND.0,
            name: R::NAME.to_owned(),
            fields: R::FIELDS.iter().map(FieldSchema::from).collect(),
        }
    }
}

/// Wire form of one input field (after `seq` and `view_tick`):
/// `[name, kind, min, max, step]`, from the game's declaration
/// ([`crate::input::InputField::schema`]):
///
/// - `"float"`: a float 32 within `[min, max]`; `step` is 0;
/// - `"step"`: the integer count `k` of `step`s, with `k * step` (in float 32) within
///   `[min, max]`;
/// - `"bits"`: an unsigned integer holding only bits of the mask `max`; `min` is 0 and
///   `step` 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputFieldSchema {
    /// The field's name.
    pub name: String,
    /// `"float"`, `"step"` or `"bits"`.
    pub kind: String,
    /// Smallest value accepted.
    pub min: f64,
    /// Largest value accepted (the mask, for bits).
    pub max: f64,
    /// The step (0 for a float, 1 for bits).
    pub step: f64,
}

/// Everything a generic client needs to read a game's snapshots and write its inputs:
/// `[game, components, input]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    /// The game's name, e.g. `"arena"`.
    pub game: String,
    /// Every replicated component, sorted by kind.
    pub components: Vec<ComponentSchema>,
    /// The input's fields after `seq` and `view_tick`, in wire order.
    pub input: Vec<InputFieldSchema>,
}

impl Schema {
    /// The component of `kind`, if the game replicates one.
    pub fn component(&self, kind: u8) -> Option<&ComponentSchema> {
        self.components
            .binary_search_by_key(&kind, |component| component.kind)
            .ok()
            .map(|at| &self.components[at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_angle_field_scales_to_radians_and_wraps_at_its_step_count() {
        let angle = FieldDecl::angle("angle", 12);
        assert_eq!(angle.wrap, 4096);
        assert!((f64::from(angle.wrap) * angle.scale - std::f64::consts::TAU).abs() < 1e-12);
        assert_eq!(FieldDecl::integer("hp"), FieldDecl::linear("hp", 1.0));
    }

    #[test]
    fn a_schema_encodes_as_nested_arrays() {
        let schema = Schema {
            game: "g".into(),
            components: vec![ComponentSchema {
                kind: 1,
                name: "C".into(),
                fields: vec![FieldSchema::from(&FieldDecl::integer("n"))],
            }],
            input: vec![InputFieldSchema {
                name: "i".into(),
                kind: "float".into(),
                min: -1.0,
                max: 1.0,
                step: 0.0,
            }],
        };
        let bytes = rmp_serde::to_vec(&schema).unwrap();
        // ["g", [[1, "C", [["n", 1.0, 0]]]], [["i", "float", -1.0, 1.0, 0.0]]]
        let expected: &[u8] = &[
            0x93, 0xa1, b'g', 0x91, 0x93, 0x01, 0xa1, b'C', 0x91, 0x93, 0xa1, b'n', 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
            0x00, 0x91, 0x95, 0xa1, b'i', 0xa5, b'f', b'l', b'o', b'a', b't', 0xcb, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0, 0xcb,
            0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(bytes, expected);
        assert_eq!(rmp_serde::from_slice::<Schema>(&bytes).unwrap(), schema);
        assert_eq!(schema.component(1).map(|c| c.name.as_str()), Some("C"));
        assert!(schema.component(0).is_none());
    }
}
