//! What can go wrong when reading metadata. Offsets are byte offsets into the section.

use std::path::PathBuf;

/// Why a module's metadata could not be read. Decoding never panics on corrupt input; it
/// returns one of these.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("not an ELF file upstare can read: {0}")]
    Elf(#[from] object::Error),

    #[error("no `upstare_meta` section: not built by upstare-cc, or stripped")]
    NoSection,

    #[error("corrupt metadata at offset {offset:#x}: bad magic {found:#010x}")]
    BadMagic { offset: u64, found: u32 },

    #[error("corrupt metadata at offset {offset:#x}: the entry needs {needed} bytes but only {available} remain")]
    Truncated {
        offset: u64,
        needed: u64,
        available: u64,
    },

    #[error("corrupt metadata at offset {offset:#x}: strings are not valid UTF-8")]
    BadUtf8 { offset: u64 },

    #[error("corrupt metadata at offset {offset:#x}: unknown entry kind {kind}")]
    UnknownKind { offset: u64, kind: u32 },

    #[error("corrupt metadata at offset {offset:#x}: {kind} entry has {problem}")]
    WrongCount {
        offset: u64,
        kind: &'static str,
        problem: String,
    },

    #[error("corrupt metadata at offset {offset:#x}: {kind} entry: {problem}")]
    Invalid {
        offset: u64,
        kind: &'static str,
        problem: String,
    },

    #[error("metadata format version {version} of unit {source_file} is not supported (this reader knows version {})", crate::FORMAT_VERSION)]
    UnsupportedVersion { source_file: String, version: u64 },
}
