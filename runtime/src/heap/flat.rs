//! A conversion plan (`upstare_meta::Conv`) flattened for objects converted by the million:
//! a list of byte runs to copy, pointer slots to map and integer widenings, made once per
//! type and then run per object without recursion or size computations.
//!
//! `transfer::apply` stays the reference: anything this form does not cover (floats, large
//! arrays by value) is one `Nested` step that calls it, so both always agree.

use upstare_meta::transfer::{self, Relocate};
use upstare_meta::Conv;

/// One step, at offsets from the start of the old and new object.
#[derive(Debug, Clone)]
enum Step {
    /// Copy `len` bytes.
    Copy { old: u32, new: u32, len: u32 },
    /// Map one 8-byte pointer (null stays null).
    Ptr { old: u32, new: u32 },
    /// Sign or zero extension of an integer.
    Int {
        old: u32,
        new: u32,
        from: u8,
        to: u8,
        signed: bool,
    },
    /// Anything else: the reference implementation on that part.
    Nested { old: u32, new: u32, conv: Box<Conv> },
}

/// A flattened plan. The new object is zeroed first (new fields and padding are zero).
#[derive(Debug, Clone)]
pub struct Flat {
    new_size: usize,
    steps: Vec<Step>,
}

/// Arrays by value with more elements than this stay one `Nested` step.
const MAX_UNROLL: u64 = 64;

impl Flat {
    pub fn new(conv: &Conv) -> Flat {
        let mut steps = Vec::new();
        flatten(conv, 0, 0, &mut steps);
        // Adjacent copies merge: a struct whose fields kept their order is one run.
        let mut merged: Vec<Step> = Vec::with_capacity(steps.len());
        for s in steps {
            if let (
                Some(Step::Copy { old, new, len }),
                Step::Copy {
                    old: o2,
                    new: n2,
                    len: l2,
                },
            ) = (merged.last_mut(), &s)
            {
                if *old + *len == *o2 && *new + *len == *n2 {
                    *len += l2;
                    continue;
                }
            }
            merged.push(s);
        }
        Flat {
            new_size: conv.new_size() as usize,
            steps: merged,
        }
    }

    /// Converts one object: `old` holds the old object, `new` receives the new one.
    pub fn apply(
        &self,
        old: &[u8],
        new: &mut [u8],
        reloc: &mut dyn Relocate,
    ) -> Result<(), String> {
        new[..self.new_size].fill(0);
        for s in &self.steps {
            match s {
                Step::Copy {
                    old: o,
                    new: n,
                    len,
                } => {
                    let (o, n, l) = (*o as usize, *n as usize, *len as usize);
                    new[n..n + l].copy_from_slice(&old[o..o + l]);
                }
                Step::Ptr { old: o, new: n } => {
                    let (o, n) = (*o as usize, *n as usize);
                    let v = u64::from_le_bytes(old[o..o + 8].try_into().expect("8 bytes"));
                    let m = if v == 0 { 0 } else { reloc.pointer(v)? };
                    new[n..n + 8].copy_from_slice(&m.to_le_bytes());
                }
                Step::Int {
                    old: o,
                    new: n,
                    from,
                    to,
                    signed,
                } => {
                    let (o, n, f, t) = (*o as usize, *n as usize, *from as usize, *to as usize);
                    let mut b = [0u8; 16];
                    b[..f].copy_from_slice(&old[o..o + f]);
                    if *signed && b[f - 1] & 0x80 != 0 {
                        b[f..t].fill(0xff);
                    }
                    new[n..n + t].copy_from_slice(&b[..t]);
                }
                Step::Nested {
                    old: o,
                    new: n,
                    conv,
                } => {
                    transfer::apply(conv, &old[*o as usize..], &mut new[*n as usize..], reloc)?;
                }
            }
        }
        Ok(())
    }
}

fn flatten(conv: &Conv, old: u64, new: u64, out: &mut Vec<Step>) {
    let (o, n) = (old as u32, new as u32);
    match conv {
        Conv::Copy { bytes, pointers } => {
            out.push(Step::Copy {
                old: o,
                new: n,
                len: *bytes as u32,
            });
            for &p in pointers {
                out.push(Step::Ptr {
                    old: o + p as u32,
                    new: n + p as u32,
                });
            }
        }
        Conv::Pointer => out.push(Step::Ptr { old: o, new: n }),
        Conv::Int { from, to } if to.0 >= from.0 && to.0 <= 16 => out.push(Step::Int {
            old: o,
            new: n,
            from: from.0,
            to: to.0,
            signed: from.1,
        }),
        Conv::Zero { .. } => {}
        Conv::Struct { fields, .. } => {
            for (noff, ooff, c) in fields {
                if let Some(oo) = ooff {
                    flatten(c, old + oo, new + noff, out);
                }
            }
        }
        Conv::Array {
            count,
            old_stride,
            new_stride,
            elem,
        } if *count <= MAX_UNROLL => {
            for k in 0..*count {
                flatten(elem, old + k * old_stride, new + k * new_stride, out);
            }
        }
        other => out.push(Step::Nested {
            old: o,
            new: n,
            conv: Box::new(other.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upstare_meta::transfer::KeepPointers;

    /// The flat form and the reference agree on a struct with moved, widened, new and
    /// pointer fields and a small array.
    #[test]
    fn agrees_with_transfer_apply() {
        let conv = Conv::Struct {
            new_size: 48,
            fields: vec![
                (0, Some(8), Conv::copy(8)),
                (
                    8,
                    Some(0),
                    Conv::Int {
                        from: (4, true),
                        to: (8, true),
                    },
                ),
                (16, None, Conv::Zero { bytes: 8 }),
                (24, Some(16), Conv::Pointer),
                (
                    32,
                    Some(24),
                    Conv::Array {
                        count: 2,
                        old_stride: 4,
                        new_stride: 8,
                        elem: Box::new(Conv::Int {
                            from: (4, false),
                            to: (8, false),
                        }),
                    },
                ),
            ],
        };
        let old: Vec<u8> = (0..32u8).map(|b| b.wrapping_mul(37) | 0x80).collect();
        let (mut a, mut b) = (vec![0xaau8; 48], vec![0x55u8; 48]);
        transfer::apply(&conv, &old, &mut a, &mut KeepPointers).unwrap();
        Flat::new(&conv)
            .apply(&old, &mut b, &mut KeepPointers)
            .unwrap();
        assert_eq!(a, b);
    }
}
