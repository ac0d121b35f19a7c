//! The typed form of the metadata: what one module (object, executable or update module) says
//! about its units, types, globals, functions and update points.
//!
//! Field meanings follow `FORMAT.md` one to one; the decoder (`decode.rs`) has already checked
//! every count and cross-reference, so a `Module` is internally consistent: every point's
//! function exists and every function's `points` lists exactly its `npoints` points in order.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::ids::{FuncId, GlobalId, PointId, Table, TypeId, TypedefId, UnitId};

/// All metadata of one module, in section order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Module {
    pub units: Table<UnitId, Unit>,
    pub types: Table<TypeId, Type>,
    /// Left out of the JSON form when empty, so modules without typedefs read as before.
    #[serde(skip_serializing_if = "Table::is_empty")]
    pub typedefs: Table<TypedefId, Typedef>,
    pub globals: Table<GlobalId, Global>,
    pub functions: Table<FuncId, Function>,
    pub points: Table<PointId, Point>,
    /// Lookup maps for the `find_*` functions, built on first use. The tables are public and
    /// may be changed after a lookup: `reindex` drops the maps.
    #[serde(skip)]
    index: Lookup,
}

/// Name -> id maps of a module (equal whatever their state: they only mirror the tables).
#[derive(Debug, Clone, Default)]
struct Lookup(std::sync::OnceLock<Maps>);

#[derive(Debug, Clone, Default)]
struct Maps {
    functions: std::collections::HashMap<(String, String), FuncId>,
    globals: std::collections::HashMap<String, GlobalId>,
    types: std::collections::HashMap<String, TypeId>,
    typedefs: std::collections::HashMap<String, Vec<TypedefId>>,
}

impl PartialEq for Lookup {
    fn eq(&self, _: &Lookup) -> bool {
        true
    }
}

impl Eq for Lookup {}

impl Module {
    /// The function `name` defined in source file `file` (static functions of different files
    /// may share a name).
    pub fn find_function(&self, file: &str, name: &str) -> Option<FuncId> {
        self.maps()
            .functions
            .get(&(file.to_string(), name.to_string()))
            .copied()
    }

    /// The global whose key (FORMAT.md "Keys") is `key`.
    pub fn find_global(&self, key: &str) -> Option<GlobalId> {
        self.maps().globals.get(key).copied()
    }

    /// The first type named `name` (`struct foo`, a typedef name, ...).
    pub fn find_type(&self, name: &str) -> Option<TypeId> {
        self.maps().types.get(name).copied()
    }

    /// The typedef `name`, preferring the one of source file `file` when given (typedefs of
    /// different files may share a name), else the first.
    pub fn find_typedef(&self, file: Option<&str>, name: &str) -> Option<TypedefId> {
        let all = self.maps().typedefs.get(name)?;
        file.and_then(|file| all.iter().copied().find(|&t| self.typedefs[t].file == file))
            .or_else(|| all.first().copied())
    }

    /// Forgets the lookup maps (after changing the tables of a module already searched).
    pub fn reindex(&mut self) {
        self.index = Lookup::default();
    }

    fn maps(&self) -> &Maps {
        self.index.0.get_or_init(|| {
            let mut m = Maps::default();
            // The first entry of a name wins, as a linear search would find it.
            for (id, f) in self.functions.iter() {
                m.functions
                    .entry((f.file.clone(), f.name.clone()))
                    .or_insert(id);
            }
            for (id, g) in self.globals.iter() {
                m.globals.entry(g.key.clone()).or_insert(id);
            }
            for (id, t) in self.types.iter() {
                m.types.entry(t.name.clone()).or_insert(id);
            }
            for (id, t) in self.typedefs.iter() {
                m.typedefs.entry(t.name.clone()).or_default().push(id);
            }
            m
        })
    }

    /// The point of `func` whose key is `key`.
    pub fn find_point(&self, func: FuncId, key: &PointKey) -> Option<PointId> {
        self.functions[func]
            .points
            .iter()
            .copied()
            .find(|&p| self.points[p].key == *key)
    }
}

/// One translation unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// The source file as given to the compiler.
    pub source: String,
    /// The tool that wrote the entry, e.g. `upstare-cc 0.1.0`.
    pub producer: String,
    /// The format version (always [`crate::FORMAT_VERSION`] once decoded).
    pub format_version: u64,
}

/// A struct, union, enum or typedef, with the layout the C compiler gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Type {
    /// `struct foo`, `union bar`, `enum e` or a typedef name.
    pub name: String,
    pub size: u64,
    pub align: u64,
    pub fields: Vec<Field>,
}

/// A file-scope `typedef` of a user file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Typedef {
    pub name: String,
    /// The source file that declares it.
    pub file: String,
    /// The declaration with the name removed: `unsigned long`, `struct node *`, `int (*)(int)`.
    pub target: String,
    pub size: u64,
    pub align: u64,
}

/// One field of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    /// The field's type as C text (`int *`, `char [16]`).
    #[serde(rename = "type")]
    pub ty: String,
    pub layout: FieldLayout,
}

/// Where a field lives in its struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldLayout {
    /// An ordinary field: byte offset and size.
    Bytes { offset: u64, size: u64 },
    /// A bit-field: `offsetof` does not apply, only its width is known.
    Bits { width: u64 },
}

/// A global variable or static local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Global {
    /// Stable key: the name, `FILE/name` for statics, `FILE/function/name` for static locals.
    pub key: String,
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub size: u64,
    pub align: u64,
    pub flags: GlobalFlags,
}

/// Flag bits of a global entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct GlobalFlags {
    /// `static` at file scope (internal linkage).
    pub internal: bool,
    /// A `static` local of some function.
    pub static_local: bool,
    /// Declared `const`.
    pub constant: bool,
}

/// An instrumented function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    /// The source file that defines it.
    pub file: String,
    pub name: String,
    /// Line of the definition in `file`.
    pub line: u32,
    pub flags: FunctionFlags,
    /// Its points, indexed by point index (`points[k]` has index `k`).
    pub points: Vec<PointId>,
}

/// Flag bits of a function entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FunctionFlags {
    /// `static` (internal linkage).
    pub internal: bool,
    /// Uses a construct the compiler cannot make rebuildable; an update is refused while it runs.
    pub not_updatable: bool,
}

/// An update point and the layout of the frame record saved there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    pub function: FuncId,
    /// Stable across versions (FORMAT.md "Point keys").
    pub key: PointKey,
    /// Number of the point within its function, as passed to `__us_point`.
    pub index: u32,
    /// The source file of the function.
    pub file: String,
    pub line: u32,
    pub record_size: u64,
    pub record_align: u64,
    /// The locals in scope, in record order.
    pub locals: Vec<Local>,
}

/// One slot of a frame record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Local {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub offset: u64,
    pub size: u64,
    pub flags: LocalFlags,
}

/// Flag bits of a local.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LocalFlags {
    /// The local's address is taken: the slot holds the pointer to its box.
    pub boxed: bool,
    /// A temporary introduced by the compiler.
    pub temporary: bool,
    /// A parameter of the function.
    pub parameter: bool,
}

/// The stable key of a point: `entry`, `loop#N` or `call:CALLEE#N` (`call:*#N` when indirect).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PointKey {
    Entry,
    /// The N-th loop of the function in source order, from 1.
    Loop(u32),
    /// The N-th call of `callee` in the function in source order, from 1.
    Call {
        callee: Callee,
        nth: u32,
    },
}

/// Who a call point calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Callee {
    Named(String),
    /// Through a function pointer.
    Indirect,
}

impl fmt::Display for PointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PointKey::Entry => f.write_str("entry"),
            PointKey::Loop(n) => write!(f, "loop#{n}"),
            PointKey::Call {
                callee: Callee::Named(c),
                nth,
            } => write!(f, "call:{c}#{nth}"),
            PointKey::Call {
                callee: Callee::Indirect,
                nth,
            } => write!(f, "call:*#{nth}"),
        }
    }
}

/// The text is not a point key of FORMAT.md.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a point key (entry, loop#N, call:NAME#N, call:*#N)")]
pub struct BadPointKey(pub String);

impl FromStr for PointKey {
    type Err = BadPointKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPointKey(s.to_string());
        // Ordinals count from 1; 0 or a sign is a malformed key.
        let ordinal = |n: &str| match n.bytes().all(|b| b.is_ascii_digit()) {
            true => n.parse::<u32>().ok().filter(|&v| v > 0),
            false => None,
        };
        if s == "entry" {
            return Ok(PointKey::Entry);
        }
        if let Some(n) = s.strip_prefix("loop#") {
            return ordinal(n).map(PointKey::Loop).ok_or_else(bad);
        }
        if let Some(rest) = s.strip_prefix("call:") {
            let (callee, n) = rest.rsplit_once('#').ok_or_else(bad)?;
            let nth = ordinal(n).ok_or_else(bad)?;
            let callee = match callee {
                "*" => Callee::Indirect,
                "" => return Err(bad()),
                c if c.chars().all(|ch| ch == '_' || ch.is_ascii_alphanumeric()) => {
                    Callee::Named(c.to_string())
                }
                _ => return Err(bad()),
            };
            return Ok(PointKey::Call { callee, nth });
        }
        Err(bad())
    }
}

/// Keys serialise as their text form, the one users write in `.upd` files.
impl Serialize for PointKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_keys_round_trip() {
        for text in [
            "entry",
            "loop#1",
            "loop#12",
            "call:fib#2",
            "call:*#1",
            "call:__x1#3",
        ] {
            let key: PointKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
    }

    #[test]
    fn malformed_point_keys_are_rejected() {
        for text in [
            "",
            "Entry",
            "loop#0",
            "loop#",
            "loop#-1",
            "loop#+1",
            "call:#1",
            "call:f",
            "call:f#0",
            "call:a b#1",
            "exit",
        ] {
            assert_eq!(
                text.parse::<PointKey>(),
                Err(BadPointKey(text.to_string())),
                "{text}"
            );
        }
    }
}
