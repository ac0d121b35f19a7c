//! Lowers a checked update spec to cranelift IR and JIT-compiles transformer functions.
//!
//! Not built yet: this crate holds its place in the layering (issue "JIT"). It will know nothing
//! of processes or of C parsing.
