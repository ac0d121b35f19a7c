//! The `.upd` update-spec language: grammar, AST, checking against two versions' metadata.
//!
//! Not built yet: this crate holds its place in the layering (issue "The .upd language").
//! It will know nothing of machine code; the JIT consumes its checked representation.
