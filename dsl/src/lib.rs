//! The `.upd` update-spec language.
pub mod ast;
mod diag;
mod parse;

pub use diag::{did_you_mean, render, suggest, Code, Diagnostic, Label, Severity};
pub use parse::parse;
