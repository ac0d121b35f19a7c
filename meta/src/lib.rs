//! Reading the metadata upstare-cc records in every object, executable and update module.
//!
//! The compiler emits the `upstare_meta` section as C data (see `FORMAT.md`); this crate decodes
//! it into a [`Module`] of typed tables (units, types, typedefs, globals, functions, points) addressed by
//! typed ids, and renders it for `upstare-cc --dump-meta`. It reads either an ELF file (`.o`,
//! executable or `.so`) or the raw bytes of the section (the runtime reads its own from memory).
//!
//! [`ctype`] reads the C type text the metadata holds (`int *`, `size_t`, `struct conn`) into
//! [`CType`]s, so that two versions' types can be compared; [`diff()`] compares two versions'
//! metadata and plans the automatic state transfer as [`Conv`]s, which [`transfer::apply`]
//! executes on bytes. The crate knows nothing of
//! processes or the update language, and it never computes a layout: every size, alignment and
//! offset here was computed by the C compiler (only scalar sizes are fixed by the x86-64 ABI).
//!
//! ```
//! # fn demo(bytes: &[u8]) -> Result<(), upstare_meta::MetaError> {
//! let module = upstare_meta::Module::from_elf(bytes)?;
//! for (id, f) in module.functions.iter() {
//!     println!("{id:?} {} has {} points", f.name, f.points.len());
//! }
//! print!("{}", upstare_meta::render_text(&module));
//! # Ok(()) }
//! ```

pub mod ctype;
mod decode;
pub mod diff;
mod elf;
mod error;
mod ids;
mod model;
mod render;
#[cfg(test)]
mod testenc;
pub mod transfer;

pub use ctype::CType;
pub use diff::{
    diff, Conv, FunctionChange, GlobalChange, PointChange, Transfer, TypeChange, TypeStatus,
    VersionDiff,
};
pub use error::MetaError;
pub use ids::{FuncId, GlobalId, Id, PointId, Table, TypeId, TypedefId, UnitId};
pub use model::{
    Callee, Field, FieldLayout, Function, FunctionFlags, Global, GlobalFlags, Local, LocalFlags,
    Module, Point, PointKey, Type, Typedef, Unit,
};
pub use render::{render_json, render_text};

/// The name of the ELF section that holds the metadata.
pub const SECTION_NAME: &str = "upstare_meta";

/// The metadata format version this crate reads (the number in every unit entry).
pub const FORMAT_VERSION: u64 = 1;
