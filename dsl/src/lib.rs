//! The `.upd` update-spec language: grammar, checker, diagnostics, draft specs.
//!
//! ```text
//! .upd text --parse--> ast::Spec --check (old + new metadata, upstare_meta::diff)--> checked::Spec
//!                                  \--> Vec<Diagnostic> --render--> miette text or JSON
//! old + new metadata --draft--> a draft .upd (upstare diff)
//! ```
//!
//! The entry points are [`check`] (the runtime calls it at update time, before any thread
//! stops, and `upstare check` offline; [`check_with_diff`] when the caller already has the
//! version diff), [`render`] (only the CLI and tests render), and [`draft`]. Parsing and
//! checking recurse over the spec's nesting, which is bounded (200 levels): call them on a
//! thread with at least 1 MiB of stack in release builds (the tests check that bound). The checked representation ([`checked`]) is what the JIT compiles; it holds no
//! cranelift types and no names to look up again. This crate knows nothing of machine code,
//! processes or ELF files: it takes metadata as `upstare_meta::Module`s.
//!
//! The language reference is `spec/README.md`; its conformance cases are `spec/cases/`.

// The pest parser is generated without `std` (it then skips its per-rule stack probe, a fifth of
// the parse time); its code names `alloc`. `parse.rs` bounds the nesting depth itself.
extern crate alloc;

pub mod ast;
mod check;
pub mod checked;
mod diag;
mod draft;
mod parse;

pub use check::{check, check_with_diff, LANGUAGE_VERSION};
pub use diag::{did_you_mean, render, suggest, Code, Diagnostic, Label, Severity};
pub use draft::draft;
pub use parse::parse;
pub use upstare_meta::CType;
