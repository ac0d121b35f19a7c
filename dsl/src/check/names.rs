//! One version's metadata with hash indices for every name the checker looks up, and C type
//! resolution through them.
//!
//! `upstare_meta::Module`'s own `find_*` and `resolve` scan their tables, which is right for a
//! few look-ups but not for a spec of thousands of rules against tens of thousands of symbols;
//! a [`View`] builds its maps once (linear in the module) and answers each look-up in constant
//! time. Resolution follows `upstare_meta::ctype`'s meaning exactly (typedef entries, preferring
//! the file's own, then the well-known glibc names).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use upstare_meta::ctype::{self, CType};
use upstare_meta::{FuncId, GlobalId, Module, PointId, PointKey, TypeId, TypedefId};

/// FNV-1a: the checker's maps are keyed by short names and small ids, which it hashes several
/// times faster than the default SipHash (no hash-flooding concern: the keys come from the
/// versions' own metadata and the spec being checked).
#[derive(Default, Clone, Copy)]
pub struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

pub type Map<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;
pub type Set<K> = HashSet<K, BuildHasherDefault<Fnv>>;

/// A map with room for `n` entries.
pub fn map_with<K, V>(n: usize) -> Map<K, V> {
    Map::with_capacity_and_hasher(n, Default::default())
}

/// The result of looking a name up.
pub enum Lookup<T> {
    Found(T),
    /// Several symbols match the name (statics of different files): their keys.
    Ambiguous(Vec<String>),
    Missing,
}

/// How deep typedef chains are followed (a cycle means corrupt metadata).
const MAX_TYPEDEF_DEPTH: usize = 64;

/// One version's module and its indices. A name that several entries share maps to the first,
/// with `true` for "more than one" (the rare ambiguous case scans the table).
pub struct View<'m> {
    pub m: &'m Module,
    types: Map<&'m str, TypeId>,
    /// `(union, tag)` of `struct tag` / `union tag` entries.
    records: Map<(bool, &'m str), TypeId>,
    typedefs: Map<&'m str, (TypedefId, bool)>,
    global_keys: Map<&'m str, GlobalId>,
    global_names: Map<&'m str, (GlobalId, bool)>,
    func_names: Map<&'m str, (FuncId, bool)>,
    /// Parsed and resolved type texts, by (file, text): field and global types repeat.
    parsed: RefCell<Map<(Option<&'m str>, &'m str), CType>>,
}

fn first_or_many<'m, I: Copy>(map: &mut Map<&'m str, (I, bool)>, key: &'m str, id: I) {
    map.entry(key)
        .and_modify(|e| e.1 = true)
        .or_insert((id, false));
}

impl<'m> View<'m> {
    pub fn new(m: &'m Module) -> View<'m> {
        let mut types = map_with(m.types.len());
        let mut records = map_with(m.types.len());
        for (id, t) in m.types.iter() {
            types.entry(t.name.as_str()).or_insert(id);
            if let Some(tag) = t.name.strip_prefix("struct ") {
                records.entry((false, tag)).or_insert(id);
            } else if let Some(tag) = t.name.strip_prefix("union ") {
                records.entry((true, tag)).or_insert(id);
            }
        }
        let mut typedefs = map_with(m.typedefs.len());
        for (id, t) in m.typedefs.iter() {
            first_or_many(&mut typedefs, t.name.as_str(), id);
        }
        let mut global_keys = map_with(m.globals.len());
        let mut global_names = map_with(m.globals.len());
        for (id, g) in m.globals.iter() {
            global_keys.entry(g.key.as_str()).or_insert(id);
            first_or_many(&mut global_names, g.name.as_str(), id);
        }
        let mut func_names = map_with(m.functions.len());
        for (id, f) in m.functions.iter() {
            first_or_many(&mut func_names, f.name.as_str(), id);
        }
        View {
            m,
            types,
            records,
            typedefs,
            global_keys,
            global_names,
            func_names,
            parsed: RefCell::new(map_with(64)),
        }
    }

    /// The type entry named `name` (`struct conn`, or an anonymous record's typedef name).
    pub fn type_named(&self, name: &str) -> Option<TypeId> {
        self.types.get(name).copied()
    }

    /// Every type entry and typedef name (for suggestions).
    pub fn type_names(&self) -> impl Iterator<Item = &'m str> + '_ {
        self.types.keys().chain(self.typedefs.keys()).copied()
    }

    /// True when a user typedef of that name exists.
    pub fn has_typedef(&self, name: &str) -> bool {
        self.typedefs.contains_key(name)
    }

    /// A global by key (`hits`, `prog.c/hits`, `prog.c/main/calls`), else by name when one
    /// global has it.
    pub fn global(&self, key: &str) -> Lookup<GlobalId> {
        if let Some(&id) = self.global_keys.get(key) {
            return Lookup::Found(id);
        }
        match self.global_names.get(key) {
            Some(&(id, false)) => Lookup::Found(id),
            Some(_) => Lookup::Ambiguous(
                self.m
                    .globals
                    .iter()
                    .filter(|(_, g)| g.name == key)
                    .map(|(_, g)| g.key.clone())
                    .collect(),
            ),
            None => Lookup::Missing,
        }
    }

    /// Every global key and name (for suggestions).
    pub fn global_words(&self) -> impl Iterator<Item = &'m str> + '_ {
        self.global_keys
            .keys()
            .chain(self.global_names.keys())
            .copied()
    }

    /// A function by `name` (when one function has it) or `FILE/name`.
    pub fn function(&self, key: &str) -> Lookup<FuncId> {
        let (file, name) = match key.rsplit_once('/') {
            Some((f, n)) => (Some(f), n),
            None => (None, key),
        };
        match (self.func_names.get(name), file) {
            (None, _) => return Lookup::Missing,
            (Some(&(id, false)), None) => return Lookup::Found(id),
            _ => {}
        }
        let cands: Vec<FuncId> = self
            .m
            .functions
            .iter()
            .filter(|(_, f)| f.name == name && file.is_none_or(|file| f.file == file))
            .map(|(id, _)| id)
            .collect();
        match cands.as_slice() {
            [] => Lookup::Missing,
            [one] => Lookup::Found(*one),
            many => Lookup::Ambiguous(
                many.iter()
                    .map(|&f| {
                        let f = &self.m.functions[f];
                        format!("{}/{}", f.file, f.name)
                    })
                    .collect(),
            ),
        }
    }

    /// Every function name (for suggestions).
    pub fn function_names(&self) -> impl Iterator<Item = &'m str> + '_ {
        self.func_names.keys().copied()
    }

    /// The point of `func` with key text `key`.
    pub fn point(&self, func: FuncId, key: &str) -> Option<PointId> {
        let key: PointKey = key.parse().ok()?;
        self.m.functions[func]
            .points
            .iter()
            .copied()
            .find(|&p| self.m.points[p].key == key)
    }

    /// `t` with user typedefs followed (through pointers and arrays), as
    /// `Module::resolve_in` does.
    pub fn resolve(&self, file: Option<&str>, t: &CType) -> CType {
        self.resolve_depth(file, t, 0)
    }

    fn resolve_depth(&self, file: Option<&str>, t: &CType, depth: usize) -> CType {
        match t {
            CType::Pointer(inner) => {
                CType::Pointer(Box::new(self.resolve_depth(file, inner, depth)))
            }
            CType::Array(inner, n) => {
                CType::Array(Box::new(self.resolve_depth(file, inner, depth)), *n)
            }
            CType::Typedef(name) if depth < MAX_TYPEDEF_DEPTH => {
                let Some(&(first, many)) = self.typedefs.get(name.as_str()) else {
                    return t.clone();
                };
                let id = match (many, file) {
                    (true, Some(f)) => self
                        .m
                        .typedefs
                        .iter()
                        .find(|(_, td)| td.name == *name && td.file == f)
                        .map_or(first, |(i, _)| i),
                    _ => first,
                };
                let td = &self.m.typedefs[id];
                match ctype::parse(&td.target) {
                    CType::Opaque(_) => t.clone(),
                    target => self.resolve_depth(Some(&td.file), &target, depth + 1),
                }
            }
            _ => t.clone(),
        }
    }

    /// Type text of the metadata, parsed and resolved (memoised: texts repeat).
    pub fn parse_type(&self, file: Option<&'m str>, text: &'m str) -> CType {
        if let Some(t) = self.parsed.borrow().get(&(file, text)) {
            return t.clone();
        }
        let t = self.resolve(file, &ctype::parse(text));
        self.parsed.borrow_mut().insert((file, text), t.clone());
        t
    }

    /// The record entry of a resolved type (`struct foo`, `union u`, an anonymous record's
    /// typedef name).
    pub fn record(&self, t: &CType) -> Option<TypeId> {
        match t {
            CType::Record { union, tag } => self.records.get(&(*union, tag.as_str())).copied(),
            CType::Typedef(name) => self.types.get(name.as_str()).copied(),
            _ => None,
        }
    }

    /// The size of a resolved type, when known.
    pub fn size_of(&self, t: &CType) -> Option<u64> {
        match t {
            CType::Void | CType::Function | CType::Opaque(_) => None,
            CType::Bool => Some(1),
            CType::Int { bytes, .. } | CType::Float { bytes } => Some(u64::from(*bytes)),
            CType::Enum(_) => Some(4),
            CType::Pointer(_) => Some(8),
            CType::Array(elem, n) => self.size_of(elem)?.checked_mul((*n)?),
            CType::Record { .. } | CType::Typedef(_) => match self.record(t) {
                Some(id) => Some(self.m.types[id].size),
                None => match t {
                    CType::Typedef(name) => match self.typedefs.get(name.as_str()) {
                        Some(&(id, _)) => Some(self.m.typedefs[id].size),
                        None => ctype::well_known_opaque_size(t),
                    },
                    _ => ctype::well_known_opaque_size(t),
                },
            },
        }
    }

    /// The source file of a global, for typedef resolution of its type: the `FILE` of a
    /// `FILE/name` or `FILE/function/name` key.
    pub fn global_file(&self, g: GlobalId) -> Option<&'m str> {
        let m: &'m Module = self.m;
        let gl = &m.globals[g];
        let key = gl.key.as_str();
        if gl.flags.static_local {
            let (rest, _) = key.rsplit_once('/')?;
            rest.rsplit_once('/').map(|(f, _)| f)
        } else if gl.flags.internal {
            key.rsplit_once('/').map(|(f, _)| f)
        } else {
            None
        }
    }

    /// The resolved type of a global.
    pub fn global_type(&self, g: GlobalId) -> CType {
        let m: &'m Module = self.m;
        self.parse_type(self.global_file(g), &m.globals[g].ty)
    }
}
