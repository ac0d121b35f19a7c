//! Lowering one rule to cranelift IR.
//!
//! Every rule becomes `fn(old: i64, new: i64, ctx: i64) -> i32`. The body's variables are
//! cranelift variables; places become addresses with a static offset folded in; every check the
//! language asks for (null dereference, index bounds, division by zero, shift counts, asserts,
//! a failed callback, the loop budget) branches to a cold block that stores a value for the
//! message when there is one and returns the check's site code. Each expression's instructions
//! carry a source location naming its span, so a fault at any instruction is reported there.

mod expr;
mod place;

use std::collections::{HashMap, HashSet};

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, Block, BlockArg, InstBuilder, MemFlagsData, SigRef, Signature, SourceLoc,
    Type, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, Variable};
use cranelift_jit::JITModule;
use cranelift_module::{FuncId as ClifFuncId, Module as _};
use upstare_dsl::checked::{Span, Stmt, Ver};
use upstare_meta::{Module, TypeId};

use crate::compiled::{Site, SiteKind, Tables};
use crate::plan::Plan;
use crate::scalar::Scalar;
use crate::services::{CTX_FUEL, CTX_SITE, CTX_STATUS, CTX_VALUE};
use crate::Env;

/// A construct that cannot be compiled, with where it is.
#[derive(Debug, Clone)]
pub(crate) struct LowerError {
    pub span: Span,
    pub message: String,
}

pub(crate) type L<T> = Result<T, LowerError>;

/// State shared by all functions of one compilation.
pub(crate) struct Cx<'a> {
    pub old: &'a Module,
    pub new: &'a Module,
    pub env: &'a dyn Env,
    pub tables: Tables,
    /// The function of each type rule, for nested conversions.
    pub type_funcs: HashMap<(TypeId, TypeId), ClifFuncId>,
    pub type_rule_set: HashSet<(TypeId, TypeId)>,
    pub call_conv: CallConv,
}

impl Cx<'_> {
    pub fn module(&self, v: Ver) -> &Module {
        match v {
            Ver::Old => self.old,
            Ver::New => self.new,
        }
    }
}

/// Lowering state of one function.
pub(crate) struct FnCx<'c, 'a, 'f> {
    pub cx: &'c mut Cx<'a>,
    pub module: &'c mut JITModule,
    pub b: FunctionBuilder<'f>,
    pub old: Value,
    pub new: Value,
    pub ctx: Value,
    pub vars: Vec<(Variable, Scalar)>,
    /// The rule's index in the tables.
    pub rule: u32,
    /// A cold block returning its i32 parameter (a nested rule's failure).
    propagate: Option<Block>,
    sigs: HashMap<(Vec<Type>, Option<Type>), SigRef>,
    /// The span being lowered (for errors).
    pub span: Span,
    /// Sizes of what `old` and `new` point to, when the rule knows them.
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
}

pub(crate) fn flags() -> MemFlagsData {
    MemFlagsData::new()
}

impl<'c, 'a, 'f> FnCx<'c, 'a, 'f> {
    /// Starts a function: the entry block with the three parameters.
    pub fn new(
        cx: &'c mut Cx<'a>,
        module: &'c mut JITModule,
        mut b: FunctionBuilder<'f>,
        rule: u32,
        span: Span,
    ) -> Self {
        // Locations are stored relative to the function's first one: fix the base at 0, so
        // that every location id stays representable (a smaller id than the first one would
        // wrap to "no location").
        b.func.params.ensure_base_srcloc(SourceLoc::new(0));
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let p = b.block_params(entry).to_vec();
        FnCx {
            cx,
            module,
            b,
            old: p[0],
            new: p[1],
            ctx: p[2],
            vars: Vec::new(),
            rule,
            propagate: None,
            sigs: HashMap::new(),
            span,
            old_size: None,
            new_size: None,
        }
    }

    pub fn err<T>(&self, span: Span, message: impl Into<String>) -> L<T> {
        Err(LowerError {
            span,
            message: message.into(),
        })
    }

    /// Declares the body's variables (zero until assigned).
    pub fn declare_vars(&mut self, vars: &[upstare_dsl::checked::Var]) -> L<()> {
        for v in vars {
            let s = Scalar::of(&v.ty).or_else(|m| self.err(v.span, m))?;
            let var = self.b.declare_var(s.clif());
            let z = self.zero(s);
            self.b.def_var(var, z);
            self.vars.push((var, s));
        }
        Ok(())
    }

    /// Ends the function: `return 0` from the current block, and the body of the block that
    /// passes a nested rule's failure on.
    pub fn finish_ok(mut self) {
        let z = self.b.ins().iconst(types::I32, 0);
        self.b.ins().return_(&[z]);
        if let Some(blk) = self.propagate.take() {
            self.b.switch_to_block(blk);
            let p = self.b.block_params(blk)[0];
            self.b.ins().return_(&[p]);
        }
        self.b.seal_all_blocks();
        let config = self.module.target_config();
        self.b.finalize(config);
    }

    /// Sets the source location of the instructions that follow to `span`; returns the
    /// previous one (to restore).
    pub fn at(&mut self, span: Span) -> (SourceLoc, Span) {
        let id = self.cx.tables.locs.len() as u32;
        self.cx.tables.locs.push((self.rule, span));
        let prev = (self.b.srcloc(), self.span);
        self.b.set_srcloc(SourceLoc::new(id));
        self.span = span;
        prev
    }

    pub fn restore(&mut self, prev: (SourceLoc, Span)) {
        self.b.set_srcloc(prev.0);
        self.span = prev.1;
    }

    /// A new failure site; its code is what generated code returns.
    pub fn site(&mut self, kind: SiteKind, span: Span) -> i32 {
        self.cx.tables.sites.push(Site {
            rule: self.rule,
            span,
            kind,
        });
        self.cx.tables.sites.len() as i32
    }

    pub fn zero(&mut self, s: Scalar) -> Value {
        match s {
            Scalar::Float { bytes: 4 } => self.b.ins().f32const(0.0),
            Scalar::Float { .. } => self.b.ins().f64const(0.0),
            other => self.iconst(other.clif(), 0),
        }
    }

    /// An integer constant of any integer type (128-bit ones from 64 bits, sign-extended when
    /// `v` is negative as an i64 and `signed`).
    pub fn iconst(&mut self, ty: Type, v: i64) -> Value {
        if ty == types::I128 {
            let lo = self.b.ins().iconst(types::I64, v);
            let hi = self.b.ins().iconst(types::I64, if v < 0 { -1 } else { 0 });
            self.b.ins().iconcat(lo, hi)
        } else {
            self.b.ins().iconst(ty, v)
        }
    }

    /// Fails with `code` when `cond` (an integer) is nonzero; `value` (an integer, and whether
    /// it is signed) is stored for the message first.
    pub fn fail_if(&mut self, cond: Value, code: i32, value: Option<(Value, bool)>) {
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        let cont = self.b.create_block();
        self.b.ins().brif(cond, fail, &[], cont, &[]);
        self.b.switch_to_block(fail);
        self.b.seal_block(fail);
        if let Some((v, signed)) = value {
            let v = self.widen64(v, signed);
            self.b.ins().store(flags(), v, self.ctx, CTX_VALUE);
        }
        let c = self.b.ins().iconst(types::I32, i64::from(code));
        self.b.ins().return_(&[c]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    /// An integer value as i64 (128-bit ones truncated, narrow ones extended).
    fn widen64(&mut self, v: Value, signed: bool) -> Value {
        let ty = self.b.func.dfg.value_type(v);
        match ty {
            types::I64 => v,
            types::I128 => self.b.ins().ireduce(types::I64, v),
            t if t.is_int() && signed => self.b.ins().sextend(types::I64, v),
            t if t.is_int() => self.b.ins().uextend(types::I64, v),
            _ => self.b.ins().iconst(types::I64, 0),
        }
    }

    /// Propagates a nonzero i32 `code` (a nested rule's failure) as this function's result.
    pub fn propagate_if(&mut self, code: Value) {
        let blk = match self.propagate {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.b.set_cold_block(b);
                self.b.append_block_param(b, types::I32);
                self.propagate = Some(b);
                b
            }
        };
        let cont = self.b.create_block();
        self.b
            .ins()
            .brif(code, blk, &[BlockArg::Value(code)], cont, &[]);
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
    }

    // ------------------------------------------------------------ calls out

    /// Calls the native function at `addr` with the C calling convention.
    pub fn call_addr(
        &mut self,
        addr: usize,
        params: &[Type],
        ret: Option<Type>,
        args: &[Value],
    ) -> Option<Value> {
        let key = (params.to_vec(), ret);
        let sig = match self.sigs.get(&key) {
            Some(s) => *s,
            None => {
                let mut sig = Signature::new(self.cx.call_conv);
                sig.params.extend(params.iter().map(|&t| AbiParam::new(t)));
                if let Some(r) = ret {
                    sig.returns.push(AbiParam::new(r));
                }
                let s = self.b.import_signature(sig);
                self.sigs.insert(key, s);
                s
            }
        };
        let callee = self.b.ins().iconst(types::I64, addr as i64);
        let inst = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(inst).first().copied()
    }

    /// Records `code` as the call out of JIT code in progress (for faults inside it).
    pub fn set_site(&mut self, code: i32) {
        let c = self.b.ins().iconst(types::I32, i64::from(code));
        self.b.ins().store(flags(), c, self.ctx, CTX_SITE);
    }

    /// Fails with `code` when the last callback set `ctx.status`.
    pub fn check_status(&mut self, code: i32) {
        let st = self.b.ins().load(types::I32, flags(), self.ctx, CTX_STATUS);
        self.fail_if(st, code, None);
    }

    /// Calls a trampoline that takes the context first and may fail: sets the site, calls,
    /// checks the status. Returns the i64 result.
    pub fn call_service(&mut self, addr: usize, what: &str, args: &[Value], span: Span) -> Value {
        let code = self.site(SiteKind::Call(what.to_string()), span);
        self.set_site(code);
        let mut all = vec![self.ctx];
        all.extend_from_slice(args);
        let params: Vec<Type> = all.iter().map(|&v| self.b.func.dfg.value_type(v)).collect();
        let r = self
            .call_addr(addr, &params, Some(types::I64), &all)
            .expect("one result");
        self.check_status(code);
        r
    }

    /// Calls a type rule's function on (old, new) and propagates its failure.
    pub fn call_rule(&mut self, key: (TypeId, TypeId), old: Value, new: Value) {
        let fid = self.cx.type_funcs[&key];
        let fref = self.module.declare_func_in_func(fid, self.b.func);
        let inst = self.b.ins().call(fref, &[old, new, self.ctx]);
        let r = self.b.inst_results(inst)[0];
        self.propagate_if(r);
    }

    // ------------------------------------------------------------ statements

    pub fn stmts(&mut self, ss: &[Stmt]) -> L<()> {
        for s in ss {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &Stmt) -> L<()> {
        match s {
            Stmt::Assign { place, value, span } => {
                let prev = self.at(*span);
                let r = self.assign(place, value);
                self.restore(prev);
                r
            }
            Stmt::Transfer {
                dst,
                src,
                from,
                to,
                span,
            } => {
                let prev = self.at(*span);
                let r = self.transfer(dst, src, from, to, *span);
                self.restore(prev);
                r
            }
            Stmt::If { cond, then, els } => {
                let c = self.truth(cond)?;
                let tb = self.b.create_block();
                let eb = self.b.create_block();
                let merge = self.b.create_block();
                self.b.ins().brif(c, tb, &[], eb, &[]);
                self.b.seal_block(tb);
                self.b.seal_block(eb);
                self.b.switch_to_block(tb);
                self.stmts(then)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(eb);
                self.stmts(els)?;
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(merge);
                self.b.seal_block(merge);
                Ok(())
            }
            Stmt::For { var, lo, hi, body } => self.for_loop(*var, lo, hi, body),
            Stmt::Assert {
                cond,
                message,
                span,
            } => {
                let prev = self.at(*span);
                let c = self.truth(cond)?;
                let code = self.site(SiteKind::Message(message.clone()), *span);
                let failed = self.b.ins().icmp_imm_s(IntCC::Equal, c, 0);
                self.fail_if(failed, code, None);
                self.restore(prev);
                Ok(())
            }
            Stmt::Eval(e) => {
                self.expr(e)?;
                Ok(())
            }
        }
    }

    fn for_loop(
        &mut self,
        var: upstare_dsl::checked::VarId,
        lo: &upstare_dsl::checked::Expr,
        hi: &upstare_dsl::checked::Expr,
        body: &[Stmt],
    ) -> L<()> {
        let (v, s) = match self.vars.get(var.0 as usize) {
            Some(&x) => x,
            None => return self.err(lo.span, "a `for` variable that the body does not declare"),
        };
        let Some((bytes, signed)) = s.int() else {
            return self.err(lo.span, "a `for` range needs integers");
        };
        let ty = s.clif();
        let prev = self.at(lo.span.join(hi.span));
        let lo_v = self.expr(lo)?;
        let hi_v = self.expr(hi)?;
        let (lt, _) = (
            if signed {
                IntCC::SignedLessThan
            } else {
                IntCC::UnsignedLessThan
            },
            bytes,
        );
        // The loop budget: the trip count is known on entry.
        let runs = self.b.ins().icmp(lt, lo_v, hi_v);
        let diff = self.b.ins().isub(hi_v, lo_v);
        let trip = if ty == types::I128 {
            // More than 2^64 iterations is past any budget: saturate.
            let (dlo, dhi) = self.b.ins().isplit(diff);
            let max = self.b.ins().iconst(types::I64, -1);
            self.b.ins().select(dhi, max, dlo)
        } else if ty == types::I64 {
            diff
        } else {
            self.b.ins().uextend(types::I64, diff)
        };
        let z = self.b.ins().iconst(types::I64, 0);
        let trip = self.b.ins().select(runs, trip, z);
        let fuel = self.b.ins().load(types::I64, flags(), self.ctx, CTX_FUEL);
        let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, trip, fuel);
        let code = self.site(SiteKind::Fuel, lo.span.join(hi.span));
        self.fail_if(over, code, Some((trip, false)));
        let left = self.b.ins().isub(fuel, trip);
        self.b.ins().store(flags(), left, self.ctx, CTX_FUEL);
        self.restore(prev);

        let header = self.b.create_block();
        let body_b = self.b.create_block();
        let exit = self.b.create_block();
        self.b.append_block_param(header, ty);
        self.b.ins().jump(header, &[BlockArg::Value(lo_v)]);
        self.b.switch_to_block(header);
        let i = self.b.block_params(header)[0];
        let go = self.b.ins().icmp(lt, i, hi_v);
        self.b.ins().brif(go, body_b, &[], exit, &[]);
        self.b.switch_to_block(body_b);
        self.b.seal_block(body_b);
        self.b.def_var(v, i);
        self.stmts(body)?;
        let next = if ty == types::I128 {
            let one = self.iconst(ty, 1);
            self.b.ins().iadd(i, one)
        } else {
            self.b.ins().iadd_imm_s(i, 1)
        };
        self.b.ins().jump(header, &[BlockArg::Value(next)]);
        self.b.seal_block(header);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
        Ok(())
    }

    // ------------------------------------------------------------ conversion plans

    /// Executes a plan from the old bytes at `src` to the new bytes at `dst`.
    pub fn lower_plan(&mut self, plan: &Plan, src: (Value, i64), dst: (Value, i64)) -> L<()> {
        match plan {
            Plan::Scalar { from, to } => {
                let v = self.load_at(*from, src.0, src.1);
                let v = if *from == Scalar::Ptr && *to == Scalar::Ptr {
                    self.relocate(v, self.span)
                } else {
                    self.convert(v, *from, *to)
                };
                self.store_at(v, dst.0, dst.1);
            }
            Plan::Bytes(n) => self.copy_bytes(dst, src, *n),
            Plan::Struct {
                new_size,
                fields,
                rule,
            } => {
                let covered =
                    matches!(fields.as_slice(), [(0, 0, Plan::Bytes(n))] if n == new_size);
                if !covered {
                    self.zero_bytes(dst, *new_size);
                }
                for (noff, ooff, p) in fields {
                    self.lower_plan(
                        p,
                        (src.0, src.1 + *ooff as i64),
                        (dst.0, dst.1 + *noff as i64),
                    )?;
                }
                if let Some(key) = rule {
                    let o = self.addr(src.0, src.1);
                    let n = self.addr(dst.0, dst.1);
                    self.call_rule(*key, o, n);
                }
            }
            Plan::Array {
                count,
                old_stride,
                new_stride,
                elem,
                zero,
            } => {
                if let Some(z) = zero {
                    self.zero_bytes(dst, *z);
                }
                if *count <= 8 {
                    for k in 0..*count {
                        self.lower_plan(
                            elem,
                            (src.0, src.1 + (k * old_stride) as i64),
                            (dst.0, dst.1 + (k * new_stride) as i64),
                        )?;
                    }
                } else {
                    let s0 = self.addr(src.0, src.1);
                    let d0 = self.addr(dst.0, dst.1);
                    let header = self.b.create_block();
                    let body = self.b.create_block();
                    let exit = self.b.create_block();
                    self.b.append_block_param(header, types::I64);
                    let zero = self.b.ins().iconst(types::I64, 0);
                    self.b.ins().jump(header, &[BlockArg::Value(zero)]);
                    self.b.switch_to_block(header);
                    let k = self.b.block_params(header)[0];
                    let go = self
                        .b
                        .ins()
                        .icmp_imm_s(IntCC::UnsignedLessThan, k, *count as i64);
                    self.b.ins().brif(go, body, &[], exit, &[]);
                    self.b.switch_to_block(body);
                    self.b.seal_block(body);
                    let so = self.b.ins().imul_imm_s(k, *old_stride as i64);
                    let s = self.b.ins().iadd(s0, so);
                    let dof = self.b.ins().imul_imm_s(k, *new_stride as i64);
                    let d = self.b.ins().iadd(d0, dof);
                    self.lower_plan(elem, (s, 0), (d, 0))?;
                    let next = self.b.ins().iadd_imm_s(k, 1);
                    self.b.ins().jump(header, &[BlockArg::Value(next)]);
                    self.b.seal_block(header);
                    self.b.switch_to_block(exit);
                    self.b.seal_block(exit);
                }
            }
        }
        Ok(())
    }

    /// `base + off` as one value.
    pub fn addr(&mut self, base: Value, off: i64) -> Value {
        if off == 0 {
            base
        } else {
            self.b.ins().iadd_imm_s(base, off)
        }
    }

    /// (base, off) with an offset that fits a load's immediate.
    fn mem(&mut self, base: Value, off: i64) -> (Value, i32) {
        match i32::try_from(off) {
            Ok(o) => (base, o),
            Err(_) => (self.b.ins().iadd_imm_s(base, off), 0),
        }
    }

    /// Loads a scalar (a `_Bool` is normalised to 0 or 1).
    pub fn load_at(&mut self, s: Scalar, base: Value, off: i64) -> Value {
        let (a, o) = self.mem(base, off);
        let v = self.b.ins().load(s.clif(), flags(), a, o);
        if s == Scalar::Bool {
            self.b.ins().icmp_imm_s(IntCC::NotEqual, v, 0)
        } else {
            v
        }
    }

    pub fn store_at(&mut self, v: Value, base: Value, off: i64) {
        let (a, o) = self.mem(base, off);
        self.b.ins().store(flags(), v, a, o);
    }

    /// Copies `n` bytes (regions may overlap).
    pub fn copy_bytes(&mut self, dst: (Value, i64), src: (Value, i64), n: u64) {
        if n <= 64 {
            // Load everything first, then store: correct for any overlap.
            let mut vals = Vec::new();
            let mut at = 0u64;
            while at < n {
                let w = chunk(n - at);
                let (a, o) = self.mem(src.0, src.1 + at as i64);
                let v = self.b.ins().load(w, flags(), a, o);
                vals.push((at, v));
                at += u64::from(w.bytes());
            }
            for (at, v) in vals {
                let (a, o) = self.mem(dst.0, dst.1 + at as i64);
                self.b.ins().store(flags(), v, a, o);
            }
            return;
        }
        let d = self.addr(dst.0, dst.1);
        let s = self.addr(src.0, src.1);
        let len = self.b.ins().iconst(types::I64, n as i64);
        self.call_addr(
            libc::memmove as *const () as usize,
            &[types::I64, types::I64, types::I64],
            Some(types::I64),
            &[d, s, len],
        );
    }

    pub fn zero_bytes(&mut self, dst: (Value, i64), n: u64) {
        if n <= 64 {
            let mut at = 0u64;
            while at < n {
                let w = chunk(n - at);
                let z = self.b.ins().iconst(w, 0);
                let (a, o) = self.mem(dst.0, dst.1 + at as i64);
                self.b.ins().store(flags(), z, a, o);
                at += u64::from(w.bytes());
            }
            return;
        }
        let d = self.addr(dst.0, dst.1);
        let z = self.b.ins().iconst(types::I32, 0);
        let len = self.b.ins().iconst(types::I64, n as i64);
        self.call_addr(
            libc::memset as *const () as usize,
            &[types::I64, types::I32, types::I64],
            Some(types::I64),
            &[d, z, len],
        );
    }
}

/// The widest integer type of at most `left` bytes (at most 8).
fn chunk(left: u64) -> Type {
    match left {
        8.. => types::I64,
        4..=7 => types::I32,
        2 | 3 => types::I16,
        _ => types::I8,
    }
}
