//! Executing a [`Conv`]: turning the bytes of an old value into the bytes of the new one.
//!
//! Pure byte manipulation for x86-64 (little-endian): copies, sign and zero extension, float
//! widening (including `long double`, the x87 80-bit format in 16 bytes), zeroing, and field by
//! field or element by element recursion. Pointer slots are handed to the caller's [`Relocate`]
//! (a pointer to an old global or function must point to the new one); NULL is kept without
//! asking. Nothing here knows where the bytes live: the runtime reads them from the old
//! version's memory and writes them into the new one's.

use crate::diff::Conv;

/// Maps an old pointer value to the new version's (the caller knows the old and new addresses
/// of globals, functions and boxes). Heap pointers usually map to themselves.
pub trait Relocate {
    fn pointer(&mut self, old_value: u64) -> Result<u64, String>;
}

/// Leaves every pointer as it is: for values known to hold no pointers into a module, and tests.
pub struct KeepPointers;

impl Relocate for KeepPointers {
    fn pointer(&mut self, old_value: u64) -> Result<u64, String> {
        Ok(old_value)
    }
}

/// Writes the new value, `conv.new_size()` bytes at the start of `new`, from the old value at
/// the start of `old` (which must hold `conv.old_size()` bytes). Bytes of `new` past the new
/// size are left alone; padding and new fields inside it are zero.
pub fn apply(
    conv: &Conv,
    old: &[u8],
    new: &mut [u8],
    reloc: &mut dyn Relocate,
) -> Result<(), String> {
    let (need_old, need_new) = (conv.old_size(), conv.new_size());
    if (old.len() as u64) < need_old {
        return Err(format!(
            "the old value has {} bytes but the plan reads {need_old}",
            old.len()
        ));
    }
    if (new.len() as u64) < need_new {
        return Err(format!(
            "the new value has {} bytes but the plan writes {need_new}",
            new.len()
        ));
    }
    match conv {
        Conv::Copy { bytes, pointers } => {
            let b = *bytes as usize;
            new[..b].copy_from_slice(&old[..b]);
            for &p in pointers {
                if p.checked_add(8).is_none_or(|end| end > *bytes) {
                    return Err(format!(
                        "pointer slot at offset {p} lies outside the {bytes} copied bytes"
                    ));
                }
                let p = p as usize;
                relocate_at(&old[p..], &mut new[p..], reloc)?;
            }
        }
        Conv::Pointer => relocate_at(old, new, reloc)?,
        Conv::Int { from, to } => {
            let value = read_int(&old[..from.0 as usize], from.1)?;
            write_int(&mut new[..to.0 as usize], value)?;
        }
        Conv::Float { from, to } => float(*from, *to, old, new)?,
        Conv::Zero { bytes } => new[..*bytes as usize].fill(0),
        Conv::Struct { new_size, fields } => {
            new[..*new_size as usize].fill(0);
            for (i, (new_off, old_off, field)) in fields.iter().enumerate() {
                let end = new_off.checked_add(field.new_size());
                if end.is_none_or(|end| end > *new_size) {
                    return Err(format!(
                        "field {i} at offset {new_off} ends past the new size {new_size}"
                    ));
                }
                let dst = &mut new[*new_off as usize..];
                let src = match old_off {
                    Some(o) => old.get(*o as usize..).ok_or_else(|| {
                        format!("field {i} reads at old offset {o}, past the old value")
                    })?,
                    None => &[],
                };
                apply(field, src, dst, reloc).map_err(|e| format!("field {i}: {e}"))?;
            }
        }
        Conv::Array {
            count,
            old_stride,
            new_stride,
            elem,
        } => {
            if elem.old_size() > *old_stride || elem.new_size() > *new_stride {
                return Err(format!(
                    "array element of {}/{} bytes does not fit strides {old_stride}/{new_stride}",
                    elem.old_size(),
                    elem.new_size()
                ));
            }
            for k in 0..*count {
                let (o, n) = ((k * old_stride) as usize, (k * new_stride) as usize);
                apply(elem, &old[o..], &mut new[n..], reloc)
                    .map_err(|e| format!("element {k}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn relocate_at(old: &[u8], new: &mut [u8], reloc: &mut dyn Relocate) -> Result<(), String> {
    let value = u64::from_le_bytes(old[..8].try_into().expect("8 bytes checked by the caller"));
    let moved = match value {
        0 => 0,
        v => reloc.pointer(v)?,
    };
    new[..8].copy_from_slice(&moved.to_le_bytes());
    Ok(())
}

fn check_int_width(bytes: usize) -> Result<(), String> {
    match bytes {
        1 | 2 | 4 | 8 | 16 => Ok(()),
        b => Err(format!("no integer type has {b} bytes")),
    }
}

/// The integer in `b` (little-endian), sign-extended when `signed`.
fn read_int(b: &[u8], signed: bool) -> Result<i128, String> {
    check_int_width(b.len())?;
    let mut wide = [0u8; 16];
    wide[..b.len()].copy_from_slice(b);
    let negative = signed && b[b.len() - 1] & 0x80 != 0;
    if negative {
        wide[b.len()..].fill(0xff);
    }
    Ok(i128::from_le_bytes(wide))
}

/// Writes the low `b.len()` bytes of `value` (truncating, as a C conversion to a narrower
/// unsigned type does).
fn write_int(b: &mut [u8], value: i128) -> Result<(), String> {
    check_int_width(b.len())?;
    let n = b.len();
    b.copy_from_slice(&value.to_le_bytes()[..n]);
    Ok(())
}

fn float(from: u8, to: u8, old: &[u8], new: &mut [u8]) -> Result<(), String> {
    let f = |n: usize| -> [u8; 8] {
        let mut a = [0u8; 8];
        a[..n].copy_from_slice(&old[..n]);
        a
    };
    let value = match from {
        4 => f64::from(f32::from_le_bytes(f(4)[..4].try_into().expect("4 bytes"))),
        8 => f64::from_le_bytes(f(8)),
        16 if to == 16 => {
            new[..16].copy_from_slice(&old[..16]);
            return Ok(());
        }
        _ => return Err(format!("no float conversion from {from} to {to} bytes")),
    };
    match to {
        4 if from == 4 => new[..4].copy_from_slice(&old[..4]),
        8 => new[..8].copy_from_slice(&value.to_le_bytes()),
        16 => {
            new[..16].fill(0);
            new[..10].copy_from_slice(&f64_to_x87(value));
        }
        _ => return Err(format!("no float conversion from {from} to {to} bytes")),
    }
    Ok(())
}

/// The x87 80-bit extended form of `v` (exact: every double is representable): 64-bit
/// significand with an explicit integer bit, 15-bit exponent biased by 16383, sign.
fn f64_to_x87(v: f64) -> [u8; 10] {
    let bits = v.to_bits();
    let sign = ((bits >> 63) as u16) << 15;
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    let (e, m): (u16, u64) = match exp {
        0 if frac == 0 => (0, 0),
        0 => {
            // Subnormal double: normalise into the wider exponent range.
            let shift = frac.leading_zeros() - 11; // bring bit 52 to the top of 53 bits
            let m = (frac << shift) << 11;
            let e = 1 - 1023 - shift as i32 + 16383;
            (e as u16, m)
        }
        0x7ff => (0x7fff, (1 << 63) | (frac << 11)),
        _ => ((exp - 1023 + 16383) as u16, (1 << 63) | (frac << 11)),
    };
    let mut out = [0u8; 10];
    out[..8].copy_from_slice(&m.to_le_bytes());
    out[8..].copy_from_slice(&(sign | e).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relocates by adding a fixed delta, recording what it saw; refuses one value.
    struct Shift {
        delta: u64,
        seen: Vec<u64>,
    }

    impl Relocate for Shift {
        fn pointer(&mut self, old: u64) -> Result<u64, String> {
            self.seen.push(old);
            if old == 0xdead {
                return Err("0xdead points into a dropped global".into());
            }
            Ok(old + self.delta)
        }
    }

    fn shift() -> Shift {
        Shift {
            delta: 0x1000,
            seen: Vec::new(),
        }
    }

    fn run(conv: &Conv, old: &[u8], new_len: usize) -> Result<Vec<u8>, String> {
        let mut new = vec![0xaa; new_len];
        apply(conv, old, &mut new, &mut shift())?;
        Ok(new)
    }

    fn int(from: (u8, bool), to: (u8, bool)) -> Conv {
        Conv::Int { from, to }
    }

    #[test]
    fn integers_extend_by_the_old_signedness() {
        let cases: [(Conv, &[u8], &[u8]); 9] = [
            (
                int((1, true), (4, true)),
                &[0xfe],
                &[0xfe, 0xff, 0xff, 0xff],
            ),
            (int((1, false), (4, true)), &[0xfe], &[0xfe, 0, 0, 0]),
            (
                int((2, true), (8, false)),
                &[0x01, 0x80],
                &[1, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                int((4, true), (8, true)),
                &(-5i32).to_le_bytes(),
                &(-5i64).to_le_bytes(),
            ),
            (
                int((4, false), (8, true)),
                &u32::MAX.to_le_bytes(),
                &u64::from(u32::MAX).to_le_bytes(),
            ),
            (
                int((4, true), (8, true)),
                &7i32.to_le_bytes(),
                &7i64.to_le_bytes(),
            ),
            (
                int((8, true), (16, true)),
                &(-2i64).to_le_bytes(),
                &(-2i128).to_le_bytes(),
            ),
            // Truncation (only a rule asks for it).
            (
                int((8, true), (4, true)),
                &0x1_0000_0007i64.to_le_bytes(),
                &7i32.to_le_bytes(),
            ),
            (int((1, false), (1, true)), &[0x80], &[0x80]),
        ];
        for (i, (conv, old, want)) in cases.iter().enumerate() {
            assert_eq!(run(conv, old, want.len()).unwrap(), *want, "case {i}");
        }
        assert!(run(&int((3, true), (4, true)), &[0; 3], 4).is_err());
    }

    #[test]
    fn floats_widen() {
        let f = Conv::Float { from: 4, to: 8 };
        let got = run(&f, &1.5f32.to_le_bytes(), 8).unwrap();
        assert_eq!(f64::from_le_bytes(got.try_into().unwrap()), 1.5);
        let got = run(&f, &(-0.1f32).to_le_bytes(), 8).unwrap();
        assert_eq!(
            f64::from_le_bytes(got.try_into().unwrap()),
            f64::from(-0.1f32)
        );
        // long double: 1.0 is significand 1<<63, exponent 16383.
        let ld = run(&Conv::Float { from: 8, to: 16 }, &1.0f64.to_le_bytes(), 16).unwrap();
        let mut want = [0u8; 16];
        want[..8].copy_from_slice(&(1u64 << 63).to_le_bytes());
        want[8..10].copy_from_slice(&16383u16.to_le_bytes());
        assert_eq!(ld, want);
        let ld = run(
            &Conv::Float { from: 4, to: 16 },
            &(-2.0f32).to_le_bytes(),
            16,
        )
        .unwrap();
        assert_eq!(&ld[8..10], &(0x8000u16 | 16384).to_le_bytes());
        assert_eq!(f64_to_x87(0.0), [0; 10]);
        assert_eq!(&f64_to_x87(f64::INFINITY)[8..], &0x7fffu16.to_le_bytes());
        assert_eq!(&f64_to_x87(f64::INFINITY)[..8], &(1u64 << 63).to_le_bytes());
        // The smallest subnormal double is 2^-1074.
        let tiny = f64_to_x87(f64::from_bits(1));
        assert_eq!(&tiny[..8], &(1u64 << 63).to_le_bytes());
        assert_eq!(
            u16::from_le_bytes([tiny[8], tiny[9]]),
            (16383 - 1074) as u16
        );
        assert!(run(&Conv::Float { from: 8, to: 4 }, &[0; 8], 4).is_err());
    }

    #[test]
    fn copies_relocate_their_pointer_slots() {
        let mut old = Vec::new();
        old.extend(7u64.to_le_bytes());
        old.extend(0x5000u64.to_le_bytes());
        old.extend(0u64.to_le_bytes());
        let conv = Conv::Copy {
            bytes: 24,
            pointers: vec![8, 16],
        };
        let mut new = vec![0; 24];
        let mut r = shift();
        apply(&conv, &old, &mut new, &mut r).unwrap();
        assert_eq!(&new[..8], &7u64.to_le_bytes());
        assert_eq!(&new[8..16], &0x6000u64.to_le_bytes());
        // NULL stays NULL without asking the relocator.
        assert_eq!(&new[16..], &[0; 8]);
        assert_eq!(r.seen, [0x5000]);
        let bad = Conv::Copy {
            bytes: 12,
            pointers: vec![8],
        };
        assert!(run(&bad, &old, 12).unwrap_err().contains("outside"));
        let refused = run(&Conv::Pointer, &0xdeadu64.to_le_bytes(), 8).unwrap_err();
        assert!(refused.contains("dropped global"), "{refused}");
    }

    #[test]
    fn structs_move_fields_zero_new_ones_and_nest() {
        // old: struct { int a; struct { char c; long *p; } in; short s; }  (a@0, in@8 {c@8, p@16}, s@24), 32 bytes
        // new: struct { long s; int a; long extra; struct { long *p; int c; } in; }  (s@0, a@8, extra@16, in@24 {p@24, c@32}), 40 bytes
        let mut old = vec![0u8; 32];
        old[0..4].copy_from_slice(&(-3i32).to_le_bytes());
        old[8] = 0x81;
        old[16..24].copy_from_slice(&0x7000u64.to_le_bytes());
        old[24..26].copy_from_slice(&(-9i16).to_le_bytes());
        let inner = Conv::Struct {
            new_size: 16,
            fields: vec![
                (0, Some(8), Conv::Pointer),
                (8, Some(0), int((1, true), (4, true))),
            ],
        };
        let conv = Conv::Struct {
            new_size: 40,
            fields: vec![
                (0, Some(24), int((2, true), (8, true))),
                (
                    8,
                    Some(0),
                    Conv::Copy {
                        bytes: 4,
                        pointers: vec![],
                    },
                ),
                (16, None, Conv::Zero { bytes: 8 }),
                (24, Some(8), inner),
            ],
        };
        assert_eq!(conv.old_size(), 26);
        let new = run(&conv, &old, 48).unwrap();
        assert_eq!(&new[0..8], &(-9i64).to_le_bytes());
        assert_eq!(&new[8..12], &(-3i32).to_le_bytes());
        assert_eq!(&new[12..16], &[0; 4], "padding is zero");
        assert_eq!(&new[16..24], &[0; 8], "new field is zero");
        assert_eq!(&new[24..32], &0x8000u64.to_le_bytes());
        assert_eq!(&new[32..36], &(-127i32).to_le_bytes());
        assert_eq!(&new[40..], &[0xaa; 8], "bytes past the value are untouched");
    }

    #[test]
    fn arrays_of_structs_with_pointers() {
        // struct { int n; char *name; } [3] (stride 16) -> struct { long n; char *name; int k; } [3] (stride 24)
        let mut old = Vec::new();
        for k in 0..3u64 {
            old.extend((k as i32 - 1).to_le_bytes());
            old.extend([0; 4]);
            old.extend((0x100 * k).to_le_bytes());
        }
        let elem = Conv::Struct {
            new_size: 24,
            fields: vec![
                (0, Some(0), int((4, true), (8, true))),
                (8, Some(8), Conv::Pointer),
                (16, None, Conv::Zero { bytes: 4 }),
            ],
        };
        let conv = Conv::Array {
            count: 3,
            old_stride: 16,
            new_stride: 24,
            elem: Box::new(elem),
        };
        let mut new = vec![0xaa; 72];
        let mut r = shift();
        apply(&conv, &old, &mut new, &mut r).unwrap();
        for k in 0..3usize {
            let e = &new[24 * k..24 * (k + 1)];
            assert_eq!(&e[..8], &(k as i64 - 1).to_le_bytes());
            let p = if k == 0 { 0 } else { 0x100 * k as u64 + 0x1000 };
            assert_eq!(&e[8..16], &p.to_le_bytes());
            assert_eq!(&e[16..], &[0; 8]);
        }
        assert_eq!(r.seen, [0x100, 0x200]);
        // An array of pointer-holding copies relocates every element's slot.
        let conv = Conv::Array {
            count: 2,
            old_stride: 16,
            new_stride: 16,
            elem: Box::new(Conv::Copy {
                bytes: 16,
                pointers: vec![8],
            }),
        };
        let new = run(&conv, &old[..32], 32).unwrap();
        assert_eq!(&new[24..32], &0x1100u64.to_le_bytes());
    }

    #[test]
    fn sizes_are_checked_and_errors_located() {
        assert!(run(
            &Conv::Copy {
                bytes: 8,
                pointers: vec![]
            },
            &[0; 4],
            8
        )
        .unwrap_err()
        .contains("old value has 4 bytes"));
        assert!(run(&Conv::Zero { bytes: 8 }, &[], 4)
            .unwrap_err()
            .contains("new value has 4 bytes"));
        let bad_field = Conv::Struct {
            new_size: 8,
            fields: vec![(4, None, Conv::Zero { bytes: 8 })],
        };
        assert!(run(&bad_field, &[], 8).unwrap_err().contains("ends past"));
        let needs_old = Conv::Struct {
            new_size: 8,
            fields: vec![(0, None, Conv::Pointer)],
        };
        assert!(run(&needs_old, &[], 8).unwrap_err().starts_with("field 0:"));
        let deep = Conv::Array {
            count: 2,
            old_stride: 8,
            new_stride: 8,
            elem: Box::new(Conv::Pointer),
        };
        let mut old = 1u64.to_le_bytes().to_vec();
        old.extend(0xdeadu64.to_le_bytes());
        assert!(run(&deep, &old, 16).unwrap_err().starts_with("element 1:"));
        let mut new = [0u8; 8];
        apply(
            &Conv::Pointer,
            &0xdeadu64.to_le_bytes(),
            &mut new,
            &mut KeepPointers,
        )
        .unwrap();
        assert_eq!(new, 0xdeadu64.to_le_bytes());
    }
}
