//! One version's metadata with hash indices for every name the checker looks up, and C type
//! resolution through them.
//!
//! `upstare_meta::Module`'s own `find_*` and `resolve` scan their tables, which is right for a
//! few look-ups but not for a spec of thousands of rules against tens of thousands of symbols;
//! a [`View`] builds its maps once (linear in the module) and answers each look-up in constant
//! time. Resolution follows `upstare_meta::ctype`'s meaning exactly (typedef entries, preferring
//! the file's own, then the well-known glibc names).

use std::collections::HashMap;

use upstare_meta::ctype::{self, CType};
use upstare_meta::{FuncId, GlobalId, Module, PointId, PointKey, TypeId, TypedefId};

/// The result of looking a name up.
pub enum Lookup<T> {
    Found(T),
    /// Several symbols match the name (statics of different files): their keys.
    Ambiguous(Vec<String>),
    Missing,
}

/// How deep typedef chains are followed (a cycle means corrupt metadata).
const MAX_TYPEDEF_DEPTH: usize = 64;

/// One version's module and its indices.
pub struct View<'m> {
    pub m: &'m Module,
    types: HashMap<&'m str, TypeId>,
    typedefs: HashMap<&'m str, Vec<TypedefId>>,
    global_keys: HashMap<&'m str, GlobalId>,
    global_names: HashMap<&'m str, Vec<GlobalId>>,
    func_names: HashMap<&'m str, Vec<FuncId>>,
}

impl<'m> View<'m> {
    pub fn new(m: &'m Module) -> View<'m> {
        let mut types = HashMap::with_capacity(m.types.len());
        for (id, t) in m.types.iter() {
            types.entry(t.name.as_str()).or_insert(id);
        }
        let mut typedefs: HashMap<&str, Vec<TypedefId>> = HashMap::new();
        for (id, t) in m.typedefs.iter() {
            typedefs.entry(t.name.as_str()).or_default().push(id);
        }
        let mut global_keys = HashMap::with_capacity(m.globals.len());
        let mut global_names: HashMap<&str, Vec<GlobalId>> = HashMap::new();
        for (id, g) in m.globals.iter() {
            global_keys.entry(g.key.as_str()).or_insert(id);
            global_names.entry(g.name.as_str()).or_default().push(id);
        }
        let mut func_names: HashMap<&str, Vec<FuncId>> = HashMap::new();
        for (id, f) in m.functions.iter() {
            func_names.entry(f.name.as_str()).or_default().push(id);
        }
        View {
            m,
            types,
            typedefs,
            global_keys,
            global_names,
            func_names,
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
        match self.global_names.get(key).map(Vec::as_slice) {
            Some([one]) => Lookup::Found(*one),
            Some(many) if !many.is_empty() => Lookup::Ambiguous(
                many.iter()
                    .map(|&g| self.m.globals[g].key.clone())
                    .collect(),
            ),
            _ => Lookup::Missing,
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
        let Some(cands) = self.func_names.get(name) else {
            return Lookup::Missing;
        };
        let cands: Vec<FuncId> = cands
            .iter()
            .copied()
            .filter(|&f| file.is_none_or(|file| self.m.functions[f].file == file))
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
                let Some(ids) = self.typedefs.get(name.as_str()) else {
                    return t.clone();
                };
                let id = file
                    .and_then(|f| ids.iter().copied().find(|&i| self.m.typedefs[i].file == f))
                    .unwrap_or(ids[0]);
                let td = &self.m.typedefs[id];
                match ctype::parse(&td.target) {
                    CType::Opaque(_) => t.clone(),
                    target => self.resolve_depth(Some(&td.file), &target, depth + 1),
                }
            }
            _ => t.clone(),
        }
    }

    /// Type text of the metadata, parsed and resolved.
    pub fn parse_type(&self, file: Option<&str>, text: &str) -> CType {
        self.resolve(file, &ctype::parse(text))
    }

    /// The record entry of a resolved type (`struct foo`, `union u`, an anonymous record's
    /// typedef name).
    pub fn record(&self, t: &CType) -> Option<TypeId> {
        match t {
            CType::Record { union, tag } => {
                let kw = if *union { "union" } else { "struct" };
                self.types.get(format!("{kw} {tag}").as_str()).copied()
            }
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
                        Some(ids) => Some(self.m.typedefs[ids[0]].size),
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
        let gl = &self.m.globals[g];
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
        self.parse_type(self.global_file(g), &self.m.globals[g].ty)
    }
}
