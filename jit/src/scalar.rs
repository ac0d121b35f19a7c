//! C scalar types as machine values: which cranelift type holds a value of a [`CType`].

use cranelift_codegen::ir::{types, Type};
use upstare_meta::CType;

/// The machine view of a C scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// `_Bool`: one byte holding 0 or 1.
    Bool,
    /// Integers and enums: `bytes` is 1, 2, 4, 8 or 16.
    Int { bytes: u8, signed: bool },
    /// `float` (4) or `double` (8).
    Float { bytes: u8 },
    /// Any pointer: 8 bytes.
    Ptr,
}

impl Scalar {
    /// The scalar of a resolved C type; `Err` says why it is none (or not supported).
    pub fn of(t: &CType) -> Result<Scalar, String> {
        match t {
            CType::Bool => Ok(Scalar::Bool),
            CType::Int { bytes, signed } => match bytes {
                1 | 2 | 4 | 8 | 16 => Ok(Scalar::Int {
                    bytes: *bytes,
                    signed: *signed,
                }),
                b => Err(format!("no integer type has {b} bytes")),
            },
            // The checker types enums as `int` (gcc's choice unless a value needs more).
            CType::Enum(_) => Ok(Scalar::Int {
                bytes: 4,
                signed: true,
            }),
            CType::Float { bytes: 4 } | CType::Float { bytes: 8 } => Ok(Scalar::Float {
                bytes: match t {
                    CType::Float { bytes } => *bytes,
                    _ => unreachable!(),
                },
            }),
            CType::Float { .. } => Err(
                "not supported by the JIT yet: `long double` values (x87 80-bit arithmetic)"
                    .to_string(),
            ),
            CType::Pointer(_) => Ok(Scalar::Ptr),
            other => Err(format!("`{other}` is not a number or a pointer")),
        }
    }

    /// The cranelift type holding the value.
    pub fn clif(self) -> Type {
        match self {
            Scalar::Bool => types::I8,
            Scalar::Int { bytes, .. } => int_type(bytes),
            Scalar::Float { bytes: 4 } => types::F32,
            Scalar::Float { .. } => types::F64,
            Scalar::Ptr => types::I64,
        }
    }

    /// (bytes, signed) for the integer-like scalars (`_Bool` and pointers are unsigned).
    pub fn int(self) -> Option<(u8, bool)> {
        match self {
            Scalar::Bool => Some((1, false)),
            Scalar::Int { bytes, signed } => Some((bytes, signed)),
            Scalar::Ptr => Some((8, false)),
            Scalar::Float { .. } => None,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, Scalar::Float { .. })
    }

    pub fn is_signed(self) -> bool {
        matches!(self, Scalar::Int { signed: true, .. })
    }
}

pub(crate) fn int_type(bytes: u8) -> Type {
    match bytes {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        8 => types::I64,
        _ => types::I128,
    }
}
