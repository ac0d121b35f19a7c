//! The plan of one update, made while the program still runs: which globals move where and
//! how, how each old frame record becomes a new one, where old functions and globals went
//! (for relocating pointers), and everything that makes the update impossible.
//!
//! The rules are upstare-meta's automatic defaults (`upstare_meta::diff`); the spec language
//! will override them per item (issue 4/5: `Plan::build` is where its checked rules enter).
//!
//! Deliberately not here: touching any memory. `transfer.rs` executes a plan.

use std::collections::HashMap;

use upstare_dsl::checked::FrameDest;
use upstare_jit::{Compiled, TypeRuleKey};
use upstare_meta::diff::{self, Transfer};
use upstare_meta::transfer::Relocate;
use upstare_meta::{CType, Conv, FuncId, GlobalId, PointId};

use crate::version::Version;

/// One global or static local to fill in the new version.
pub struct GlobalStep {
    pub key: String,
    /// 0 when the new global has no old counterpart (an `init` rule).
    pub old_addr: usize,
    pub old_size: usize,
    pub new_addr: usize,
    pub new_size: usize,
    /// The automatic default (None: the new global keeps its initialiser before the rules).
    pub conv: Option<Conv>,
    /// Spec rules that then run on (old, new): the global's own rule, and the type rule of its
    /// record type.
    pub rule: Option<GlobalId>,
    pub type_rule: Option<ElemRule>,
}

impl GlobalStep {
    /// A global filled by its automatic default `conv` (and a type rule), not by a rule of
    /// its own: old `o` at `oa` becomes new `n` at `na`.
    fn by_default(
        o: &upstare_meta::Global,
        oa: usize,
        n: &upstare_meta::Global,
        na: usize,
        conv: Conv,
        type_rule: Option<ElemRule>,
    ) -> GlobalStep {
        GlobalStep {
            key: n.key.clone(),
            old_addr: oa,
            old_size: o.size as usize,
            new_addr: na,
            new_size: n.size as usize,
            conv: Some(conv),
            rule: None,
            type_rule,
        }
    }
}

/// A type rule that runs on a global of that struct type, or on each element of an array of
/// them.
#[derive(Debug, Clone, Copy)]
pub struct ElemRule {
    pub key: TypeRuleKey,
    pub count: usize,
    pub old_stride: usize,
    pub new_stride: usize,
}

/// How records saved at one old point become records of the new version.
pub struct FrameStep {
    /// The function and point the frame resumes at.
    pub new_func: FuncId,
    pub new_pid: PointId,
    pub new_fd: usize,
    pub new_point: u32,
    pub new_size: usize,
    pub new_align: usize,
    /// The automatic default (None: it could not be made, and the spec's frame rule fills
    /// the record).
    pub conv: Option<Conv>,
    /// The spec's frame rule for the old point, run after the default.
    pub rule: bool,
}

/// Where an old global went: its new address, and whether an interior pointer into it keeps
/// its offset (same layout).
struct Moved {
    start: usize,
    end: usize,
    key: String,
    to: Option<(usize, bool)>,
}

/// Where old globals and functions went: relocates pointer values (see `Relocate` below).
#[derive(Default)]
pub struct Relocator {
    /// Old function entry address -> new one (None: the function was removed).
    functions: HashMap<usize, (String, Option<usize>)>,
    /// Old globals by address (sorted by start).
    moved: Vec<Moved>,
}

pub struct Plan {
    pub globals: Vec<GlobalStep>,
    /// Old point -> how to transform its records, or why they cannot be.
    pub frames: HashMap<PointId, Result<FrameStep, String>>,
    pub reloc: Relocator,
    /// Automatic defaults worth telling the user (new globals, dropped ones, new fields).
    pub notes: Vec<String>,
    /// Refusals: each names an item that needs a rule.
    pub refusals: Vec<String>,
}

impl Plan {
    /// The plan from `old` (the running version) to `new`, with the spec's compiled rules.
    pub fn build(
        old: &Version,
        new: &Version,
        rules: Option<&Compiled>,
        spec: Option<&upstare_dsl::checked::Spec>,
    ) -> Plan {
        let d = diff::diff(&old.meta, &new.meta);
        let mut plan = Plan {
            globals: Vec::new(),
            frames: HashMap::new(),
            reloc: Relocator::default(),
            notes: Vec::new(),
            refusals: Vec::new(),
        };
        // Old globals that a spec rule reads (a rename or move): not dropped.
        let sources: std::collections::HashSet<&str> = rules
            .map(|r| {
                new.meta
                    .globals
                    .iter()
                    .filter_map(|(n, _)| r.global_source(n))
                    .map(|o| old.meta.globals[o].key.as_str())
                    .collect()
            })
            .unwrap_or_default();
        for g in &d.globals {
            let og = g.old.map(|id| &old.meta.globals[id]);
            let ng = g.new.map(|id| &new.meta.globals[id]);
            let old_addr = og.and_then(|o| old.addrs.globals.get(&o.key).copied());
            let new_addr = ng.and_then(|n| new.addrs.globals.get(&n.key).copied());
            if let (Some(o), Some(a)) = (og, old_addr) {
                let to = match (&g.transfer, new_addr) {
                    (Transfer::Copy, Some(n)) => Some((n, true)),
                    (Transfer::Convert(c), Some(n)) => Some((n, c.is_identity())),
                    _ => None,
                };
                plan.reloc.moved.push(Moved {
                    start: a,
                    end: a + o.size.max(1) as usize,
                    key: o.key.clone(),
                    to,
                });
            }
            let rule = g
                .new
                .filter(|&n| rules.is_some_and(|r| r.global_rule(n).is_some()));
            if let (Some(n), Some(r)) = (rule, rules) {
                // The spec's rule decides; the automatic default (if any) runs first.
                let ng = &new.meta.globals[n];
                let Some(na) = new_addr else {
                    plan.refusals.push(format!(
                        "global `{}`: its address is not recorded in the new version",
                        ng.key
                    ));
                    continue;
                };
                let source = r.global_source(n).map(|o| &old.meta.globals[o]);
                let src_addr = source.and_then(|o| old.addrs.globals.get(&o.key).copied());
                let elem_rule = og.and_then(|o| elem_rule(old, o, new, ng, r));
                let conv = match &g.transfer {
                    Transfer::Copy => og.map(|o| Conv::copy(o.size)),
                    Transfer::Convert(c) => Some(c.clone()),
                    // Fields that convert by name still do; the rules set the others.
                    _ => og.and_then(|o| lenient_conv(old, o, new, ng)),
                };
                let same_source = src_addr == old_addr;
                plan.globals.push(GlobalStep {
                    key: ng.key.clone(),
                    old_addr: src_addr.unwrap_or(0),
                    old_size: source.map(|o| o.size as usize).unwrap_or(0),
                    new_addr: na,
                    new_size: ng.size as usize,
                    conv: if same_source { conv } else { None },
                    rule: Some(n),
                    type_rule: if same_source { elem_rule } else { None },
                });
                continue;
            }
            match (&g.transfer, og, ng) {
                // A const global matched by key keeps the new version's value, as it must.
                (Transfer::Init, None, Some(n)) => plan
                    .notes
                    .push(format!("new global `{}` keeps its initialiser", n.key)),
                (Transfer::Dropped, Some(o), _) => {
                    if !sources.contains(o.key.as_str()) {
                        plan.notes.push(format!(
                            "global `{}` was removed: its value is dropped",
                            o.key
                        ))
                    }
                }
                (Transfer::NeedsRule(why), o, n) => {
                    // A type rule for its struct (or its elements' struct) covers it: fields
                    // by name where they convert, the rule for the rest.
                    let covered = match (o, n, old_addr, new_addr, rules) {
                        (Some(o), Some(n), Some(oa), Some(na), Some(r)) => {
                            match (elem_rule(old, o, new, n, r), lenient_conv(old, o, new, n)) {
                                (Some(er), Some(conv)) => {
                                    Some(GlobalStep::by_default(o, oa, n, na, conv, Some(er)))
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    match covered {
                        Some(step) => plan.globals.push(step),
                        None => plan.refusals.push(format!(
                            "global `{}` needs a rule: {why}",
                            o.or(n).map(|x| x.key.as_str()).unwrap_or("?")
                        )),
                    }
                }
                (t @ (Transfer::Copy | Transfer::Convert(_)), Some(o), Some(n)) => {
                    // A const global's new value is its initialiser, in read-only memory.
                    if o.flags.constant || n.flags.constant {
                        continue;
                    }
                    let (Some(oa), Some(na)) = (old_addr, new_addr) else {
                        plan.refusals.push(format!(
                            "global `{}`: its address is not recorded in both versions",
                            o.key
                        ));
                        continue;
                    };
                    let conv = match t {
                        Transfer::Convert(c) => c.clone(),
                        _ => Conv::copy(o.size),
                    };
                    if matches!(t, Transfer::Convert(c) if !c.is_identity()) {
                        plan.notes.push(format!(
                            "global `{}` converted from `{}` to `{}`",
                            o.key, o.ty, n.ty
                        ));
                    }
                    let type_rule = rules.and_then(|r| elem_rule(old, o, new, n, r));
                    plan.globals
                        .push(GlobalStep::by_default(o, oa, n, na, conv, type_rule));
                }
                _ => {}
            }
        }
        // A global a rule moves (`global a -> b`) is found at b by pointers to it.
        for g in plan
            .globals
            .iter()
            .filter(|g| g.rule.is_some() && g.old_addr != 0)
        {
            if let Some(m) = plan.reloc.moved.iter_mut().find(|m| m.start == g.old_addr) {
                if m.to.is_none() {
                    m.to = Some((g.new_addr, false));
                }
            }
        }
        plan.reloc.moved.sort_by_key(|m| m.start);
        // The spec's `function a -> b` and frame rules, also those without a body (which have
        // no compiled code).
        let renamed = |of: FuncId| {
            spec.and_then(|s| s.functions.iter().find(|m| m.old == of))
                .map(|m| m.new)
        };
        let frame_rule = |op: PointId| {
            spec.and_then(|s| s.frames.iter().find(|r| r.old_point == op))
                .map(|r| r.dest)
        };
        for f in &d.functions {
            let target = f.old.and_then(renamed);
            if let Some(of) = f.old {
                plan.map_function(old, new, of, target.or(f.new));
            }
            for p in &f.points {
                let ruled = rules
                    .and_then(|r| r.frame_dest(p.old))
                    .or_else(|| frame_rule(p.old))
                    .or_else(|| {
                        // A renamed function: its frames resume at the point of the same key.
                        let nf = target?;
                        let key = &old.meta.points[p.old].key;
                        let point = new.meta.find_point(nf, key)?;
                        Some(FrameDest::At { func: nf, point })
                    });
                let step = match ruled {
                    Some(FrameDest::At { func, point }) => {
                        let conv = diff::frame_conv(&old.meta, p.old, &new.meta, point).ok();
                        frame_step(new, func, point, conv, true)
                    }
                    Some(FrameDest::Wait) => Err(
                        "the spec says to wait while a frame is stopped here; try the update again later"
                            .into(),
                    ),
                    None => match (&p.frame, p.new, f.new) {
                        (Ok(conv), Some(np), Some(nf)) => {
                            frame_step(new, nf, np, Some(conv.clone()), false)
                        }
                        (Err(why), _, _) => Err(why.clone()),
                        (Ok(_), None, _) | (Ok(_), _, None) => {
                            Err("the point has no counterpart in the new version".into())
                        }
                    },
                };
                plan.frames.insert(p.old, step);
            }
        }
        // `thread a -> b`: threads started at `a` restart at `b` (and pointers to `a` lead there).
        for t in spec.map_or(&[][..], |s| &s.threads) {
            plan.map_function(old, new, t.old, Some(t.new));
        }
        plan
    }

    /// The plan of an update to the same version: nothing moves.
    pub fn identity() -> Plan {
        Plan {
            globals: Vec::new(),
            frames: HashMap::new(),
            reloc: Relocator::default(),
            notes: Vec::new(),
            refusals: Vec::new(),
        }
    }

    fn map_function(&mut self, old: &Version, new: &Version, of: FuncId, nf: Option<FuncId>) {
        let o = &old.meta.functions[of];
        let Some(&oa) = old.addrs.functions.get(&(o.file.clone(), o.name.clone())) else {
            return;
        };
        let na = nf.and_then(|nf| {
            let n = &new.meta.functions[nf];
            new.addrs
                .functions
                .get(&(n.file.clone(), n.name.clone()))
                .copied()
        });
        self.reloc.functions.insert(oa, (o.name.clone(), na));
    }

    /// The new version's address of the function whose old entry is `addr`: Some(None) when it
    /// was removed, None when `addr` is no old function.
    pub fn new_function(&self, addr: usize) -> Option<Option<usize>> {
        self.reloc.functions.get(&addr).map(|(_, n)| *n)
    }
}

/// The struct or union entry of a global's type, or of its elements when it is an array of
/// them: (entry, element count, element size).
fn record_elems(v: &Version, g: &upstare_meta::Global) -> Option<(upstare_meta::TypeId, u64, u64)> {
    let t = v.meta.resolve(&upstare_meta::ctype::parse(&g.ty));
    let (elem, count) = match &t {
        CType::Record { .. } | CType::Typedef(_) => (t.clone(), None),
        CType::Array(e, n) => ((**e).clone(), *n),
        _ => return None,
    };
    if !matches!(elem, CType::Record { .. } | CType::Typedef(_)) {
        return None;
    }
    let r = v.meta.record(&elem)?;
    let stride = v.meta.types[r].size;
    let count = match (&t, count) {
        (CType::Array(..), Some(n)) => n,
        (CType::Array(..), None) if stride > 0 => g.size / stride,
        (CType::Array(..), None) => return None,
        _ => 1,
    };
    Some((r, count, stride))
}

/// The type rule that runs on a global (or each of its elements), if the spec has one for its
/// struct and both versions hold as many.
fn elem_rule(
    old: &Version,
    og: &upstare_meta::Global,
    new: &Version,
    ng: &upstare_meta::Global,
    rules: &Compiled,
) -> Option<ElemRule> {
    let (a, count, old_stride) = record_elems(old, og)?;
    let (b, ncount, new_stride) = record_elems(new, ng)?;
    let key = TypeRuleKey { old: a, new: b };
    (count == ncount && rules.type_rule(key).is_some()).then_some(ElemRule {
        key,
        count: count as usize,
        old_stride: old_stride as usize,
        new_stride: new_stride as usize,
    })
}

/// The by-name default of a struct global (or array of structs) whose conversion needs a rule:
/// fields that convert do, the others are zero for the rules to set.
fn lenient_conv(
    old: &Version,
    og: &upstare_meta::Global,
    new: &Version,
    ng: &upstare_meta::Global,
) -> Option<Conv> {
    let (a, count, os) = record_elems(old, og)?;
    let (b, ncount, ns) = record_elems(new, ng)?;
    if count != ncount {
        return None;
    }
    let elem = diff::record_conv(&old.meta, a, &new.meta, b, true).ok()?;
    let is_array = matches!(
        old.meta.resolve(&upstare_meta::ctype::parse(&og.ty)),
        CType::Array(..)
    );
    Some(if is_array {
        Conv::Array {
            count,
            old_stride: os,
            new_stride: ns,
            elem: Box::new(elem),
        }
    } else {
        elem
    })
}

fn frame_step(
    new: &Version,
    nf: FuncId,
    np: PointId,
    conv: Option<Conv>,
    rule: bool,
) -> Result<FrameStep, String> {
    let f = &new.meta.functions[nf];
    let p = &new.meta.points[np];
    let new_fd = new
        .addrs
        .descriptors
        .get(&(f.file.clone(), f.name.clone()))
        .copied()
        .ok_or_else(|| format!("`{}` of the new version has no descriptor", f.name))?;
    Ok(FrameStep {
        new_func: nf,
        new_pid: np,
        new_fd,
        new_point: p.index,
        new_size: p.record_size as usize,
        new_align: p.record_align as usize,
        conv,
        rule,
    })
}

/// Relocates pointer values while a plan is executed: pointers to old globals and functions
/// become pointers to their new counterparts; other values (heap, stack boxes, libraries,
/// string literals of the old version, which stays mapped) are kept.
/// A shared view of a `Relocator` that `transfer::apply` can use (relocation only reads).
pub struct RelocRef<'a>(pub &'a Relocator);

impl Relocate for RelocRef<'_> {
    fn pointer(&mut self, v: u64) -> Result<u64, String> {
        self.0.relocate(v)
    }
}

impl Relocator {
    /// Replaces every aligned 8-byte word of `bytes` that is the entry of an old function
    /// still present in the new version by the new entry.
    pub fn relocate_function_words(&self, bytes: &mut [u8]) {
        for w in bytes.chunks_exact_mut(8) {
            let v = usize::from_le_bytes(w.try_into().expect("8 bytes"));
            if let Some((_, Some(n))) = self.functions.get(&v) {
                w.copy_from_slice(&n.to_le_bytes());
            }
        }
    }

    /// The new address of the old function at `addr` (Some(None): removed; None: not one).
    pub fn new_function_of(&self, addr: usize) -> Option<Option<usize>> {
        self.functions.get(&addr).map(|(_, n)| *n)
    }

    /// The value a pointer `v` of the old version has in the new one.
    pub fn relocate(&self, v: u64) -> Result<u64, String> {
        let v = v as usize;
        if v == 0 {
            return Ok(0);
        }
        if let Some((name, to)) = self.functions.get(&v) {
            return match to {
                Some(n) => Ok(*n as u64),
                None => Err(format!(
                    "a pointer to function `{name}`, which the new version removed"
                )),
            };
        }
        let i = self.moved.partition_point(|m| m.start <= v);
        if i > 0 {
            let m = &self.moved[i - 1];
            if v < m.end {
                return match m.to {
                    Some((n, _)) if v == m.start => Ok(n as u64),
                    Some((n, true)) => Ok((n + (v - m.start)) as u64),
                    Some((_, false)) => Err(format!(
                        "a pointer into global `{}` (offset {}), whose type changed",
                        m.key,
                        v - m.start
                    )),
                    None => Err(format!(
                        "a pointer to global `{}`, which has no counterpart in the new version",
                        m.key
                    )),
                };
            }
        }
        Ok(v as u64)
    }
}
