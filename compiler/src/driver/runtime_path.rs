//! Where the runtime archive is: `UPSTARE_RUNTIME` if set, else `libupstare_runtime.a` beside
//! the upstare-cc executable (cargo puts both in `target/<profile>/`). It only finds the file;
//! what is linked from it is `link.rs`'s business.

use std::path::PathBuf;

use super::config::Config;
use super::error::DriverError;

/// The archive's file name.
pub const RUNTIME_ARCHIVE: &str = "libupstare_runtime.a";

/// The runtime archive to link executables with.
pub fn find(config: &Config) -> Result<PathBuf, DriverError> {
    let path = match &config.runtime {
        Some(p) => p.clone(),
        None => {
            let exe = std::env::current_exe().map_err(|source| DriverError::Io {
                what: "locate upstare-cc itself",
                path: "/proc/self/exe".into(),
                source,
            })?;
            exe.with_file_name(RUNTIME_ARCHIVE)
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(DriverError::RuntimeMissing { path })
    }
}
