//! The driver's errors. They are values until `driver::main` renders them, once, as
//! `upstare-cc: error: ...` on stderr. Diagnostics about the user's C code are not errors of
//! the driver: they are printed as they come (gcc style) and only make the build fail.

use std::path::PathBuf;

use super::args::ArgError;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Args(#[from] ArgError),

    #[error(
        "cannot run the C compiler `{program}`: {source} (set UPSTARE_CC to the compiler to use)"
    )]
    Spawn {
        program: String,
        source: std::io::Error,
    },

    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: {source}", path.display())]
    Meta {
        path: PathBuf,
        source: upstare_meta::MetaError,
    },

    #[error(
        "the upstare runtime is missing: {} does not exist; build it with `cargo build -p upstare-runtime` \
         or set UPSTARE_RUNTIME to libupstare_runtime.a",
        path.display()
    )]
    RuntimeMissing { path: PathBuf },

    #[error("cannot read the runtime archive {}: {source}", path.display())]
    RuntimeArchive {
        path: PathBuf,
        source: object::Error,
    },
}
