//! C's typing rules on resolved [`CType`]s: integer promotion, the usual arithmetic conversions,
//! literal types, and the spec language's short type aliases. x86-64 System V sizes throughout
//! (`int` 4 bytes, `long` 8), as in `upstare_meta::ctype`.

use upstare_meta::CType;

pub const INT: CType = CType::Int {
    bytes: 4,
    signed: true,
};
pub const UINT: CType = CType::Int {
    bytes: 4,
    signed: false,
};
pub const LONG: CType = CType::Int {
    bytes: 8,
    signed: true,
};
pub const ULONG: CType = CType::Int {
    bytes: 8,
    signed: false,
};

pub fn ptr(t: CType) -> CType {
    CType::Pointer(Box::new(t))
}

/// `_Bool`, integers, enums and floats.
pub fn is_arith(t: &CType) -> bool {
    t.is_integer() || matches!(t, CType::Float { .. })
}

/// Arithmetic types and pointers: what a condition may test.
pub fn is_scalar(t: &CType) -> bool {
    is_arith(t) || matches!(t, CType::Pointer(_))
}

/// Records, arrays and named types copied as bytes (`FILE`, opaque text).
pub fn is_aggregate(t: &CType) -> bool {
    matches!(
        t,
        CType::Record { .. } | CType::Array(..) | CType::Typedef(_) | CType::Opaque(_)
    )
}

/// The integer promotion: everything narrower than `int` (and `_Bool`, enums) becomes `int`.
pub fn promote(t: &CType) -> CType {
    match t.int_repr() {
        Some((bytes, _)) if bytes < 4 => INT,
        Some(_) if matches!(t, CType::Enum(_)) => INT,
        Some((bytes, signed)) => CType::Int { bytes, signed },
        None => t.clone(),
    }
}

/// The usual arithmetic conversions: the type both operands of `+`, `<`, ... are converted to.
pub fn common(a: &CType, b: &CType) -> CType {
    if let (CType::Float { bytes: x }, CType::Float { bytes: y }) = (a, b) {
        return CType::Float { bytes: *x.max(y) };
    }
    if let CType::Float { .. } = a {
        return a.clone();
    }
    if let CType::Float { .. } = b {
        return b.clone();
    }
    let (pa, pb) = (promote(a), promote(b));
    let (Some((ba, sa)), Some((bb, sb))) = (pa.int_repr(), pb.int_repr()) else {
        return pa;
    };
    if sa == sb {
        return CType::Int {
            bytes: ba.max(bb),
            signed: sa,
        };
    }
    let (ub, sbytes) = if sa { (bb, ba) } else { (ba, bb) };
    if ub >= sbytes {
        CType::Int {
            bytes: ub,
            signed: false,
        }
    } else {
        // The signed type is wider, so it holds every value of the unsigned one.
        CType::Int {
            bytes: sbytes,
            signed: true,
        }
    }
}

/// The type C gives an integer literal.
pub fn literal_type(value: u64, unsigned: bool, long: bool, hex: bool) -> CType {
    let fits_int = value <= i32::MAX as u64;
    let fits_uint = value <= u32::MAX as u64;
    let fits_long = value <= i64::MAX as u64;
    match (unsigned, long) {
        (true, true) => ULONG,
        (true, false) if fits_uint => UINT,
        (true, false) => ULONG,
        (false, true) if fits_long => LONG,
        (false, true) => ULONG,
        (false, false) if fits_int => INT,
        (false, false) if hex && fits_uint => UINT,
        (false, false) if fits_long => LONG,
        (false, false) => ULONG,
    }
}

/// The short aliases of the spec language.
pub fn alias(name: &str) -> Option<CType> {
    let int = |bytes, signed| CType::Int { bytes, signed };
    Some(match name {
        "u8" => int(1, false),
        "u16" => int(2, false),
        "u32" => int(4, false),
        "u64" | "usize" => int(8, false),
        "i8" => int(1, true),
        "i16" => int(2, true),
        "i32" => int(4, true),
        "i64" | "isize" => int(8, true),
        "f32" => CType::Float { bytes: 4 },
        "f64" => CType::Float { bytes: 8 },
        "bool" => CType::Bool,
        _ => return None,
    })
}

/// Truncates `v` to the width of integer type `t` (sign-extending for signed types), as the
/// bits of a constant of that type.
pub fn truncate(v: u64, t: &CType) -> u64 {
    match t.int_repr() {
        Some((bytes, signed)) if bytes < 8 => {
            let bits = u32::from(bytes) * 8;
            let m = v & ((1u64 << bits) - 1);
            if signed && (m >> (bits - 1)) & 1 == 1 {
                m | !((1u64 << bits) - 1)
            } else {
                m
            }
        }
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOUBLE: CType = CType::Float { bytes: 8 };

    fn i(bytes: u8, signed: bool) -> CType {
        CType::Int { bytes, signed }
    }

    #[test]
    fn usual_arithmetic_conversions() {
        assert_eq!(common(&i(1, true), &i(2, false)), INT);
        assert_eq!(common(&INT, &UINT), UINT);
        assert_eq!(common(&LONG, &UINT), LONG);
        assert_eq!(common(&ULONG, &INT), ULONG);
        assert_eq!(common(&INT, &DOUBLE), DOUBLE);
        assert_eq!(
            common(&CType::Float { bytes: 4 }, &LONG),
            CType::Float { bytes: 4 }
        );
        assert_eq!(common(&CType::Bool, &CType::Enum("e".into())), INT);
    }

    #[test]
    fn literal_types() {
        assert_eq!(literal_type(1, false, false, false), INT);
        assert_eq!(literal_type(0x8000_0000, false, false, true), UINT);
        assert_eq!(literal_type(0x8000_0000, false, false, false), LONG);
        assert_eq!(literal_type(1, true, false, false), UINT);
        assert_eq!(literal_type(1, false, true, false), LONG);
        assert_eq!(literal_type(u64::MAX, false, false, false), ULONG);
    }

    #[test]
    fn truncation_sign_extends() {
        assert_eq!(truncate(0xff, &i(1, true)), u64::MAX);
        assert_eq!(truncate(0x1ff, &i(1, false)), 0xff);
        assert_eq!(truncate(5, &LONG), 5);
    }
}
