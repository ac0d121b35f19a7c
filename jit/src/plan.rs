//! Conversion plans for [`Stmt::Transfer`](upstare_dsl::checked::Stmt::Transfer) and for
//! body-less field and global rules: how an old value of one type becomes a new value of a
//! corresponding type, as the automatic transfer does it, type rules included.
//!
//! The rules follow `upstare_meta::diff` (whose planner is private to that crate): numbers
//! convert as C converts them (a rule asked for it, so narrowing is allowed), pointers are
//! relocated by the runtime, arrays element by element (new extra elements zero), structs field
//! by field by name (new fields zero, padding zero) followed by the spec's type rule for the
//! pair when there is one, unions and structs with bit-fields only when unchanged (copied), and
//! opaque types (system typedefs) as bytes when their sizes agree.

use std::collections::HashSet;

use upstare_meta::{ctype, CType, FieldLayout, Module, TypeId};

use crate::scalar::Scalar;

/// A plan on bytes: old value at some address, new value at another.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// Load, convert (C conversion, or relocation for pointer to pointer), store.
    Scalar { from: Scalar, to: Scalar },
    /// Copy bytes as they are.
    Bytes(u64),
    /// Zero the new struct, convert each (new offset, old offset, plan), then run the type
    /// rule of (old, new) when the spec has one.
    Struct {
        new_size: u64,
        fields: Vec<(u64, u64, Plan)>,
        rule: Option<(TypeId, TypeId)>,
    },
    /// `count` elements; `zero`: the new array's size, zeroed first (it has more elements).
    Array {
        count: u64,
        old_stride: u64,
        new_stride: u64,
        elem: Box<Plan>,
        zero: Option<u64>,
    },
}

/// What the planner needs: both versions and the type rules the spec defines.
pub(crate) struct Planner<'a> {
    pub old: &'a Module,
    pub new: &'a Module,
    pub rules: &'a HashSet<(TypeId, TypeId)>,
}

const MAX_DEPTH: u32 = 64;

fn is_arith(t: &CType) -> bool {
    t.is_integer() || matches!(t, CType::Float { .. })
}

impl Planner<'_> {
    /// The plan turning an old `from` (resolved in the old version) into a new `to`.
    /// `old_size`/`new_size` are the sizes the metadata gives the two places, when known.
    pub fn plan(
        &self,
        from: &CType,
        to: &CType,
        old_size: Option<u64>,
        new_size: Option<u64>,
        depth: u32,
    ) -> Result<Plan, String> {
        if depth > MAX_DEPTH {
            return Err("types nest too deeply".into());
        }
        let old_size = old_size.or_else(|| self.old.size_of(from));
        let new_size = new_size.or_else(|| self.new.size_of(to));
        match (from, to) {
            (CType::Float { bytes: 16 }, CType::Float { bytes: 16 }) => Ok(Plan::Bytes(16)),
            (CType::Float { bytes: 16 }, _) | (_, CType::Float { bytes: 16 })
                if is_arith(from) && is_arith(to) =>
            {
                Err("not supported by the JIT yet: converting `long double` values".into())
            }
            (a, b) if is_arith(a) && is_arith(b) => Ok(Plan::Scalar {
                from: Scalar::of(a)?,
                to: Scalar::of(b)?,
            }),
            (CType::Pointer(_), CType::Pointer(_)) => Ok(Plan::Scalar {
                from: Scalar::Ptr,
                to: Scalar::Ptr,
            }),
            (CType::Array(ae, an), CType::Array(be, bn)) => {
                let os = self.old.size_of(ae).filter(|&s| s > 0);
                let ns = self.new.size_of(be).filter(|&s| s > 0);
                let (Some(os), Some(ns)) = (os, ns) else {
                    return Err(format!("the element size of `{from}` or `{to}` is unknown"));
                };
                let oc = an.or(old_size.map(|s| s / os));
                let nc = bn.or(new_size.map(|s| s / ns));
                let (Some(oc), Some(nc)) = (oc, nc) else {
                    return Err(format!("the length of `{from}` or `{to}` is unknown"));
                };
                let elem = self.plan(ae, be, Some(os), Some(ns), depth + 1)?;
                if let (Plan::Bytes(_), true) = (&elem, os == ns) {
                    let n = oc.min(nc) * os;
                    return Ok(if nc > oc {
                        Plan::Struct {
                            new_size: nc * ns,
                            fields: vec![(0, 0, Plan::Bytes(n))],
                            rule: None,
                        }
                    } else {
                        Plan::Bytes(n)
                    });
                }
                Ok(Plan::Array {
                    count: oc.min(nc),
                    old_stride: os,
                    new_stride: ns,
                    elem: Box::new(elem),
                    zero: (nc > oc).then_some(nc * ns),
                })
            }
            (
                CType::Record { .. } | CType::Typedef(_),
                CType::Record { .. } | CType::Typedef(_),
            ) => match (self.old.record(from), self.new.record(to)) {
                (Some(a), Some(b)) => self.record(a, b, depth),
                (None, None) => opaque(from, to, old_size, new_size),
                _ => Err(format!(
                    "`{from}` and `{to}` are not both described in the metadata"
                )),
            },
            (CType::Opaque(a), CType::Opaque(b)) if a == b && a != "struct" && a != "union" => {
                opaque(from, to, old_size, new_size)
            }
            _ => Err(format!("old `{from}` does not convert to new `{to}`")),
        }
    }

    fn record(&self, a: TypeId, b: TypeId, depth: u32) -> Result<Plan, String> {
        let (ot, nt) = (&self.old.types[a], &self.new.types[b]);
        let union = |name: &str| name.starts_with("union ");
        let bits = |t: &upstare_meta::Type| {
            t.fields
                .iter()
                .any(|f| matches!(f.layout, FieldLayout::Bits { .. }))
        };
        let rule = self.rules.contains(&(a, b)).then_some((a, b));
        if union(&ot.name) || union(&nt.name) || bits(ot) || bits(nt) {
            let same = ot.size == nt.size && ot.fields == nt.fields;
            if !same {
                return Err(format!(
                    "not supported by the JIT yet: converting the changed {} `{}` (which member \
                     a union holds, and where a bit-field lies, are not in the metadata)",
                    if union(&nt.name) {
                        "union"
                    } else {
                        "bit-field struct"
                    },
                    nt.name
                ));
            }
            // Unchanged: the bytes, then the rule (if any).
            return Ok(Plan::Struct {
                new_size: nt.size,
                fields: vec![(0, 0, Plan::Bytes(nt.size))],
                rule,
            });
        }
        let mut fields = Vec::new();
        for nf in &nt.fields {
            let FieldLayout::Bytes {
                offset: noff,
                size: nsize,
            } = nf.layout
            else {
                continue;
            };
            let Some(of) = ot.fields.iter().find(|f| f.name == nf.name) else {
                continue; // a new field: zero
            };
            let FieldLayout::Bytes {
                offset: ooff,
                size: osize,
            } = of.layout
            else {
                continue;
            };
            let oty = self.old.resolve(&ctype::parse(&of.ty));
            let nty = self.new.resolve(&ctype::parse(&nf.ty));
            // A field that does not convert by itself stays zero: the type rule sets it (the
            // checker's coverage demands one).
            if let Ok(p) = self.plan(&oty, &nty, Some(osize), Some(nsize), depth + 1) {
                fields.push((noff, ooff, p));
            }
        }
        Ok(Plan::Struct {
            new_size: nt.size,
            fields,
            rule,
        })
    }
}

fn opaque(
    from: &CType,
    to: &CType,
    old_size: Option<u64>,
    new_size: Option<u64>,
) -> Result<Plan, String> {
    match (old_size, new_size) {
        (Some(a), Some(b)) if a == b => Ok(Plan::Bytes(a)),
        (Some(a), Some(b)) => Err(format!(
            "`{from}` changed size from {a} to {b} bytes (its contents are not in the metadata)"
        )),
        _ => Err(format!("the size of `{from}` or `{to}` is unknown")),
    }
}
