//! The heap migration of one update: find every heap object the program can reach, give the
//! ones of changed types a new object of the new type, and redirect every pointer.
//!
//! Phases, all while every thread is parked (update.rs drives them):
//! 1. **Roots** (`root_*`): the old globals and static locals, every frame record's locals
//!    and the boxes of address-taken locals, each read by its declared old type.
//! 2. **Discovery** (`discover`): a worklist over typed pointers. A pointer that lands in a
//!    tracked heap block (track.rs) gives the block a type: the pointee's, with as many objects
//!    as the block holds (`malloc(n * sizeof *p)`), or what a layout hint says. Each block is
//!    scanned once per type (a later, larger view that holds the first at offset 0, such as a
//!    struct whose first member is the other, widens it). Shared objects are found once and
//!    cycles end, because the block table (granules.rs) remembers every block seen.
//! 3. **Allocation** (`allocate`): every block whose type converts to something other than
//!    itself (a changed struct, an array of them, a type with a spec rule) gets a new block of
//!    the new size, beside the old one. From here on every old address has a new one (`map`):
//!    an address inside a migrated block moves to the same element and field of the new block
//!    (a pointer into a dropped field fails the update); addresses of old globals and
//!    functions move as the plan says; anything else stays.
//! 4. **Conversion** (`convert_defaults`, `case_fixups`): each new object is filled by the
//!    automatic default (field by field by name, pointers mapped; the pointers of the union
//!    member a `case` hint chooses too) and then by the spec's type rule, if any.
//!    Rules may ask for more objects (`migrate(p)`), which are discovered and allocated on the
//!    spot and converted in turn.
//! 5. **Patches** (`patches`): old objects that stay where they are (unchanged types) and the
//!    boxes of frames may hold pointers that moved; what to write there is computed now and
//!    written only at commit.
//!
//! Commit (`commit`) writes the patches, registers the new blocks with the tracker and hands
//! back the old blocks, which update.rs frees once the threads run again. Abort (`abort`, or
//! dropping) frees the new blocks: the old heap was never written, so it is byte for byte as
//! it was.
//!
//! Honest limits: pointers held only by memory the program did not allocate through tracked
//! calls (library structures) are neither found nor redirected; a `void *` with no layout hint
//! is not followed, and when the block it leads to is reached by nothing typed while objects of
//! a changed type of that size exist, the update is refused (`untyped`), naming where the
//! pointer was found.

use upstare_jit::{Compiled, Rule, TypeRuleKey};
use upstare_meta::transfer::Relocate;
use upstare_meta::{CType, Conv, Module};

use super::flat::Flat;
use super::granules::{huge_pages, GranuleMap};
use super::shape::{Count, Shape, ShapeId, Shapes, Slot, Target, Untyped};
use super::track::{self, Readable};
use crate::plan::Relocator;

/// The size of glibc's non-main arena heaps (64 MiB on 64-bit systems), the unit in which the
/// allocator maps memory for the blocks made here.
const ARENA: usize = 64 << 20;

/// How objects of one old shape become new ones (None in `Heap::plans`: they stay).
struct ObjPlan<'a> {
    conv: Conv,
    /// `conv`, flattened for running once per object.
    flat: Flat,
    old_size: u64,
    new_size: u64,
    /// The type rule that runs after the default, found once.
    rule: Option<&'a Rule>,
}

/// One heap block the traversal reached. Kept small (32 bytes): a large update has millions,
/// and each new page of this table is a page fault inside the pause.
struct BlockInfo {
    start: usize,
    /// The new block (0: the block stays).
    new: usize,
    len: u32,
    new_len: u32,
    count: u32,
    /// Its element type, once a typed pointer reached it.
    shape: Option<ShapeId>,
}

impl BlockInfo {
    fn len(&self) -> usize {
        self.len as usize
    }

    fn count(&self) -> u64 {
        u64::from(self.count)
    }

    fn new_len(&self) -> usize {
        self.new_len as usize
    }
}

/// Where an untyped pointer was found, for the refusal message.
#[derive(Clone, Copy)]
pub enum Origin {
    Global(upstare_meta::GlobalId),
    Local(upstare_meta::PointId, u32),
    Field(ShapeId, u64),
    Other,
}

pub struct Heap<'a> {
    old: &'a Module,
    new: &'a Module,
    rules: Option<&'a Compiled>,
    pub shapes: Shapes<'a>,
    readable: Readable,
    /// Block start -> index + 1 into `blocks`.
    fwd: GranuleMap,
    blocks: Vec<BlockInfo>,
    /// Blocks whose objects are to be scanned.
    work: Vec<u32>,
    /// Blocks typed since the last `allocate` (also by a rule's `migrate`).
    to_allocate: Vec<u32>,
    /// Whether any block migrates (no pointer needs mapping otherwise).
    any_migrated: bool,
    /// Per shape: how its objects convert (`None`: they stay), decided once.
    plans: Vec<Option<Result<Option<ObjPlan<'a>>, String>>>,
    /// Old memory that stays but is typed (boxes): (address, shape, count), patched at commit.
    kept_regions: Vec<(usize, ShapeId, u64)>,
    /// `void *` values found, and where.
    untyped: Vec<(usize, Origin)>,
    /// `char *` values found, and where.
    bytes: Vec<(usize, Origin)>,
    /// Typed views accepted before the block's type was known for sure: (block, shape,
    /// offset), checked against the final type (`check_views`).
    to_verify: Vec<(u32, ShapeId, u64)>,
    /// Blocks typed by a pointer to a scalar or pointer type: the offset it pointed to.
    scalar_views: std::collections::HashMap<u32, u64>,
    /// The tracking state of each migrated block's new block (`track::prepare`), by position
    /// in `order`; set at commit.
    new_states: Vec<u8>,
    /// Blocks reached as two unrelated types: (block, first, second).
    conflicts: Vec<(u32, ShapeId, ShapeId)>,
    /// Problems that refuse the update.
    pub errors: Vec<String>,
    /// Blocks converted so far (an index into `order`).
    converted: usize,
    /// Migrated blocks in allocation order.
    order: Vec<u32>,
    /// Extra blocks made for rules (`migrate_str`): (pointer, length).
    extra: Vec<(usize, usize)>,
    /// Hint expressions run with their own services (they only read old memory).
    hint_services: upstare_jit::Services<'static>,
}

/// What commit hands back: the old blocks to free once the program runs again.
pub struct Garbage(Vec<usize>);

impl Garbage {
    pub fn free(self) {
        for p in self.0 {
            track::forget(p as *mut u8);
            // SAFETY: a block of the old heap that every pointer has left (its migrated copy
            // replaced it at commit); allocated by the program through the tracked malloc.
            unsafe { libc::free(p as *mut libc::c_void) };
        }
    }
}

/// Reads the 8-byte word at `p`.
///
/// # Safety
/// `p` must be readable for 8 bytes.
unsafe fn word(p: usize) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { (p as *const u64).read_unaligned() }
}

impl<'a> Heap<'a> {
    pub fn new(
        old: &'a Module,
        new: &'a Module,
        layouts: &'a [upstare_dsl::checked::Layout],
        rules: Option<&'a Compiled>,
    ) -> Heap<'a> {
        Heap {
            old,
            new,
            rules,
            shapes: Shapes::new(old, layouts),
            readable: Readable::now(),
            fwd: GranuleMap::new(),
            blocks: Vec::new(),
            work: Vec::new(),
            any_migrated: false,
            plans: Vec::new(),
            kept_regions: Vec::new(),
            untyped: Vec::new(),
            bytes: Vec::new(),
            to_verify: Vec::new(),
            scalar_views: std::collections::HashMap::new(),
            new_states: Vec::new(),
            conflicts: Vec::new(),
            errors: Vec::new(),
            converted: 0,
            to_allocate: Vec::new(),
            order: Vec::new(),
            extra: Vec::new(),
            hint_services: upstare_jit::Services::standalone(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // 1. Roots

    /// A value of old type `text` at `addr` (a global, or a local in an old record): its
    /// pointers are followed; the value itself is converted by the plan, not here.
    pub fn root_value(&mut self, addr: usize, text: &str, size: u64, origin: Origin) {
        let s = self.shapes.of_text(text);
        if let CType::Array(elem, None) = &self.shapes.get(s).ty {
            // `T x[]`: as many elements as the object's size holds.
            let elem = (**elem).clone();
            let e = self.shapes.of(&elem, &[]);
            let es = self.shapes.get(e).size;
            if es > 0 && !self.shapes.get(e).slots.is_empty() {
                for k in 0..size / es {
                    self.scan_value(addr + (k * es) as usize, e, origin);
                }
            }
            return;
        }
        self.scan_value(addr, s, origin);
    }

    /// An old global with a layout hint of its own.
    pub fn root_hinted_global(&mut self, addr: usize, g: upstare_meta::GlobalId) -> bool {
        let Some((layout, hint)) = self.shapes.global_hint(g) else {
            return false;
        };
        let mut slots = Vec::new();
        let ty = self
            .old
            .resolve(&upstare_meta::ctype::parse(&self.old.globals[g].ty));
        let at = super::shape::Place { off: 0, hold: 0 };
        self.shapes
            .hinted(hint, &ty, &[], layout, 0, at, &mut slots);
        for s in slots {
            self.visit_slot(addr, s, Origin::Global(g));
        }
        true
    }

    /// A box of an address-taken local (old memory the new frame keeps): followed, and its
    /// pointers are patched at commit.
    pub fn root_box(&mut self, addr: usize, text: &str, origin: Origin) {
        let s = self.shapes.of_text(text);
        if self.shapes.get(s).slots.is_empty() {
            return;
        }
        self.kept_regions.push((addr, s, 1));
        self.scan_value(addr, s, origin);
    }

    /// A pointer of unknown type (a thread's start argument).
    pub fn root_untyped(&mut self, v: usize) {
        self.reach(v as u64, Target::Untyped(Untyped::Void), 0, Origin::Other);
    }

    fn scan_value(&mut self, addr: usize, s: ShapeId, origin: Origin) {
        let n = self.shapes.get(s).slots.len();
        for i in 0..n {
            let slot = self.shapes.get(s).slots[i];
            let o = match origin {
                Origin::Other => Origin::Field(s, slot.off),
                o => o,
            };
            self.visit_slot(addr, slot, o);
        }
    }

    /// One slot of the value at `addr`: its pointer followed, or for a `case`, the slots of
    /// the arm whose condition holds for this object.
    fn visit_slot(&mut self, addr: usize, slot: Slot, origin: Origin) {
        if let Target::Case(c) = slot.target {
            let Some(arm) = self.case_arm(addr, slot, c) else {
                return;
            };
            let n = self.shapes.case(c).arms[arm].slots.len();
            for i in 0..n {
                let inner = self.shapes.case(c).arms[arm].slots[i];
                self.visit_slot(addr, inner, origin);
            }
            return;
        }
        // SAFETY: `addr` holds a value whose slots lie inside it.
        let v = unsafe { word(addr + slot.off as usize) };
        self.reach(v, slot.target, addr + slot.hold as usize, origin);
    }

    /// The arm of `case` hint `c` that holds for the value at `addr` (None: no arm holds, or
    /// a condition failed, which is an error of the update).
    fn case_arm(&mut self, addr: usize, slot: Slot, c: u32) -> Option<usize> {
        let layout = self.shapes.case(c).layout;
        for a in 0..self.shapes.case(c).arms.len() {
            let Some(cond) = self.shapes.case(c).arms[a].cond else {
                return Some(a);
            };
            match self.hint_value(layout, cond, addr + slot.hold as usize) {
                Ok(0) => {}
                Ok(_) => return Some(a),
                Err(e) => {
                    self.errors.push(e);
                    return None;
                }
            }
        }
        None
    }

    /// The plain pointer slots of the value at `addr` of shape `s`, with `case` arms chosen
    /// for this object.
    fn object_slots(&mut self, addr: usize, s: ShapeId, out: &mut Vec<Slot>) {
        out.clear();
        let n = self.shapes.get(s).slots.len();
        for i in 0..n {
            let slot = self.shapes.get(s).slots[i];
            self.flatten_slot(addr, slot, out);
        }
    }

    fn flatten_slot(&mut self, addr: usize, slot: Slot, out: &mut Vec<Slot>) {
        match slot.target {
            Target::Case(c) => {
                let Some(arm) = self.case_arm(addr, slot, c) else {
                    return;
                };
                let n = self.shapes.case(c).arms[arm].slots.len();
                for i in 0..n {
                    let inner = self.shapes.case(c).arms[arm].slots[i];
                    self.flatten_slot(addr, inner, out);
                }
            }
            _ => out.push(slot),
        }
    }

    // -----------------------------------------------------------------------------------------
    // 2. Discovery

    /// A pointer value `v` found in the object at `holder`, leading to `target`.
    fn reach(&mut self, v: u64, target: Target, holder: usize, origin: Origin) {
        if v == 0 {
            return;
        }
        let v = v as usize;
        match target {
            Target::Untyped(Untyped::Void) => self.untyped.push((v, origin)),
            Target::Untyped(Untyped::Char) => self.bytes.push((v, origin)),
            Target::Untyped(Untyped::Other) => {}
            // Chosen per object by `visit_slot` before reaching here.
            Target::Case(_) => {}
            Target::Typed { shape, count } => {
                let count = match count {
                    Count::Block => None,
                    Count::One => Some(1),
                    Count::Nul => None,
                    Count::Expr(layout, expr) => match self.hint_value(layout, expr, holder) {
                        Ok(n) => Some(n),
                        Err(e) => {
                            self.errors.push(e);
                            return;
                        }
                    },
                };
                let nul = matches!(
                    target,
                    Target::Typed {
                        count: Count::Nul,
                        ..
                    }
                );
                self.view(v, shape, count, nul);
            }
        }
    }

    /// Runs a layout hint's expression on the object at `holder`.
    fn hint_value(&mut self, layout: usize, expr: usize, holder: usize) -> Result<u64, String> {
        let Some(rule) = self.rules.and_then(|r| r.hint_exprs(layout).get(expr)) else {
            return Err("a layout hint's length has no compiled expression".into());
        };
        let mut out = 0u64;
        // SAFETY: the hint's expression reads the old object it belongs to and writes `out`.
        unsafe {
            rule.run(
                holder as *const u8,
                &mut out as *mut u64 as *mut u8,
                &mut self.hint_services,
            )
        }
        .map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// The block holding `v`, registered in the table (its index), if `v` is in the heap.
    fn block_of(&mut self, v: usize) -> Option<u32> {
        let id = self.fwd.get(v);
        if id != 0 && self.blocks[id as usize - 1].start == v {
            return Some(id - 1);
        }
        let b = track::lookup(v, &self.readable)?;
        let id = self.fwd.get(b.start);
        if id != 0 && self.blocks[id as usize - 1].start == b.start {
            return Some(id - 1);
        }
        // Blocks of 4 GiB and more are not followed (the records keep 32-bit lengths).
        let len = u32::try_from(b.len).ok()?;
        let id = self.blocks.len() as u32;
        if !self.fwd.set(b.start, id + 1) {
            self.errors
                .push("out of memory for the heap traversal's block table".into());
            return None;
        }
        self.blocks.push(BlockInfo {
            start: b.start,
            new: 0,
            len,
            new_len: 0,
            count: 0,
            shape: None,
        });
        Some(id)
    }

    /// A typed view of the object at `v`: types its block (or checks it against the type it
    /// has) and queues the block for scanning.
    fn view(&mut self, v: usize, s: ShapeId, count: Option<u64>, nul: bool) {
        let Some(id) = self.block_of(v) else {
            return;
        };
        let size = self.shapes.get(s).size;
        if size == 0 {
            return;
        }
        let (start, len, cur) = {
            let b = &self.blocks[id as usize];
            (b.start, b.len(), b.shape)
        };
        let off = (v - start) as u64;
        match cur {
            None => {
                if !off.is_multiple_of(size) || off >= len as u64 {
                    // A pointer to a field or one past the end: it says nothing of the block.
                    return;
                }
                let fit = len as u64 / size;
                let mut n = if self.shapes.get(s).flexible {
                    fit.min(1)
                } else {
                    fit
                };
                if let Some(c) = count {
                    n = n.min(off / size + c);
                }
                if nul {
                    n = n.min(self.nul_count(start, size, fit));
                }
                let b = &mut self.blocks[id as usize];
                b.shape = Some(s);
                b.count = n as u32;
                if self.shapes.get(s).record.is_none() {
                    // Where the pointer that typed it pointed, for a later wider view.
                    self.scalar_views.insert(id, off);
                }
                self.work.push(id);
                self.to_allocate.push(id);
            }
            Some(e) if e == s => {}
            Some(e) => {
                let es = self.shapes.get(e).size;
                if es > 0 && self.contains_compatible(e, off % es, s) {
                    return;
                }
                let (e_record, s_record) = (
                    self.shapes.get(e).record.is_some(),
                    self.shapes.get(s).record.is_some(),
                );
                let migrated = self.blocks[id as usize].new != 0;
                if !migrated && !e_record && s_record && off.is_multiple_of(size) {
                    // The block was seen through a pointer to one of the struct's fields
                    // first: it holds the structs if that pointer lands on such a field
                    // (checked once the block's type is final).
                    let b = &mut self.blocks[id as usize];
                    b.shape = Some(s);
                    b.count = (len as u64 / size) as u32;
                    let first = self.scalar_views.remove(&id).unwrap_or(0);
                    self.to_verify.push((id, e, first));
                    self.work.push(id);
                    self.to_allocate.push(id);
                    return;
                }
                if !migrated && off == 0 && size > es && self.contains(s, 0, e, 0) {
                    // The block holds the larger type (its first member is the other).
                    let b = &mut self.blocks[id as usize];
                    b.shape = Some(s);
                    b.count = (len as u64 / size).max(u64::from(len as u64 >= size)) as u32;
                    self.work.push(id);
                    self.to_allocate.push(id);
                    return;
                }
                self.conflicts.push((id, e, s));
            }
        }
    }

    /// Elements up to and including the first all-zero one, at most `max`.
    fn nul_count(&self, start: usize, size: u64, max: u64) -> u64 {
        for k in 0..max {
            let p = start + (k * size) as usize;
            // SAFETY: inside the block, which is readable for its length.
            let e = unsafe { std::slice::from_raw_parts(p as *const u8, size as usize) };
            if e.iter().all(|&b| b == 0) {
                return k + 1;
            }
        }
        max
    }

    /// Whether a value of shape `inner` lies at offset `off` of a value of shape `outer`
    /// (the same type, a field, a field of a field, an element).
    fn contains(&mut self, outer: ShapeId, off: u64, inner: ShapeId, depth: usize) -> bool {
        self.contains_where(outer, off, &|id, _| id == inner, depth)
    }

    /// Whether a value for which `is` holds lies at offset `off` of a value of shape `outer`.
    fn contains_where(
        &mut self,
        outer: ShapeId,
        off: u64,
        is: &dyn Fn(ShapeId, &Shape) -> bool,
        depth: usize,
    ) -> bool {
        if depth > 16 {
            return false;
        }
        let (oty, osize) = {
            let o = self.shapes.get(outer);
            (o.ty.clone(), o.size)
        };
        if off == 0 && is(outer, self.shapes.get(outer)) {
            return true;
        }
        if off >= osize {
            return false;
        }
        match &oty {
            CType::Array(elem, _) => {
                let es = self.old.size_of(elem).unwrap_or(0);
                if es == 0 {
                    return false;
                }
                let e = self.shapes.of(elem, &[]);
                self.contains_where(e, off % es, is, depth + 1)
            }
            _ => {
                let Some(r) = self.shapes.get(outer).record else {
                    return false;
                };
                let fields: Vec<(u64, u64, String)> = self.old.types[r]
                    .fields
                    .iter()
                    .filter_map(|f| match f.layout {
                        upstare_meta::FieldLayout::Bytes { offset, size } => {
                            Some((offset, size, f.ty.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                for (fo, fs, ty) in fields {
                    if fo <= off && off < fo + fs.max(1) {
                        let f = self.shapes.of_text(&ty);
                        if self.contains_where(f, off - fo, is, depth + 1) {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }

    /// Scans queued blocks until none is left.
    pub fn discover(&mut self) {
        while let Some(id) = self.work.pop() {
            let (start, s, count) = {
                let b = &self.blocks[id as usize];
                (
                    b.start,
                    b.shape.expect("queued blocks are typed"),
                    b.count(),
                )
            };
            let size = self.shapes.get(s).size as usize;
            for k in 0..count as usize {
                self.scan_value(start + k * size, s, Origin::Other);
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // 3. Allocation

    /// How objects of shape `s` convert (decided once per shape). A type that cannot convert
    /// is reported once, when an object of it is reached (`report`).
    fn plan_of(&mut self, s: ShapeId) -> Option<&ObjPlan<'a>> {
        self.plan_entry(s, true)
    }

    /// The compiled type rule for `key`.
    fn rule_of(&self, key: TypeRuleKey) -> Option<&'a Rule> {
        self.rules?.type_rule(key)
    }

    /// The plan of a shape whose blocks migrated.
    fn plan_ref(&self, s: ShapeId) -> &ObjPlan<'a> {
        match &self.plans[s.index()] {
            Some(Ok(Some(p))) => p,
            _ => unreachable!("migrated blocks have a plan"),
        }
    }

    /// Whether objects of shape `s` would change (also when they cannot convert).
    fn changes(&mut self, s: ShapeId) -> bool {
        self.plan_entry(s, false);
        !matches!(self.plans[s.index()], Some(Ok(None)))
    }

    fn plan_entry(&mut self, s: ShapeId, report: bool) -> Option<&ObjPlan<'a>> {
        let i = s.index();
        if self.plans.len() <= i {
            self.plans.resize_with(i + 1, || None);
        }
        if self.plans[i].is_none() {
            let p = self.make_plan(s);
            self.plans[i] = Some(p);
        }
        if report {
            if let Some(Err(e)) = &self.plans[i] {
                let e = e.clone();
                // Reported once: the entry becomes "stays".
                self.plans[i] = Some(Ok(None));
                self.errors.push(e);
            }
        }
        match &self.plans[i] {
            Some(Ok(p)) => p.as_ref(),
            _ => None,
        }
    }

    fn make_plan(&mut self, s: ShapeId) -> Result<Option<ObjPlan<'a>>, String> {
        let sh = self.shapes.get(s);
        let old_size = sh.size;
        match sh.record {
            Some(a) => {
                let rule = self
                    .rules
                    .and_then(|r| r.type_rules().map(|(k, _)| *k).find(|k| k.old == a));
                let b = match rule {
                    Some(k) => Some(k.new),
                    None => self.new.find_type(&self.old.types[a].name),
                };
                let Some(b) = b else {
                    // The type is gone: its objects stay (whatever pointed to them changed too).
                    return Ok(None);
                };
                match upstare_meta::diff::record_conv(self.old, a, self.new, b, rule.is_some()) {
                    Ok(conv) if conv.is_identity() && rule.is_none() => Ok(None),
                    Ok(conv) => Ok(Some(ObjPlan {
                        new_size: self.new.types[b].size,
                        flat: Flat::new(&conv),
                        conv,
                        old_size,
                        rule: rule.and_then(|k| self.rule_of(k)),
                    })),
                    Err(why) => Err(format!(
                        "heap objects of `{}` cannot be converted automatically: {why} (give a type rule)",
                        self.old.types[a].name
                    )),
                }
            }
            None => {
                let text = sh.ty.to_string();
                match upstare_meta::diff::value_conv(self.old, &text, self.new, &text) {
                    Ok(conv) if conv.is_identity() => Ok(None),
                    Ok(conv) => Ok(Some(ObjPlan {
                        new_size: conv.new_size(),
                        flat: Flat::new(&conv),
                        conv,
                        old_size,
                        rule: None,
                    })),
                    // Unknown or opaque types stay as they are.
                    Err(_) => Ok(None),
                }
            }
        }
    }

    /// Gives every typed block whose objects change, and that has none yet, a new block.
    pub fn allocate(&mut self) {
        let mut pending: Vec<(u32, usize)> = Vec::new();
        let mut typed = std::mem::take(&mut self.to_allocate);
        // A block typed twice (widened) is listed twice; ids are in discovery order.
        typed.sort_unstable();
        typed.dedup();
        for id in typed {
            let id = id as usize;
            let (s, count, len, new) = {
                let b = &self.blocks[id];
                (b.shape, b.count(), b.len(), b.new)
            };
            let Some(s) = s else { continue };
            if new != 0 || count == 0 {
                continue;
            }
            let Some(plan) = self.plan_of(s) else {
                continue;
            };
            let (os, ns) = (plan.old_size, plan.new_size);
            let tail = (len as u64).saturating_sub(count * os);
            pending.push((id as u32, (count * ns + tail) as usize));
        }
        // Many small blocks: the allocator's page faults dominate, so both cores take part.
        // Enough blocks that growing the arena page by page would cost more than growing it
        // ahead (and, for very many, asking for huge pages).
        let many = pending.len() >= 256;
        let news: Vec<(usize, u8)> = split(pending.len(), |r| {
            let bytes: usize = if many {
                pending[r.clone()].iter().map(|p| p.1 + 16).sum()
            } else {
                0
            };
            let keeper = if many { grow_arena(bytes) } else { None };
            let mut arena = 0;
            let out = r
                .map(|i| {
                    let n = pending[i].1;
                    // SAFETY: plain allocation; freed on abort or owned by the program after commit.
                    let p = unsafe { libc::malloc(n.max(1)) as usize };
                    if p == 0 {
                        return (0, 0);
                    }
                    if many && p & !(ARENA - 1) != arena {
                        // A new arena heap (or the first block): where the next blocks will be.
                        arena = p & !(ARENA - 1);
                        huge_pages(p, bytes.min(ARENA));
                    }
                    // The tracking trailer goes past the object, so conversion cannot touch it.
                    (p, track::prepare(p as *mut u8, n))
                })
                .collect::<Vec<(usize, u8)>>();
            if let Some(k) = keeper {
                // SAFETY: allocated by grow_arena, unused.
                unsafe { libc::free(k) };
            }
            out
        })
        .concat();
        for (&(id, new_len), (p, st)) in pending.iter().zip(news) {
            if p == 0 {
                self.errors.push(format!(
                    "out of memory migrating a heap block of {new_len} bytes"
                ));
                continue;
            }
            let Ok(n) = u32::try_from(new_len) else {
                self.errors.push(format!(
                    "a migrated heap block would have {new_len} bytes (4 GiB or more)"
                ));
                // SAFETY: allocated above, referenced by nothing.
                unsafe { libc::free(p as *mut libc::c_void) };
                continue;
            };
            let b = &mut self.blocks[id as usize];
            b.new = p;
            b.new_len = n;
            self.new_states.push(st);
            self.any_migrated = true;
            self.order.push(id);
        }
    }

    /// Checks what the traversal could not check while it ran, once every block's type is
    /// final, and refuses (an error each, like ones grouped) where the heap cannot be read
    /// with certainty:
    /// - a `void *` leading to a block that no typed pointer reaches, while objects of that
    ///   size change type;
    /// - a block reached as two unrelated types one of which changes;
    /// - a pointer to a scalar (or a `char *`) into a block that migrates, where its type has
    ///   no such field: a stale pointer into memory freed and reused (a popped vector slot),
    ///   or a disagreement; migrating would rewrite the object the other pointer sees.
    pub fn check_views(&mut self, describe: &dyn Fn((Origin, Option<String>)) -> String) {
        let mut found: Vec<(String, usize)> = Vec::new();
        let mut note = |msg: String| match found.iter_mut().find(|(m, _)| *m == msg) {
            Some((_, n)) => *n += 1,
            None => found.push((msg, 1)),
        };
        let untyped = std::mem::take(&mut self.untyped);
        let sizes = if untyped.is_empty() {
            Vec::new()
        } else {
            self.changed_sizes()
        };
        let mut reported = std::collections::HashSet::new();
        for (v, origin) in untyped {
            let Some(b) = track::lookup(v, &self.readable) else {
                continue;
            };
            let id = self.fwd.get(b.start);
            if id != 0 && self.blocks[id as usize - 1].shape.is_some() {
                continue;
            }
            let fits = sizes
                .iter()
                .any(|&s| s > 0 && b.len as u64 >= s && b.len as u64 % s < 16.min(s));
            if fits && reported.insert(b.start) {
                let name = self.origin_type(origin);
                note(format!(
                    "a `void *` in {} leads to a heap block of {} bytes that no typed pointer reaches, and objects of that size change type: say what it holds with a layout hint (`layout ... : T*;` or `opaque`)",
                    describe((origin, name)),
                    b.len
                ));
            }
        }
        for (id, e, off) in std::mem::take(&mut self.to_verify) {
            let Some(s) = self.blocks[id as usize].shape else {
                continue;
            };
            let size = self.shapes.get(s).size.max(1);
            if !self.contains_compatible(s, off % size, e) {
                self.conflicts.push((id, s, e));
            }
        }
        for (id, a, b) in std::mem::take(&mut self.conflicts) {
            if self.changes(a) || self.changes(b) {
                let blk = &self.blocks[id as usize];
                note(format!(
                    "a heap block of {} bytes is reached both as `{}` and as `{}`: which type it holds is ambiguous (a stale pointer to memory freed and reused, or a cast; a layout hint can say `opaque`)",
                    blk.len(),
                    self.shapes.get(a).ty,
                    self.shapes.get(b).ty
                ));
            }
        }
        for (v, origin) in std::mem::take(&mut self.bytes) {
            let Some(b) = track::lookup(v, &self.readable) else {
                continue;
            };
            let id = self.fwd.get(b.start);
            if id == 0 {
                continue;
            }
            let blk = &self.blocks[id as usize - 1];
            let (Some(s), start) = (blk.shape, blk.start) else {
                continue;
            };
            if blk.start != b.start || !self.changes(s) {
                continue;
            }
            let size = self.shapes.get(s).size.max(1);
            let off = (v - start) as u64 % size;
            let bytes_there = self.contains_where(s, off, &|_, sh| is_byte(&sh.ty), 0);
            if !bytes_there {
                let name = self.origin_type(origin);
                note(format!(
                    "a `char *` in {} points into a heap object of `{}` that migrates, where it holds no characters (offset {off}): a stale pointer to memory freed and reused, or a cast; say `opaque` in a layout hint if it is stale",
                    describe((origin, name)),
                    self.shapes.get(s).ty
                ));
            }
        }
        for (msg, n) in found {
            self.errors.push(if n > 1 {
                format!("{msg} (and {} more like it)", n - 1)
            } else {
                msg
            });
        }
    }

    /// The type of the object a pointer was found in, for messages.
    fn origin_type(&self, o: Origin) -> Option<String> {
        match o {
            Origin::Field(s, _) => Some(self.shapes.get(s).ty.to_string()),
            _ => None,
        }
    }

    /// Whether a value of shape `inner` (or of a compatible scalar: an integer of the same
    /// size, any pointer) lies at offset `off` of a value of shape `outer`.
    fn contains_compatible(&mut self, outer: ShapeId, off: u64, inner: ShapeId) -> bool {
        let it = self.shapes.get(inner).ty.clone();
        let isz = self.shapes.get(inner).size;
        self.contains_where(
            outer,
            off,
            &|id, sh| {
                id == inner
                    || (sh.size == isz
                        && ((is_integer(&sh.ty) && is_integer(&it))
                            || (matches!(sh.ty, CType::Pointer(_))
                                && matches!(it, CType::Pointer(_)))))
            },
            0,
        )
    }

    /// The sizes of the old structs whose objects would migrate (a changed layout or a type
    /// rule), whether or not any was reached.
    fn changed_sizes(&mut self) -> Vec<u64> {
        let records: Vec<CType> = self
            .old
            .types
            .iter()
            .filter(|(_, t)| t.name.starts_with("struct "))
            .map(|(_, t)| upstare_meta::ctype::parse(&t.name))
            .collect();
        let mut out = Vec::new();
        for t in records {
            let s = self.shapes.of(&t, &[]);
            if self.changes(s) {
                out.push(self.shapes.get(s).size);
            }
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Mapping old addresses to new ones

    /// Where the old address `v` is after the update (heap moves only; None: not a migrated
    /// block, ask the plan's relocator).
    fn map_heap(&self, v: usize) -> Option<Result<usize, String>> {
        let id = self.fwd.get(v);
        if id != 0 {
            let b = &self.blocks[id as usize - 1];
            if b.start == v {
                return (b.new != 0).then_some(Ok(b.new));
            }
        }
        if !self.any_migrated {
            return None;
        }
        // Inside a block (or one past its end): the bitmap knows where it starts.
        let blk = track::lookup(v, &self.readable)?;
        let id = self.fwd.get(blk.start);
        if id == 0 {
            return None;
        }
        let b = &self.blocks[id as usize - 1];
        if b.start != blk.start || b.new == 0 || v > b.start + b.len() {
            return None;
        }
        let s = b.shape.expect("migrated blocks are typed");
        let plan = self.plan_ref(s);
        let off = (v - b.start) as u64;
        let whole = b.count() * plan.old_size;
        if off >= whole {
            return Some(Ok(
                b.new + (b.count() * plan.new_size + (off - whole)) as usize
            ));
        }
        let (k, inner) = (off / plan.old_size, off % plan.old_size);
        if inner == 0 {
            // An element's address (the type of the pointer is not known here: a pointer to
            // its first field is taken to be one to the element, which C makes the same).
            return Some(Ok(b.new + (k * plan.new_size) as usize));
        }
        Some(match inner_offset(&plan.conv, inner) {
            Some(n) => Ok(b.new + (k * plan.new_size + n) as usize),
            None => Err(format!(
                "a pointer into a `{}` object (offset {inner}) leads to a field the new type does not have",
                self.shapes.get(s).ty
            )),
        })
    }

    /// The new value of an old pointer: heap moves, then globals and functions.
    pub fn map(&self, reloc: &Relocator, v: u64) -> Result<u64, String> {
        if v == 0 {
            return Ok(0);
        }
        match self.map_heap(v as usize) {
            Some(r) => r.map(|p| p as u64),
            None => reloc.relocate(v),
        }
    }

    /// Replaces, in a converted frame record, every aligned word that is the start of a
    /// migrated block by the new block (compiler temporaries are typed `__typeof__(...)`,
    /// which the metadata cannot read, so their conversion copied them as bytes).
    pub fn relocate_block_words(&self, bytes: &mut [u8]) {
        if !self.any_migrated {
            return;
        }
        for w in bytes.chunks_exact_mut(8) {
            let v = usize::from_le_bytes(w.try_into().expect("8 bytes"));
            let id = self.fwd.get(v);
            if id != 0 {
                let b = &self.blocks[id as usize - 1];
                if b.start == v && b.new != 0 {
                    w.copy_from_slice(&b.new.to_le_bytes());
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // 4. Conversion

    /// The migrated blocks not converted yet, as a range of conversion indexes (`job`).
    pub fn take_batch(&mut self) -> std::ops::Range<usize> {
        let r = self.converted..self.order.len();
        self.converted = self.order.len();
        r
    }

    /// The conversion of the `k`-th migrated block.
    pub fn job(&self, k: usize) -> Job<'a> {
        let b = &self.blocks[self.order[k] as usize];
        let s = b.shape.expect("migrated blocks are typed");
        let plan = self.plan_ref(s);
        Job {
            old: b.start,
            new: b.new,
            count: b.count(),
            old_size: plan.old_size,
            new_size: plan.new_size,
            tail: (b.len() as u64).saturating_sub(b.count() * plan.old_size),
            rule: plan.rule,
            ty: s,
        }
    }

    /// Whether any type rule runs on heap objects.
    pub fn has_type_rules(&self) -> bool {
        self.rules.is_some_and(|r| r.type_rules().next().is_some())
    }

    /// Fills the new objects of a batch with the automatic default, on both cores when there
    /// are many.
    pub fn convert_defaults(
        &self,
        batch: std::ops::Range<usize>,
        reloc: &Relocator,
    ) -> Result<(), String> {
        let shared = Shared(self);
        let base = batch.start;
        let results = split(batch.len(), |r| {
            let heap = shared.get();
            (base + r.start..base + r.end)
                .try_for_each(|k| heap.convert_default(&heap.job(k), reloc))
        });
        results.into_iter().collect()
    }

    fn convert_default(&self, job: &Job, reloc: &Relocator) -> Result<(), String> {
        let s = job.ty;
        let plan = self.plan_ref(s);
        let mut r = HeapRelocate { heap: self, reloc };
        let (os, ns) = (job.old_size as usize, job.new_size as usize);
        for k in 0..job.count as usize {
            // SAFETY: element k of the old block (readable for its length) and of the new one
            // (allocated for count * new_size + tail bytes).
            let (old, new) = unsafe {
                (
                    std::slice::from_raw_parts((job.old + k * os) as *const u8, os),
                    std::slice::from_raw_parts_mut((job.new + k * ns) as *mut u8, ns),
                )
            };
            plan.flat.apply(old, new, &mut r).map_err(|e| {
                format!(
                    "heap object {k} of `{}` at {:#x}: {e}",
                    self.shapes.get(s).ty,
                    job.old
                )
            })?;
        }
        if job.tail > 0 {
            let (wo, wn) = (job.count as usize * os, job.count as usize * ns);
            // SAFETY: the tails of both blocks, `tail` bytes each.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    (job.old + wo) as *const u8,
                    (job.new + wn) as *mut u8,
                    job.tail as usize,
                )
            };
        }
        Ok(())
    }

    /// The type's name, for messages.
    pub fn type_name(&self, s: ShapeId) -> String {
        self.shapes.get(s).ty.to_string()
    }

    /// A rule's `migrate*` request: the new object the old one at `p` becomes (the same one
    /// when its type does not change). Discovers and allocates what it reaches on the spot;
    /// the conversion loop converts it.
    pub fn migrate(&mut self, m: &upstare_jit::Migration<'_>) -> Result<usize, String> {
        let p = m.ptr as usize;
        if m.kind == upstare_jit::MigrateKind::Str {
            // SAFETY: the rule hands a NUL-terminated old string (faults are contained).
            let n = unsafe { libc::strlen(p as *const libc::c_char) } + 1;
            // SAFETY: plain allocation, freed on abort.
            let q = unsafe { libc::malloc(n) } as usize;
            if q == 0 {
                return Err(format!("out of memory copying a string of {n} bytes"));
            }
            // SAFETY: both hold n bytes.
            unsafe { std::ptr::copy_nonoverlapping(p as *const u8, q as *mut u8, n) };
            self.extra.push((q, n));
            return Ok(q);
        }
        let t = self.old.resolve(m.old_ty);
        let s = self.shapes.of(&t, &[]);
        let (count, nul) = match m.kind {
            upstare_jit::MigrateKind::Array(n) => (Some(n), false),
            upstare_jit::MigrateKind::NulTerminated => (None, true),
            _ => (Some(1), false),
        };
        self.view(p, s, count, nul);
        self.discover();
        self.allocate();
        if let Some(e) = self.errors.first() {
            return Err(e.clone());
        }
        match self.map_heap(p) {
            Some(r) => r,
            None => {
                if self.plan_of(s).is_some() && self.block_of_start(p).is_none() {
                    return Err(format!(
                        "migrate of {p:#x}: it is not in the heap the program allocated, so the `{}` there cannot be replaced",
                        m.old_ty
                    ));
                }
                Ok(p)
            }
        }
    }

    fn block_of_start(&self, p: usize) -> Option<u32> {
        let b = track::lookup(p, &self.readable)?;
        let id = self.fwd.get(b.start);
        (id != 0).then_some(id - 1)
    }

    // -----------------------------------------------------------------------------------------
    // 5. Patches, commit, abort

    /// The words of kept objects that must change at commit: (address, new value).
    pub fn patches(&mut self, reloc: &Relocator) -> Result<Vec<(usize, u64)>, String> {
        let mut out = Vec::new();
        let mut regions: Vec<(usize, ShapeId, u64)> = self
            .blocks
            .iter()
            .filter(|b| b.new == 0)
            .filter_map(|b| b.shape.map(|s| (b.start, s, b.count())))
            .collect();
        regions.extend(self.kept_regions.iter().copied());
        let mut chosen = Vec::new();
        for (start, s, count) in regions {
            let size = self.shapes.get(s).size as usize;
            let cases = self.shapes.get(s).has_cases;
            for k in 0..count as usize {
                let obj = start + k * size;
                if cases {
                    self.object_slots(obj, s, &mut chosen);
                } else {
                    chosen.clear();
                    chosen.extend_from_slice(&self.shapes.get(s).slots);
                }
                for slot in &chosen {
                    let a = obj + slot.off as usize;
                    // SAFETY: a slot of a kept, readable object.
                    let v = unsafe { word(a) };
                    let m = self.map(reloc, v)?;
                    if m != v {
                        out.push((a, m));
                    }
                }
            }
        }
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Ok(out),
        }
    }

    /// After the default conversion of a batch: in new objects whose type has `case` hints,
    /// the pointers of the arm each object holds are mapped (the default copies a union's
    /// bytes, knowing no member).
    pub fn case_fixups(
        &mut self,
        batch: std::ops::Range<usize>,
        reloc: &Relocator,
    ) -> Result<(), String> {
        let mut chosen = Vec::new();
        for k in batch {
            let job = self.job(k);
            if !self.shapes.get(job.ty).has_cases {
                continue;
            }
            let (os, ns) = (job.old_size as usize, job.new_size as usize);
            for e in 0..job.count as usize {
                let (old, new) = (job.old + e * os, job.new + e * ns);
                self.object_slots(old, job.ty, &mut chosen);
                for slot in &chosen {
                    // SAFETY: a slot of the old object.
                    let v = unsafe { word(old + slot.off as usize) };
                    let m = self.map(reloc, v)?;
                    let plan = self.plan_ref(job.ty);
                    let Some(to) = inner_offset(&plan.conv, slot.off) else {
                        return Err(format!(
                            "a union member's pointer at offset {} of `{}` has no place in the new type",
                            slot.off,
                            self.type_name(job.ty)
                        ));
                    };
                    // SAFETY: inside the new object, which the conversion just wrote.
                    unsafe { ((new + to as usize) as *mut u64).write_unaligned(m) };
                }
            }
        }
        match self.errors.first() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Objects migrated and their new bytes.
    pub fn counts(&self) -> (u64, u64) {
        let objects = self
            .order
            .iter()
            .map(|&id| self.blocks[id as usize].count())
            .sum();
        let bytes = self
            .order
            .iter()
            .map(|&id| self.blocks[id as usize].new_len() as u64)
            .sum();
        (objects, bytes)
    }

    /// Commit: writes the patches, hands the new blocks to the program (tracked), returns the
    /// old ones to free once the threads run.
    pub fn commit(mut self, patches: &[(usize, u64)]) -> Garbage {
        for &(a, v) in patches {
            // SAFETY: a pointer slot of a kept object, every thread parked.
            unsafe { (a as *mut u64).write_unaligned(v) };
        }
        let blocks = &self.blocks;
        let order = &self.order;
        let states = &self.new_states;
        split(order.len(), |r| {
            for k in r {
                track::set_state(blocks[order[k] as usize].new as *mut u8, states[k]);
            }
        });
        let old = order.iter().map(|&id| blocks[id as usize].start).collect();
        for &(p, n) in &self.extra {
            track::adopt(p as *mut u8, n);
        }
        self.order.clear();
        self.extra.clear();
        Garbage(old)
    }

    /// Abort: frees every new block; the old heap was never written.
    pub fn abort(mut self) {
        self.free_new();
    }

    fn free_new(&mut self) {
        for &id in &self.order {
            // SAFETY: allocated by `allocate`, referenced only by discarded new state.
            unsafe { libc::free(self.blocks[id as usize].new as *mut libc::c_void) };
        }
        for &(p, _) in &self.extra {
            // SAFETY: as above.
            unsafe { libc::free(p as *mut libc::c_void) };
        }
        self.order.clear();
        self.extra.clear();
    }
}

impl Drop for Heap<'_> {
    fn drop(&mut self) {
        self.free_new();
    }
}

/// Grows this thread's malloc arena by about `bytes` in large steps, then gives the memory
/// back to the arena's free space. glibc grows a thread's arena only by what each allocation
/// needs, with one `mprotect` per page: a million small blocks would cost tens of thousands of
/// system calls. Blocks just under the mmap threshold grow it 30 pages at a time (free space
/// the arena already has is used first, so the loop goes on until the arena's size, which
/// `mallinfo2` reports, has grown); once freed, the arena keeps the pages' protection and
/// later blocks come from it without a system call. The last block is returned, to be freed
/// after the allocations: it keeps an arena heap that the growth added from being unmapped
/// again as soon as it is empty.
fn grow_arena(bytes: usize) -> Option<*mut libc::c_void> {
    const STEP: usize = 120 << 10;
    // SAFETY: a statistics query.
    let system = || unsafe { libc::mallinfo2() }.arena;
    let target = system() + bytes;
    let mut held = Vec::with_capacity(2 * (bytes / STEP + 1));
    // Bounded: at most twice the steps the bytes need.
    for _ in 0..2 * (bytes / STEP + 1) {
        // SAFETY: plain allocations, freed right below. `black_box`: the compiler may
        // otherwise drop an allocation nothing reads.
        let p = std::hint::black_box(unsafe { libc::malloc(STEP) });
        if p.is_null() {
            break;
        }
        held.push(p);
        if held.len() % 16 == 0 && system() >= target {
            break;
        }
    }
    // The pages the new blocks will occupy, faulted in now with one call per arena heap
    // instead of one fault each later (contents are not changed: present pages stay as they
    // are, absent ones become the zero pages a fault would give).
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for &p in &held {
        let (a, b) = (p as usize, p as usize + STEP);
        match spans.last_mut() {
            Some(s) if a & !(ARENA - 1) == s.0 & !(ARENA - 1) => {
                s.0 = s.0.min(a);
                s.1 = s.1.max(b);
            }
            _ => spans.push((a, b)),
        }
    }
    let keeper = held.pop();
    for p in held.into_iter().rev() {
        // SAFETY: allocated above.
        unsafe { libc::free(std::hint::black_box(p)) };
    }
    for (a, b) in spans {
        let start = (a + 4095) & !4095;
        let end = b & !4095;
        if end > start {
            // SAFETY: advice on pages of this process's own heap; it never changes contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, MADV_POPULATE_WRITE) };
        }
    }
    keeper
}

/// `madvise` advice (Linux 5.14): fault the pages in, writable, without touching their
/// contents. Older kernels answer EINVAL, which changes nothing.
const MADV_POPULATE_WRITE: libc::c_int = 23;

/// `f` over `0..n` in contiguous ranges, on two threads when `n` is large enough to pay for
/// one (the updater thread takes the first range).
fn split<R: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> R + Sync) -> Vec<R> {
    const MIN_PARALLEL: usize = 16 * 1024;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    if n < MIN_PARALLEL || threads < 2 {
        return vec![f(0..n)];
    }
    let mid = n / 2;
    std::thread::scope(|sc| {
        let other = sc.spawn(|| f(mid..n));
        let first = f(0..mid);
        // A panic in the other half is a bug: fail like this thread would.
        let second = other
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        vec![first, second]
    })
}

/// The heap shared with the conversion's second thread, which only calls `&self` methods
/// that read (`convert_default`, `map`).
struct Shared<'h, 'a>(&'h Heap<'a>);

// SAFETY: the only members of `Heap` that are not `Sync` are the block table's raw region
// pointers (read only through `get` while shared) and the hint services' boxed closures
// (`FnMut`, never called through a shared reference). Nothing is written while shared.
unsafe impl Sync for Shared<'_, '_> {}

impl<'h, 'a> Shared<'h, 'a> {
    fn get(&self) -> &'h Heap<'a> {
        self.0
    }
}

/// One migrated block to convert.
pub struct Job<'a> {
    pub old: usize,
    pub new: usize,
    pub count: u64,
    pub old_size: u64,
    pub new_size: u64,
    pub tail: u64,
    pub rule: Option<&'a Rule>,
    pub ty: ShapeId,
}

/// The offset in the new value of the byte at `inner` of the old one (None: a dropped field).
fn inner_offset(conv: &Conv, inner: u64) -> Option<u64> {
    match conv {
        Conv::Copy { .. } => Some(inner),
        Conv::Struct { fields, .. } => {
            for (noff, ooff, c) in fields {
                let Some(o) = ooff else { continue };
                if *o <= inner && inner < o + c.old_size().max(1) {
                    return inner_offset(c, inner - o).map(|x| noff + x);
                }
            }
            (inner == 0).then_some(0)
        }
        Conv::Array {
            old_stride,
            new_stride,
            elem,
            count,
        } => {
            let k = inner / old_stride;
            if k >= *count {
                return None;
            }
            inner_offset(elem, inner % old_stride).map(|x| k * new_stride + x)
        }
        Conv::Int { .. } | Conv::Float { .. } | Conv::Pointer => (inner == 0).then_some(0),
        Conv::Zero { .. } => None,
    }
}

/// The relocation `transfer::apply` uses while the heap is migrated.
pub struct HeapRelocate<'h, 'a> {
    pub heap: &'h Heap<'a>,
    pub reloc: &'h Relocator,
}

impl Relocate for HeapRelocate<'_, '_> {
    fn pointer(&mut self, v: u64) -> Result<u64, String> {
        self.heap.map(self.reloc, v)
    }
}

fn is_integer(t: &CType) -> bool {
    matches!(t, CType::Int { .. } | CType::Enum(_) | CType::Bool)
}

fn is_byte(t: &CType) -> bool {
    matches!(t, CType::Int { bytes: 1, .. } | CType::Bool)
}
