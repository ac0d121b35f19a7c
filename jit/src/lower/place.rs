//! Places: addresses of fields, elements, globals and pointees; assignment and transfer.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{InstBuilder, Value};
use upstare_dsl::checked::{Expr, ExprKind, Place, PlaceBase, Proj, Span, Ver};
use upstare_meta::CType;

use super::{FnCx, L};
use crate::compiled::SiteKind;
use crate::plan::Planner;
use crate::scalar::Scalar;

/// Where a place is: memory at `base + offset`, or a body variable.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PlaceVal {
    Mem(Value, i64),
    Var(usize),
}

/// Records, arrays and named types copied as bytes.
pub(crate) fn is_aggregate(t: &CType) -> bool {
    matches!(
        t,
        CType::Record { .. } | CType::Array(..) | CType::Typedef(_) | CType::Opaque(_)
    )
}

impl FnCx<'_, '_, '_> {
    pub fn place(&mut self, p: &Place) -> L<PlaceVal> {
        let (mut base, mut off) = match &p.base {
            PlaceBase::Old => (self.old, 0i64),
            PlaceBase::New => (self.new, 0),
            PlaceBase::OldGlobal(g) => {
                let Some(a) = self.cx.env.old_global(*g) else {
                    let key = self.cx.old.globals.get(*g).map_or("?", |x| x.key.as_str());
                    return self.err(
                        self.span,
                        format!("the address of the old global `{key}` is not known"),
                    );
                };
                (
                    self.b
                        .ins()
                        .iconst(cranelift_codegen::ir::types::I64, a as i64),
                    0,
                )
            }
            PlaceBase::NewGlobal(g) => {
                let Some(a) = self.cx.env.new_global(*g) else {
                    let key = self.cx.new.globals.get(*g).map_or("?", |x| x.key.as_str());
                    return self.err(
                        self.span,
                        format!("the address of the new global `{key}` is not known"),
                    );
                };
                (
                    self.b
                        .ins()
                        .iconst(cranelift_codegen::ir::types::I64, a as i64),
                    0,
                )
            }
            PlaceBase::Var(v) => {
                if !p.proj.is_empty() {
                    return self.err(self.span, "a variable has no fields or elements");
                }
                if v.0 as usize >= self.vars.len() {
                    return self.err(self.span, "a variable the body does not declare");
                }
                return Ok(PlaceVal::Var(v.0 as usize));
            }
            PlaceBase::Deref(e) => {
                let v = self.expr(e)?;
                self.null_check(v, e.span, "dereference of a null pointer");
                (v, 0)
            }
        };
        for proj in &p.proj {
            match proj {
                Proj::Field { offset, .. } => off += *offset as i64,
                Proj::BitField { record, index, .. } => {
                    let m = if p.is_old() { self.cx.old } else { self.cx.new };
                    let (rec, field) = m
                        .types
                        .get(*record)
                        .map(|t| {
                            let f = t.fields.get(*index as usize).map_or("?", |f| &f.name);
                            (t.name.as_str(), f)
                        })
                        .unwrap_or(("?", "?"));
                    return self.err(
                        self.span,
                        format!(
                            "not supported by the JIT yet: bit-field `{field}` of `{rec}` \
                             (metadata format 1 records a bit-field's width but not its bit \
                             offset)"
                        ),
                    );
                }
                Proj::Index { index, stride, len } => {
                    let signed = Scalar::of(&index.ty).is_ok_and(|s| s.is_signed());
                    let in_range = match (&index.kind, len) {
                        (ExprKind::Int(k), Some(n)) => (!signed || (*k as i64) >= 0) && *k < *n,
                        _ => false,
                    };
                    let i = self.expr(index)?;
                    let i = self.widen_index(i, signed);
                    if let (Some(n), false) = (len, in_range) {
                        let code = self.site(SiteKind::Index { len: *n, signed }, index.span);
                        let bad = self.b.ins().icmp_imm_s(
                            IntCC::UnsignedGreaterThanOrEqual,
                            i,
                            *n as i64,
                        );
                        self.fail_if(bad, code, Some((i, signed)));
                    }
                    let scaled = self.b.ins().imul_imm_s(i, *stride as i64);
                    let a = self.addr(base, off);
                    base = self.b.ins().iadd(a, scaled);
                    off = 0;
                }
            }
        }
        Ok(PlaceVal::Mem(base, off))
    }

    /// An index value as i64 (the checker gives `long` or `unsigned long`; others extended).
    fn widen_index(&mut self, i: Value, signed: bool) -> Value {
        use cranelift_codegen::ir::types;
        let ty = self.b.func.dfg.value_type(i);
        match ty {
            types::I64 => i,
            types::I128 => self.b.ins().ireduce(types::I64, i),
            _ if signed => self.b.ins().sextend(types::I64, i),
            _ => self.b.ins().uextend(types::I64, i),
        }
    }

    /// Fails with `what` when the pointer `v` is null.
    pub fn null_check(&mut self, v: Value, span: Span, what: &str) {
        let code = self.site(SiteKind::Message(what.to_string()), span);
        let is_null = self.b.ins().icmp_imm_s(IntCC::Equal, v, 0);
        self.fail_if(is_null, code, None);
    }

    /// The address of a memory place.
    pub fn place_addr(&mut self, p: &Place) -> L<(Value, i64)> {
        match self.place(p)? {
            PlaceVal::Mem(b, o) => Ok((b, o)),
            PlaceVal::Var(_) => self.err(self.span, "a variable has no address"),
        }
    }

    /// The size in bytes of the value at `p`, of type `ty` in version `ver`.
    pub fn place_size(&self, p: &Place, ty: &CType, ver: Ver) -> Option<u64> {
        match p.proj.last() {
            Some(Proj::Field { size, .. }) => Some(*size),
            Some(Proj::Index { stride, .. }) => Some(*stride),
            Some(Proj::BitField { .. }) => None,
            None => match &p.base {
                PlaceBase::OldGlobal(g) => self.cx.old.globals.get(*g).map(|g| g.size),
                PlaceBase::NewGlobal(g) => self.cx.new.globals.get(*g).map(|g| g.size),
                PlaceBase::Old => self.cx.old.size_of(ty).or(self.old_size),
                PlaceBase::New => self.cx.new.size_of(ty).or(self.new_size),
                _ => self.cx.module(ver).size_of(ty),
            },
        }
    }

    pub fn assign(&mut self, place: &Place, value: &Expr) -> L<()> {
        if is_aggregate(&value.ty) {
            let ExprKind::Load(src) = &value.kind else {
                return self.err(
                    value.span,
                    format!(
                        "not supported by the JIT yet: a `{}` value that is not read from a place",
                        value.ty
                    ),
                );
            };
            let ver = value
                .ver
                .unwrap_or(if src.is_old() { Ver::Old } else { Ver::New });
            let dver = if place.is_old() { Ver::Old } else { Ver::New };
            let Some(n) = self
                .place_size(src, &value.ty, ver)
                .or_else(|| self.place_size(place, &value.ty, dver))
            else {
                return self.err(
                    value.span,
                    format!("the size of `{}` is not known", value.ty),
                );
            };
            let s = self.place_addr(src)?;
            let d = self.place_addr(place)?;
            self.copy_bytes(d, s, n);
            return Ok(());
        }
        let v = self.expr(value)?;
        match self.place(place)? {
            PlaceVal::Var(i) => {
                let var = self.vars[i].0;
                self.b.def_var(var, v);
            }
            PlaceVal::Mem(b, o) => self.store_at(v, b, o),
        }
        Ok(())
    }

    pub fn transfer(
        &mut self,
        dst: &Place,
        src: &Place,
        from: &CType,
        to: &CType,
        span: Span,
    ) -> L<()> {
        let old_size = self.place_size(src, from, Ver::Old);
        let new_size = self.place_size(dst, to, Ver::New);
        let planner = Planner {
            old: self.cx.old,
            new: self.cx.new,
            rules: &self.cx.type_rule_set,
        };
        let plan = match planner.plan(from, to, old_size, new_size, 0) {
            Ok(p) => p,
            Err(m) => return self.err(span, m),
        };
        let s = self.place_addr(src)?;
        let d = self.place_addr(dst)?;
        self.lower_plan(&plan, s, d)
    }
}
