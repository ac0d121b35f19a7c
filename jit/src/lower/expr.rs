//! Expressions: C arithmetic on machine values, conversions, pointers, builtins.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, StackSlotData, StackSlotKind, Value};
use upstare_dsl::checked::{BinOp, Builtin, Expr, ExprKind, Span, UnOp};
use upstare_meta::CType;

use super::place::PlaceVal;
use super::{FnCx, L};
use crate::compiled::SiteKind;
use crate::scalar::Scalar;
use crate::services::{self, MigrateDesc};

impl FnCx<'_, '_, '_> {
    /// The scalar of an expression's type, or an error at its span.
    fn scalar(&self, e: &Expr) -> L<Scalar> {
        Scalar::of(&e.ty).or_else(|m| self.err(e.span, m))
    }

    /// Lowers an expression to its value (of the cranelift type of its scalar).
    pub fn expr(&mut self, e: &Expr) -> L<Value> {
        let prev = self.at(e.span);
        let r = self.expr_inner(e);
        self.restore(prev);
        r
    }

    /// An expression as a truth value: an i8 that is 0 or 1.
    pub fn truth(&mut self, e: &Expr) -> L<Value> {
        let s = self.scalar(e)?;
        let v = self.expr(e)?;
        Ok(self.truth_of(v, s))
    }

    fn truth_of(&mut self, v: Value, s: Scalar) -> Value {
        match s {
            Scalar::Bool => v,
            Scalar::Float { bytes } => {
                let z = self.zero(Scalar::Float { bytes });
                self.b.ins().fcmp(FloatCC::NotEqual, v, z)
            }
            _ => {
                if self.b.func.dfg.value_type(v) == types::I128 {
                    let z = self.iconst(types::I128, 0);
                    self.b.ins().icmp(IntCC::NotEqual, v, z)
                } else {
                    self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
                }
            }
        }
    }

    /// An integer constant of scalar `s` from the checker's bits.
    fn int_const(&mut self, bits: u64, s: Scalar) -> Value {
        let (bytes, signed) = s.int().unwrap_or((8, false));
        match bytes {
            16 => {
                let lo = self.b.ins().iconst(types::I64, bits as i64);
                let hi = if signed && (bits as i64) < 0 { -1 } else { 0 };
                let hi = self.b.ins().iconst(types::I64, hi);
                self.b.ins().iconcat(lo, hi)
            }
            8 => self.b.ins().iconst(types::I64, bits as i64),
            n => {
                let mask = (1u64 << (u32::from(n) * 8)) - 1;
                self.b.ins().iconst(s.clif(), (bits & mask) as i64)
            }
        }
    }

    fn expr_inner(&mut self, e: &Expr) -> L<Value> {
        match &e.kind {
            ExprKind::Int(bits) => {
                let s = self.scalar(e)?;
                if s.is_float() {
                    return self.err(e.span, "an integer constant of a floating type");
                }
                Ok(self.int_const(*bits, s))
            }
            ExprKind::Float(f) => match self.scalar(e)? {
                Scalar::Float { bytes: 4 } => Ok(self.b.ins().f32const(*f as f32)),
                Scalar::Float { .. } => Ok(self.b.ins().f64const(*f)),
                _ => self.err(e.span, "a floating constant of a non-floating type"),
            },
            ExprKind::Str(bytes) => {
                let mut owned = bytes.clone();
                owned.push(0);
                let boxed = owned.into_boxed_slice();
                let addr = boxed.as_ptr() as i64;
                self.cx.tables.strings.push(boxed);
                Ok(self.b.ins().iconst(types::I64, addr))
            }
            ExprKind::Null => Ok(self.b.ins().iconst(types::I64, 0)),
            ExprKind::Load(place) => {
                let s = self.scalar(e)?;
                match self.place(place)? {
                    PlaceVal::Var(i) => Ok(self.b.use_var(self.vars[i].0)),
                    PlaceVal::Mem(b, o) => Ok(self.load_at(s, b, o)),
                }
            }
            ExprKind::AddrOf(place) => {
                let (b, o) = self.place_addr(place)?;
                Ok(self.addr(b, o))
            }
            ExprKind::Convert(inner) => {
                let from = self.scalar(inner)?;
                let to = self.scalar(e)?;
                let v = self.expr(inner)?;
                Ok(self.convert(v, from, to))
            }
            ExprKind::Relocate(inner) => {
                let v = self.expr(inner)?;
                Ok(self.relocate(v, e.span))
            }
            ExprKind::Unary(op, inner) => {
                let s = self.scalar(inner)?;
                let v = self.expr(inner)?;
                Ok(match op {
                    UnOp::Neg if s.is_float() => self.b.ins().fneg(v),
                    UnOp::Neg => self.b.ins().ineg(v),
                    UnOp::BitNot => self.b.ins().bnot(v),
                    UnOp::Not => {
                        let t = self.truth_of(v, s);
                        let n = self.b.ins().bxor_imm_s(t, 1);
                        self.b.ins().uextend(types::I32, n)
                    }
                })
            }
            ExprKind::Binary(op, l, r) => self.binary(e, *op, l, r),
            ExprKind::Logic { and, lhs, rhs } => {
                let l = self.truth(lhs)?;
                let rhs_b = self.b.create_block();
                let done = self.b.create_block();
                self.b.append_block_param(done, types::I8);
                if *and {
                    self.b
                        .ins()
                        .brif(l, rhs_b, &[], done, &[BlockArg::Value(l)]);
                } else {
                    self.b
                        .ins()
                        .brif(l, done, &[BlockArg::Value(l)], rhs_b, &[]);
                }
                self.b.switch_to_block(rhs_b);
                self.b.seal_block(rhs_b);
                let r = self.truth(rhs)?;
                self.b.ins().jump(done, &[BlockArg::Value(r)]);
                self.b.switch_to_block(done);
                self.b.seal_block(done);
                let v = self.b.block_params(done)[0];
                Ok(self.b.ins().uextend(types::I32, v))
            }
            ExprKind::PtrAdd { ptr, index, stride } => {
                let p = self.expr(ptr)?;
                let i = self.expr(index)?;
                let i = self.index_i64(i, index)?;
                let scaled = self.b.ins().imul_imm_s(i, *stride as i64);
                Ok(self.b.ins().iadd(p, scaled))
            }
            ExprKind::PtrDiff { lhs, rhs, stride } => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                let d = self.b.ins().isub(l, r);
                if *stride <= 1 {
                    return Ok(d);
                }
                let s = self.b.ins().iconst(types::I64, *stride as i64);
                Ok(self.b.ins().sdiv(d, s))
            }
            ExprKind::PtrCmp(op, l, r) => {
                let lv = self.expr(l)?;
                let rv = self.expr(r)?;
                let cc = int_cc(*op, false).ok_or_else(|| super::LowerError {
                    span: e.span,
                    message: format!("`{}` does not compare pointers", op.symbol()),
                })?;
                let c = self.b.ins().icmp(cc, lv, rv);
                Ok(self.b.ins().uextend(types::I32, c))
            }
            ExprKind::Cond { cond, then, els } => {
                let s = self.scalar(e)?;
                let c = self.truth(cond)?;
                let tb = self.b.create_block();
                let eb = self.b.create_block();
                let done = self.b.create_block();
                self.b.append_block_param(done, s.clif());
                self.b.ins().brif(c, tb, &[], eb, &[]);
                self.b.seal_block(tb);
                self.b.seal_block(eb);
                self.b.switch_to_block(tb);
                let tv = self.expr(then)?;
                self.b.ins().jump(done, &[BlockArg::Value(tv)]);
                self.b.switch_to_block(eb);
                let ev = self.expr(els)?;
                self.b.ins().jump(done, &[BlockArg::Value(ev)]);
                self.b.switch_to_block(done);
                self.b.seal_block(done);
                Ok(self.b.block_params(done)[0])
            }
            ExprKind::Call(builtin, args) => self.call(e, builtin, args),
        }
    }

    fn index_i64(&mut self, i: Value, index: &Expr) -> L<Value> {
        let s = self.scalar(index)?;
        let ty = self.b.func.dfg.value_type(i);
        Ok(match ty {
            types::I64 => i,
            types::I128 => self.b.ins().ireduce(types::I64, i),
            _ if s.is_signed() => self.b.ins().sextend(types::I64, i),
            _ => self.b.ins().uextend(types::I64, i),
        })
    }

    /// The C conversion of `v` from scalar `from` to scalar `to`.
    pub fn convert(&mut self, v: Value, from: Scalar, to: Scalar) -> Value {
        if from == to {
            return v;
        }
        match (from, to) {
            (_, Scalar::Bool) => self.truth_of(v, from),
            (Scalar::Float { bytes: a }, Scalar::Float { bytes: b }) => {
                if a < b {
                    self.b.ins().fpromote(types::F64, v)
                } else {
                    self.b.ins().fdemote(types::F32, v)
                }
            }
            (Scalar::Float { .. }, _) => {
                let (bytes, signed) = to.int().expect("integer-like");
                self.float_to_int(v, from, bytes, signed)
            }
            (_, Scalar::Float { bytes }) => {
                let (fb, fs) = from.int().expect("integer-like");
                self.int_to_float(v, fb, fs, bytes)
            }
            _ => {
                let (fb, fs) = from.int().expect("integer-like");
                let (tb, _) = to.int().expect("integer-like");
                self.resize(v, fb, fs, tb)
            }
        }
    }

    /// Integer width change: truncate, or extend by the source's signedness.
    fn resize(&mut self, v: Value, from: u8, signed: bool, to: u8) -> Value {
        let ty = crate::scalar::int_type(to);
        if to < from {
            self.b.ins().ireduce(ty, v)
        } else if to > from {
            if signed {
                self.b.ins().sextend(ty, v)
            } else {
                self.b.ins().uextend(ty, v)
            }
        } else {
            v
        }
    }

    fn int_to_float(&mut self, v: Value, bytes: u8, signed: bool, fbytes: u8) -> Value {
        let fty = if fbytes == 4 { types::F32 } else { types::F64 };
        if bytes == 16 {
            let (lo, hi) = self.b.ins().isplit(v);
            let sg = self.b.ins().iconst(types::I32, i64::from(signed));
            let (addr, ret) = if fbytes == 4 {
                (services::tr_i128_to_f32 as *const () as usize, types::F32)
            } else {
                (services::tr_i128_to_f64 as *const () as usize, types::F64)
            };
            return self
                .call_addr(
                    addr,
                    &[types::I64, types::I64, types::I32],
                    Some(ret),
                    &[lo, hi, sg],
                )
                .expect("one result");
        }
        // Narrow and 32-bit unsigned values fit a wider signed type exactly.
        let (v, signed) = match (bytes, signed) {
            (1 | 2, s) => (self.resize(v, bytes, s, 4), true),
            (4, false) => (self.b.ins().uextend(types::I64, v), true),
            _ => (v, signed),
        };
        if signed {
            self.b.ins().fcvt_from_sint(fty, v)
        } else {
            self.b.ins().fcvt_from_uint(fty, v)
        }
    }

    /// Truncation toward zero; out-of-range values (undefined in C) saturate.
    fn float_to_int(&mut self, v: Value, from: Scalar, bytes: u8, signed: bool) -> Value {
        if bytes == 16 {
            let v = if from == (Scalar::Float { bytes: 4 }) {
                self.b.ins().fpromote(types::F64, v)
            } else {
                v
            };
            let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                16,
                4,
            ));
            let out = self.b.ins().stack_addr(types::I64, slot, 0);
            let sg = self.b.ins().iconst(types::I32, i64::from(signed));
            self.call_addr(
                services::tr_f64_to_i128 as *const () as usize,
                &[types::F64, types::I32, types::I64],
                None,
                &[v, sg, out],
            );
            return self.b.ins().load(types::I128, super::flags(), out, 0);
        }
        let wide = match (bytes, signed) {
            (8, false) => self.b.ins().fcvt_to_uint_sat(types::I64, v),
            (8, true) | (4, false) => self.b.ins().fcvt_to_sint_sat(types::I64, v),
            _ => self.b.ins().fcvt_to_sint_sat(types::I32, v),
        };
        let have = self.b.func.dfg.value_type(wide).bytes() as u8;
        if bytes < have {
            self.b.ins().ireduce(crate::scalar::int_type(bytes), wide)
        } else {
            wide
        }
    }

    /// An old pointer relocated into the new version (null stays null).
    pub fn relocate(&mut self, v: Value, span: Span) -> Value {
        self.call_service(
            services::tr_relocate as *const () as usize,
            "relocating an old pointer",
            &[v],
            span,
        )
    }

    fn binary(&mut self, e: &Expr, op: BinOp, l: &Expr, r: &Expr) -> L<Value> {
        let ls = self.scalar(l)?;
        let rs = self.scalar(r)?;
        let lv = self.expr(l)?;
        let rv = self.expr(r)?;
        if ls.is_float() {
            let v = match op {
                BinOp::Add => self.b.ins().fadd(lv, rv),
                BinOp::Sub => self.b.ins().fsub(lv, rv),
                BinOp::Mul => self.b.ins().fmul(lv, rv),
                BinOp::Div => self.b.ins().fdiv(lv, rv),
                _ => {
                    let cc = match op {
                        BinOp::Eq => FloatCC::Equal,
                        BinOp::Ne => FloatCC::NotEqual,
                        BinOp::Lt => FloatCC::LessThan,
                        BinOp::Le => FloatCC::LessThanOrEqual,
                        BinOp::Gt => FloatCC::GreaterThan,
                        BinOp::Ge => FloatCC::GreaterThanOrEqual,
                        _ => {
                            return self.err(
                                e.span,
                                format!("`{}` does not apply to floating values", op.symbol()),
                            )
                        }
                    };
                    let c = self.b.ins().fcmp(cc, lv, rv);
                    return Ok(self.b.ins().uextend(types::I32, c));
                }
            };
            return Ok(v);
        }
        let signed = ls.is_signed();
        if let Some(cc) = int_cc(op, signed) {
            let c = self.b.ins().icmp(cc, lv, rv);
            return Ok(self.b.ins().uextend(types::I32, c));
        }
        Ok(match op {
            BinOp::Add => self.b.ins().iadd(lv, rv),
            BinOp::Sub => self.b.ins().isub(lv, rv),
            BinOp::Mul => self.b.ins().imul(lv, rv),
            BinOp::BitAnd => self.b.ins().band(lv, rv),
            BinOp::BitOr => self.b.ins().bor(lv, rv),
            BinOp::BitXor => self.b.ins().bxor(lv, rv),
            BinOp::Div | BinOp::Rem => self.divide(e, op, ls, lv, r, rv)?,
            BinOp::Shl | BinOp::Shr => self.shift(e, op, ls, lv, rs, r, rv),
            BinOp::And | BinOp::Or => {
                return self.err(e.span, "`&&` and `||` must be logic expressions")
            }
            _ => unreachable!("comparisons handled above"),
        })
    }

    /// `/` and `%` with the checks C leaves undefined: a zero divisor, and the most negative
    /// value divided by -1.
    fn divide(
        &mut self,
        e: &Expr,
        op: BinOp,
        s: Scalar,
        lv: Value,
        r: &Expr,
        rv: Value,
    ) -> L<Value> {
        let ty = self.b.func.dfg.value_type(lv);
        let signed = s.is_signed();
        let known = match r.kind {
            ExprKind::Int(k) => Some(k),
            _ => None,
        };
        let bits = ty.bits();
        // The constant divisor, sign-extended from its width.
        let known_i = known.map(|k| {
            if bits >= 64 {
                k as i64
            } else {
                ((k << (64 - bits)) as i64) >> (64 - bits)
            }
        });
        if known.is_none_or(|k| k == 0) {
            let what = if op == BinOp::Div {
                "division by zero"
            } else {
                "remainder by zero (`%` with a zero divisor)"
            };
            let code = self.site(SiteKind::Message(what.to_string()), r.span);
            let z = self.truth_of(rv, s);
            let is_zero = self.b.ins().bxor_imm_s(z, 1);
            self.fail_if(is_zero, code, None);
        }
        if signed && known_i.is_none_or(|k| k == -1) {
            let min = if ty == types::I128 {
                let lo = self.b.ins().iconst(types::I64, 0);
                let hi = self.b.ins().iconst(types::I64, i64::MIN);
                self.b.ins().iconcat(lo, hi)
            } else {
                self.b.ins().iconst(ty, (1i64 << (bits - 1)) & mask(bits))
            };
            let minus1 = self.iconst(ty, -1);
            let a = self.b.ins().icmp(IntCC::Equal, lv, min);
            let b = self.b.ins().icmp(IntCC::Equal, rv, minus1);
            let both = self.b.ins().band(a, b);
            let code = self.site(
                SiteKind::Message(format!(
                    "signed overflow: the most negative {}-bit value {} by -1",
                    bits,
                    if op == BinOp::Div {
                        "divided"
                    } else {
                        "taken modulo"
                    }
                )),
                e.span,
            );
            self.fail_if(both, code, None);
        }
        if ty == types::I128 {
            let code = match (op, signed) {
                (BinOp::Div, false) => 0,
                (_, false) => 1,
                (BinOp::Div, true) => 2,
                (_, true) => 3,
            };
            let (alo, ahi) = self.b.ins().isplit(lv);
            let (blo, bhi) = self.b.ins().isplit(rv);
            let opv = self.b.ins().iconst(types::I32, code);
            let slot = self.b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                16,
                4,
            ));
            let out = self.b.ins().stack_addr(types::I64, slot, 0);
            self.call_addr(
                services::tr_div128 as *const () as usize,
                &[
                    types::I64,
                    types::I64,
                    types::I64,
                    types::I64,
                    types::I32,
                    types::I64,
                ],
                None,
                &[alo, ahi, blo, bhi, opv, out],
            );
            return Ok(self.b.ins().load(types::I128, super::flags(), out, 0));
        }
        Ok(match (op, signed) {
            (BinOp::Div, true) => self.b.ins().sdiv(lv, rv),
            (BinOp::Div, false) => self.b.ins().udiv(lv, rv),
            (_, true) => self.b.ins().srem(lv, rv),
            (_, false) => self.b.ins().urem(lv, rv),
        })
    }

    /// `<<` and `>>`: the count must be in 0..width (C leaves others undefined); `>>` of a
    /// signed value is arithmetic (as gcc does).
    #[allow(clippy::too_many_arguments)]
    fn shift(
        &mut self,
        e: &Expr,
        op: BinOp,
        ls: Scalar,
        lv: Value,
        rs: Scalar,
        r: &Expr,
        rv: Value,
    ) -> Value {
        let ty = self.b.func.dfg.value_type(lv);
        let bits = ty.bits();
        let rty = self.b.func.dfg.value_type(rv);
        let in_range = match r.kind {
            ExprKind::Int(k) => {
                let k = if rty.bits() >= 64 || !rs.is_signed() {
                    k as i64
                } else {
                    ((k << (64 - rty.bits())) as i64) >> (64 - rty.bits())
                };
                k >= 0 && (k as u64) < u64::from(bits)
            }
            _ => false,
        };
        if !in_range {
            let code = self.site(
                SiteKind::Shift {
                    bits,
                    signed: rs.is_signed(),
                },
                r.span,
            );
            let lim = self.iconst(rty, i64::from(bits));
            let bad = self
                .b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, rv, lim);
            self.fail_if(bad, code, Some((rv, rs.is_signed())));
        }
        let _ = e;
        // The count, as a type the shift instructions take.
        let amount = match rty {
            types::I128 => self.b.ins().ireduce(types::I64, rv),
            _ => rv,
        };
        match op {
            BinOp::Shl => self.b.ins().ishl(lv, amount),
            _ if ls.is_signed() => self.b.ins().sshr(lv, amount),
            _ => self.b.ins().ushr(lv, amount),
        }
    }

    // ------------------------------------------------------------ builtins

    fn call(&mut self, e: &Expr, builtin: &Builtin, args: &[Expr]) -> L<Value> {
        let span = e.span;
        let arg = |i: usize| -> L<&Expr> {
            args.get(i).ok_or_else(|| super::LowerError {
                span,
                message: format!("builtin call with {} arguments", args.len()),
            })
        };
        match builtin {
            Builtin::NowMs => Ok(self.call_service(
                services::tr_now_ms as *const () as usize,
                "now_ms()",
                &[],
                span,
            )),
            Builtin::Alloc => {
                let n = self.expr(arg(0)?)?;
                Ok(self.call_service(
                    services::tr_alloc as *const () as usize,
                    "alloc",
                    &[n],
                    span,
                ))
            }
            Builtin::Migrate { old_ty, new_ty }
            | Builtin::MigrateArray { old_ty, new_ty }
            | Builtin::MigrateNt { old_ty, new_ty } => {
                let (kind, what) = match builtin {
                    Builtin::Migrate { .. } => (0, "migrate"),
                    Builtin::MigrateArray { .. } => (1, "migrate_array"),
                    _ => (2, "migrate_nt"),
                };
                let desc = self.migrate_desc(kind, old_ty.clone(), new_ty.clone());
                let p = self.expr(arg(0)?)?;
                let n = if kind == 1 {
                    self.expr(arg(1)?)?
                } else {
                    self.b.ins().iconst(types::I64, 0)
                };
                let d = self.b.ins().iconst(types::I64, desc);
                Ok(self.call_service(
                    services::tr_migrate as *const () as usize,
                    what,
                    &[d, p, n],
                    span,
                ))
            }
            Builtin::MigrateStr => {
                let char_ty = CType::Int {
                    bytes: 1,
                    signed: true,
                };
                let desc = self.migrate_desc(3, char_ty.clone(), char_ty);
                let p = self.expr(arg(0)?)?;
                let n = self.b.ins().iconst(types::I64, 0);
                let d = self.b.ins().iconst(types::I64, desc);
                Ok(self.call_service(
                    services::tr_migrate as *const () as usize,
                    "migrate_str",
                    &[d, p, n],
                    span,
                ))
            }
            Builtin::NewFn => {
                let p = self.expr(arg(0)?)?;
                Ok(self.call_service(
                    services::tr_new_function as *const () as usize,
                    "newfn",
                    &[p],
                    span,
                ))
            }
            Builtin::NewFnNamed(f) => {
                let Some(a) = self.cx.env.new_function(*f) else {
                    let name = self
                        .cx
                        .new
                        .functions
                        .get(*f)
                        .map_or("?", |x| x.name.as_str());
                    return self.err(
                        span,
                        format!("the address of the new function `{name}` is not known"),
                    );
                };
                Ok(self.b.ins().iconst(types::I64, a as i64))
            }
            Builtin::OldFnNamed(f) => {
                let Some(a) = self.cx.env.old_function(*f) else {
                    let name = self
                        .cx
                        .old
                        .functions
                        .get(*f)
                        .map_or("?", |x| x.name.as_str());
                    return self.err(
                        span,
                        format!("the address of the old function `{name}` is not known"),
                    );
                };
                Ok(self.b.ins().iconst(types::I64, a as i64))
            }
            Builtin::Memcpy | Builtin::Memset => {
                let is_cpy = matches!(builtin, Builtin::Memcpy);
                let d = self.expr(arg(0)?)?;
                let x = self.expr(arg(1)?)?;
                let n = self.expr(arg(2)?)?;
                let name = if is_cpy { "memcpy" } else { "memset" };
                // Null pointers fail the rule unless nothing is copied.
                let dn = self.b.ins().icmp_imm_s(IntCC::Equal, d, 0);
                let bad = if is_cpy {
                    let sn = self.b.ins().icmp_imm_s(IntCC::Equal, x, 0);
                    self.b.ins().bor(dn, sn)
                } else {
                    dn
                };
                let some = self.b.ins().icmp_imm_s(IntCC::NotEqual, n, 0);
                let bad = self.b.ins().band(bad, some);
                let code = self.site(
                    SiteKind::Message(format!("`{name}` with a null pointer")),
                    span,
                );
                self.fail_if(bad, code, None);
                let code = self.site(SiteKind::Call(format!("`{name}`")), span);
                self.set_site(code);
                if is_cpy {
                    self.call_addr(
                        libc::memmove as *const () as usize,
                        &[types::I64, types::I64, types::I64],
                        Some(types::I64),
                        &[d, x, n],
                    );
                } else {
                    self.call_addr(
                        libc::memset as *const () as usize,
                        &[types::I64, types::I32, types::I64],
                        Some(types::I64),
                        &[d, x, n],
                    );
                }
                Ok(self.b.ins().iconst(types::I32, 0))
            }
            Builtin::Strlen | Builtin::Strdup => {
                let s = self.expr(arg(0)?)?;
                let is_len = matches!(builtin, Builtin::Strlen);
                let name = if is_len { "strlen" } else { "strdup" };
                self.null_check(s, span, &format!("`{name}` of a null pointer"));
                if is_len {
                    let code = self.site(SiteKind::Call("`strlen`".into()), span);
                    self.set_site(code);
                    Ok(self
                        .call_addr(
                            libc::strlen as *const () as usize,
                            &[types::I64],
                            Some(types::I64),
                            &[s],
                        )
                        .expect("one result"))
                } else {
                    Ok(self.call_service(
                        services::tr_strdup as *const () as usize,
                        "strdup",
                        &[s],
                        span,
                    ))
                }
            }
            Builtin::Strcmp => {
                let a = self.expr(arg(0)?)?;
                let b = self.expr(arg(1)?)?;
                self.null_check(a, span, "`strcmp` of a null pointer");
                self.null_check(b, span, "`strcmp` of a null pointer");
                let code = self.site(SiteKind::Call("`strcmp`".into()), span);
                self.set_site(code);
                Ok(self
                    .call_addr(
                        libc::strcmp as *const () as usize,
                        &[types::I64, types::I64],
                        Some(types::I32),
                        &[a, b],
                    )
                    .expect("one result"))
            }
            Builtin::Min | Builtin::Max => {
                let s = self.scalar(e)?;
                let a = self.expr(arg(0)?)?;
                let b = self.expr(arg(1)?)?;
                // min(a, b) = b < a ? b : a; max(a, b) = a < b ? b : a (C's usual macros).
                let (x, y) = if matches!(builtin, Builtin::Min) {
                    (b, a)
                } else {
                    (a, b)
                };
                let lt = if s.is_float() {
                    self.b.ins().fcmp(FloatCC::LessThan, x, y)
                } else {
                    let cc = if s.is_signed() {
                        IntCC::SignedLessThan
                    } else {
                        IntCC::UnsignedLessThan
                    };
                    self.b.ins().icmp(cc, x, y)
                };
                if s.clif() == types::I128 {
                    // cranelift folds select-of-compare into smin/umax, which its x86-64
                    // backend cannot emit for 128 bits: branch instead.
                    let tb = self.b.create_block();
                    let done = self.b.create_block();
                    self.b.append_block_param(done, types::I128);
                    self.b.ins().brif(lt, tb, &[], done, &[BlockArg::Value(a)]);
                    self.b.switch_to_block(tb);
                    self.b.seal_block(tb);
                    self.b.ins().jump(done, &[BlockArg::Value(b)]);
                    self.b.switch_to_block(done);
                    self.b.seal_block(done);
                    return Ok(self.b.block_params(done)[0]);
                }
                Ok(self.b.ins().select(lt, b, a))
            }
        }
    }

    /// Stores a migrate descriptor for the life of the code; returns its address.
    fn migrate_desc(&mut self, kind: u8, old_ty: CType, new_ty: CType) -> i64 {
        let desc = Box::new(MigrateDesc {
            kind,
            old_record: self.cx.old.record(&old_ty),
            new_record: self.cx.new.record(&new_ty),
            old_size: self.cx.old.size_of(&old_ty),
            new_size: self.cx.new.size_of(&new_ty),
            old_ty,
            new_ty,
        });
        let addr = &*desc as *const MigrateDesc as i64;
        self.cx.tables.migrations.push(desc);
        addr
    }
}

fn mask(bits: u32) -> i64 {
    if bits >= 64 {
        -1
    } else {
        ((1u64 << bits) - 1) as i64
    }
}

/// The integer condition code of a comparison operator.
fn int_cc(op: BinOp, signed: bool) -> Option<IntCC> {
    Some(match (op, signed) {
        (BinOp::Eq, _) => IntCC::Equal,
        (BinOp::Ne, _) => IntCC::NotEqual,
        (BinOp::Lt, true) => IntCC::SignedLessThan,
        (BinOp::Lt, false) => IntCC::UnsignedLessThan,
        (BinOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (BinOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (BinOp::Gt, true) => IntCC::SignedGreaterThan,
        (BinOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (BinOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
        (BinOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
        _ => return None,
    })
}
