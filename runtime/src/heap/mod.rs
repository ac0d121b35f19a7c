//! The heap of the running program: which blocks it allocated (`track`, always on, a few
//! nanoseconds per allocation) and how an update migrates the objects in them (`migrate`, only
//! during an update's transform phase), reading memory by the old version's types (`shape`).
//! ARCHITECTURE.md "Heap migration" tells the whole story.

mod flat;
mod granules;
mod migrate;
mod shape;
pub mod track;

pub use migrate::{Heap, HeapRelocate, Origin};
