//! Shared by the JIT's tests: building C versions with the real `upstare-cc`, laying out old
//! and new objects and globals in byte buffers per the metadata, an [`Env`] over them, and
//! services that relocate pointers between the two sets of buffers.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use upstare_jit::{Compiled, Env, FuncId, GlobalId, Services};
use upstare_meta::{ctype, CType, FieldLayout, Module};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("jit/ has a parent")
        .to_path_buf()
}

/// The `upstare-cc` built by `cargo build --release --workspace` (or `$UPSTARE_CC`).
pub fn compiler() -> PathBuf {
    if let Some(cc) = std::env::var_os("UPSTARE_CC") {
        return PathBuf::from(cc);
    }
    let cc = root().join("target/release/upstare-cc");
    assert!(
        cc.exists(),
        "{} is missing: run `cargo build --release --workspace` first",
        cc.display()
    );
    cc
}

/// A scratch directory for one test, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target/jit-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Builds C source text as an update module with upstare-cc (`-O2 -shared -fPIC`) and reads
/// its metadata. The file is `prog.c` in `dir/<tag>/`, so both versions share source paths.
pub fn build_text(dir: &Path, tag: &str, text: &str) -> Module {
    let sub = dir.join(tag);
    std::fs::create_dir_all(&sub).expect("create version directory");
    std::fs::write(sub.join("prog.c"), text).expect("write source");
    let out = Command::new(compiler())
        .current_dir(&sub)
        .args(["-O2", "-shared", "-fPIC", "-o", "prog.so", "prog.c"])
        .output()
        .expect("run upstare-cc");
    assert!(
        out.status.success(),
        "upstare-cc failed on {tag}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Module::read(&sub.join("prog.so")).expect("read metadata")
}

pub fn build(dir: &Path, tag: &str, source: &Path) -> Module {
    let text = std::fs::read_to_string(source).expect("read C source");
    build_text(dir, tag, &text)
}

/// The path of the module `build` made for `tag`.
pub fn module_path(dir: &Path, tag: &str) -> PathBuf {
    dir.join(tag).join("prog.so")
}

/// The initial bytes of each global (its C initialiser) as the module's ELF file holds them:
/// `.data` contents, zeros for `.bss`. Pointers initialised with addresses are relocated at load
/// time, so they read as null here. A global whose symbol is not found uniquely (static
/// locals are `name.N`) is left out.
pub fn initial_values(path: &Path, m: &Module) -> HashMap<GlobalId, Vec<u8>> {
    use object::{Object, ObjectSection, ObjectSymbol, SectionKind};
    let data = std::fs::read(path).expect("read module");
    let file = object::File::parse(&*data).expect("parse ELF");
    let mut out = HashMap::new();
    for (id, g) in m.globals.iter() {
        let matches = |n: &str| {
            n == g.name
                || g.flags.static_local
                    && n.strip_prefix(g.name.as_str())
                        .and_then(|r| r.strip_prefix('.'))
                        .is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit()))
        };
        let syms: Vec<_> = file
            .symbols()
            .filter(|s| s.is_definition() && s.name().is_ok_and(matches))
            .collect();
        let [sym] = syms.as_slice() else { continue };
        let Some(idx) = sym.section_index() else {
            continue;
        };
        let Ok(sec) = file.section_by_index(idx) else {
            continue;
        };
        let size = g.size as usize;
        if sec.kind() == SectionKind::UninitializedData {
            out.insert(id, vec![0; size]);
            continue;
        }
        let Ok(bytes) = sec.data() else { continue };
        let at = (sym.address() - sec.address()) as usize;
        if let Some(b) = bytes.get(at..at + size) {
            out.insert(id, b.to_vec());
        }
    }
    out
}

/// Zeroed, 16-byte aligned memory that stays where it is.
pub struct Buf {
    words: Box<[u128]>,
    pub size: usize,
}

impl Buf {
    pub fn new(size: usize) -> Buf {
        Buf {
            words: vec![0u128; size.div_ceil(16).max(1)].into_boxed_slice(),
            size,
        }
    }
    pub fn addr(&self) -> usize {
        self.words.as_ptr() as usize
    }
    pub fn ptr(&self) -> *mut u8 {
        self.words.as_ptr() as *mut u8
    }
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the words hold at least `size` bytes.
        unsafe { std::slice::from_raw_parts(self.ptr(), self.size) }
    }
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr(), self.size) }
    }
}

/// Fake function addresses: old function k is at OLD_FN + 16k, new ones at NEW_FN + 16k.
pub const OLD_FN: usize = 0x7100_0000;
pub const NEW_FN: usize = 0x7900_0000;

/// Both versions' globals in buffers.
pub struct World {
    pub old: Module,
    pub new: Module,
    pub old_globals: HashMap<GlobalId, Buf>,
    pub new_globals: HashMap<GlobalId, Buf>,
}

impl World {
    /// A world whose globals hold the initial values of the modules at `old_so` and `new_so`.
    pub fn with_initial_values(old: Module, new: Module, old_so: &Path, new_so: &Path) -> World {
        let mut w = World::new(old, new);
        for (id, b) in initial_values(old_so, &w.old) {
            let buf = w.old_globals.get_mut(&id).expect("a buffer per global");
            buf.bytes_mut().copy_from_slice(&b);
        }
        for (id, b) in initial_values(new_so, &w.new) {
            let buf = w.new_globals.get_mut(&id).expect("a buffer per global");
            buf.bytes_mut().copy_from_slice(&b);
        }
        w
    }

    pub fn new(old: Module, new: Module) -> World {
        let alloc = |m: &Module| {
            m.globals
                .iter()
                .map(|(id, g)| (id, Buf::new(g.size as usize)))
                .collect::<HashMap<_, _>>()
        };
        World {
            old_globals: alloc(&old),
            new_globals: alloc(&new),
            old,
            new,
        }
    }

    /// Relocation as the runtime does it: an address inside an old global becomes the same
    /// offset in the new global of the same key; an old function's fake address the new one's.
    pub fn relocate(&self, p: usize) -> Result<usize, String> {
        for (id, b) in &self.old_globals {
            if p >= b.addr() && p < b.addr() + b.size.max(1) {
                let key = &self.old.globals[*id].key;
                let nid = self
                    .new
                    .find_global(key)
                    .ok_or_else(|| format!("old global `{key}` is gone"))?;
                return Ok(self.new_globals[&nid].addr() + (p - b.addr()));
            }
        }
        if let Some(n) = self.new_function_of(p) {
            return n;
        }
        Ok(p)
    }

    fn new_function_of(&self, p: usize) -> Option<Result<usize, String>> {
        if p < OLD_FN
            || p >= OLD_FN + 16 * self.old.functions.len()
            || !(p - OLD_FN).is_multiple_of(16)
        {
            return None;
        }
        let of = &self.old.functions[FuncId(((p - OLD_FN) / 16) as u32)];
        Some(
            self.new
                .functions
                .iter()
                .find(|(_, f)| f.name == of.name)
                .map(|(id, _)| NEW_FN + 16 * id.0 as usize)
                .ok_or_else(|| format!("function `{}` is gone", of.name)),
        )
    }

    /// Services over this world; `migrate` makes a zeroed new object and runs the type rule.
    pub fn services<'a>(&'a self, compiled: Option<&'a Compiled>) -> Services<'a> {
        Services::new(
            |n| {
                let b = Box::leak(vec![0u128; (n as usize).div_ceil(16).max(1)].into_boxed_slice());
                Ok(b.as_mut_ptr() as *mut u8)
            },
            move |m| {
                if m.kind == upstare_jit::MigrateKind::Str {
                    // SAFETY: the old string is NUL-terminated (the test made it).
                    let s = unsafe { std::ffi::CStr::from_ptr(m.ptr as *const libc::c_char) };
                    let b = Box::leak(s.to_bytes_with_nul().to_vec().into_boxed_slice());
                    return Ok(b.as_mut_ptr());
                }
                let size = m.new_size.ok_or("unknown new size")? as usize;
                let count = match m.kind {
                    upstare_jit::MigrateKind::One => 1,
                    upstare_jit::MigrateKind::Array(n) => n as usize,
                    _ => return Err("migrate_nt is not simulated here".into()),
                };
                let b =
                    Box::leak(vec![0u128; (size * count).div_ceil(16).max(1)].into_boxed_slice());
                let p = b.as_mut_ptr() as *mut u8;
                if let (Some(c), Some(o), Some(n)) = (compiled, m.old_record, m.new_record) {
                    if let Some(rule) = c.type_rule(upstare_jit::TypeRuleKey { old: o, new: n }) {
                        let osize = m.old_size.unwrap_or(0) as usize;
                        for k in 0..count {
                            // SAFETY: both objects exist (the old one is the test's).
                            let (op, np) = unsafe { (m.ptr.add(k * osize), p.add(k * size)) };
                            let mut s = Services::standalone();
                            unsafe { rule.run(op, np, &mut s) }.map_err(|e| e.to_string())?;
                        }
                    }
                }
                Ok(p)
            },
            move |p| self.relocate(p),
            move |p| self.new_function_of(p).unwrap_or(Ok(p)),
            || 1_700_000_000_000,
        )
    }
}

impl Env for World {
    fn old_global(&self, g: GlobalId) -> Option<usize> {
        self.old_globals.get(&g).map(Buf::addr)
    }
    fn new_global(&self, g: GlobalId) -> Option<usize> {
        self.new_globals.get(&g).map(Buf::addr)
    }
    fn old_function(&self, f: FuncId) -> Option<usize> {
        (f.0 < self.old.functions.len() as u32).then(|| OLD_FN + 16 * f.0 as usize)
    }
    fn new_function(&self, f: FuncId) -> Option<usize> {
        (f.0 < self.new.functions.len() as u32).then(|| NEW_FN + 16 * f.0 as usize)
    }
}

/// Walks `.field`, `[n]` and `->field` steps from a value of type `ty` at `p`, in memory. A
/// null pointer on the way is an error unless `create`: then a zeroed object of its pointee
/// type is made (kept in `keep`) and the pointer set to it.
pub fn walk_mem(
    m: &Module,
    mut p: *mut u8,
    mut ty: CType,
    steps: &str,
    create: bool,
    keep: &mut Vec<Buf>,
) -> Result<(*mut u8, CType), String> {
    let mut rest = steps;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("->") {
            let CType::Pointer(inner) = ty else {
                return Err(format!("`->` on `{ty}`, not a pointer"));
            };
            // SAFETY: `p` points to a pointer slot of a live buffer.
            let mut target = unsafe { (p as *const u64).read_unaligned() } as *mut u8;
            let inner = m.resolve(&inner);
            if target.is_null() {
                if !create {
                    return Err("a null pointer on the path".into());
                }
                let size = m.size_of(&inner).ok_or("unknown pointee size")? as usize;
                let b = Buf::new(size);
                target = b.ptr();
                keep.push(b);
                // SAFETY: as above.
                unsafe { (p as *mut u64).write_unaligned(target as u64) };
            }
            let end = r.find(['.', '[', '-']).unwrap_or(r.len());
            let slot = walk(m, inner, &format!(".{}", &r[..end]))?;
            // SAFETY: the slot lies inside the pointee.
            p = unsafe { target.add(slot.offset) };
            ty = slot.ty;
            rest = &r[end..];
            continue;
        }
        let end = rest[1..]
            .find(['.', '[', '-'])
            .map_or(rest.len(), |i| i + 1);
        if let (CType::Pointer(inner), Some(ix)) = (&ty, rest[..end].strip_prefix('[')) {
            // Indexing a pointer: the k-th object it points to.
            let k: usize = ix
                .trim_end_matches(']')
                .trim()
                .parse()
                .map_err(|e| format!("index: {e}"))?;
            let inner = m.resolve(inner);
            let size = m.size_of(&inner).ok_or("unknown pointee size")? as usize;
            // SAFETY: `p` points to a pointer slot of a live buffer.
            let mut target = unsafe { (p as *const u64).read_unaligned() } as *mut u8;
            if target.is_null() {
                if !create {
                    return Err("indexing a null pointer".into());
                }
                // A fresh array of 16 zeroed objects.
                let b = Buf::new(16 * size);
                target = b.ptr();
                keep.push(b);
                // SAFETY: as above.
                unsafe { (p as *mut u64).write_unaligned(target as u64) };
            }
            // SAFETY: the test's objects are where the pointer says.
            p = unsafe { target.add(k * size) };
            ty = inner;
            rest = &rest[end..];
            continue;
        }
        let slot = walk(m, ty, &rest[..end])?;
        // SAFETY: the slot lies inside the value.
        p = unsafe { p.add(slot.offset) };
        ty = slot.ty;
        rest = &rest[end..];
    }
    Ok((p, ty))
}

/// A scalar slot: offset and resolved type.
#[derive(Debug, Clone)]
pub struct Slot {
    pub offset: usize,
    pub ty: CType,
}

/// Walks `.field` and `[n]` steps from a value of type `ty` in module `m`.
pub fn walk(m: &Module, mut ty: CType, steps: &str) -> Result<Slot, String> {
    let mut offset = 0usize;
    let mut rest = steps;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            rest = &r[end..];
            let rec = m
                .record(&ty)
                .ok_or_else(|| format!("`{ty}` has no fields (looking for `{name}`)"))?;
            let f = m.types[rec]
                .fields
                .iter()
                .find(|f| f.name == name)
                .ok_or_else(|| format!("`{ty}` has no field `{name}`"))?;
            let FieldLayout::Bytes { offset: o, .. } = f.layout else {
                return Err(format!("`{name}` is a bit-field"));
            };
            offset += o as usize;
            ty = m.resolve(&ctype::parse(&f.ty));
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or("missing `]`")?;
            let k: usize = r[..end].trim().parse().map_err(|e| format!("index: {e}"))?;
            rest = &r[end + 1..];
            let CType::Array(elem, _) = ty else {
                return Err(format!("`{ty}` is not an array"));
            };
            let size = m.size_of(&elem).ok_or("unknown element size")? as usize;
            offset += k * size;
            ty = *elem;
        } else {
            return Err(format!("bad path step at `{rest}`"));
        }
    }
    Ok(Slot { offset, ty })
}

/// Writes `v` (an integer, float or address) as a scalar of `ty` at `b[at..]`.
pub fn write_scalar(b: &mut [u8], at: usize, ty: &CType, v: Value) -> Result<(), String> {
    match (ty, v) {
        (CType::Float { bytes: 4 }, Value::Float(f)) => {
            b[at..at + 4].copy_from_slice(&(f as f32).to_le_bytes())
        }
        (CType::Float { bytes: 8 }, Value::Float(f)) => {
            b[at..at + 8].copy_from_slice(&f.to_le_bytes())
        }
        (CType::Float { bytes: 4 }, Value::Int(i)) => {
            b[at..at + 4].copy_from_slice(&(i as f32).to_le_bytes())
        }
        (CType::Float { bytes: 8 }, Value::Int(i)) => {
            b[at..at + 8].copy_from_slice(&(i as f64).to_le_bytes())
        }
        (t, Value::Int(i)) => {
            let n = scalar_size(t)?;
            b[at..at + n].copy_from_slice(&i.to_le_bytes()[..n]);
        }
        (t, Value::Float(_)) => return Err(format!("a float for `{t}`")),
    }
    Ok(())
}

pub fn scalar_size(t: &CType) -> Result<usize, String> {
    match t {
        CType::Bool => Ok(1),
        CType::Int { bytes, .. } => Ok(*bytes as usize),
        CType::Enum(_) => Ok(4),
        CType::Pointer(_) => Ok(8),
        CType::Float { bytes } => Ok(*bytes as usize),
        t => Err(format!("`{t}` is not a scalar")),
    }
}

/// Reads a scalar of `ty` at `b[at..]`.
pub fn read_scalar(b: &[u8], at: usize, ty: &CType) -> Result<Value, String> {
    Ok(match ty {
        CType::Float { bytes: 4 } => Value::Float(f64::from(f32::from_le_bytes(
            b[at..at + 4].try_into().expect("4 bytes"),
        ))),
        CType::Float { bytes: 8 } => Value::Float(f64::from_le_bytes(
            b[at..at + 8].try_into().expect("8 bytes"),
        )),
        t => {
            let n = scalar_size(t)?;
            let signed = matches!(t, CType::Int { signed: true, .. } | CType::Enum(_));
            let mut w = [0u8; 16];
            w[..n].copy_from_slice(&b[at..at + n]);
            if signed && w[n - 1] & 0x80 != 0 {
                w[n..].fill(0xff);
            }
            Value::Int(i128::from_le_bytes(w))
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    Int(i128),
    Float(f64),
}

/// The same value as a scalar of `ty` would hold it (integers wrap to the width).
pub fn normalise(ty: &CType, v: Value) -> Value {
    let mut b = [0u8; 16];
    if write_scalar(&mut b, 0, ty, v).is_err() {
        return v;
    }
    read_scalar(&b, 0, ty).unwrap_or(v)
}
