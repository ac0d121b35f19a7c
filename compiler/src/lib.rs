//! upstare-cc as a library: turns one preprocessed C translation unit into instrumented C.
//!
//! The driver (`main.rs`, `driver/`) runs the preprocessor and the real C compiler; this library
//! only rewrites text. It knows nothing of processes or of the update language.

mod diag;
mod instrument;

pub use diag::{CDiagnostic, Severity};
pub use instrument::{instrument, Options};
