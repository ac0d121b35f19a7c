//! The driver's environment, read once at start: which real compiler, where the runtime is,
//! debugging switches. Nothing else in the driver reads environment variables.

use std::ffi::OsString;
use std::path::PathBuf;

/// Settings from the environment (documented in `upstare-cc --help`).
#[derive(Debug, Clone)]
pub struct Config {
    /// The real compiler and its leading arguments (`UPSTARE_CC`, split on whitespace; default `cc`).
    pub cc: Vec<OsString>,
    /// `UPSTARE_RUNTIME`: the runtime archive, overriding the one next to the executable.
    pub runtime: Option<PathBuf>,
    /// `UPSTARE_KEEP_TEMPS=1`.
    pub keep_temps: bool,
    /// `UPSTARE_VERBOSE=1`: echo commands.
    pub verbose: bool,
    /// `UPSTARE_NO_RUNTIME=1`: a debugging switch that builds like plain cc: no instrumentation
    /// (instrumented code cannot link without the runtime), no runtime, no exports.
    pub no_runtime: bool,
}

fn switch(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

impl Config {
    pub fn from_env() -> Config {
        let cc = std::env::var("UPSTARE_CC")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "cc".into());
        Config {
            cc: cc.split_whitespace().map(OsString::from).collect(),
            runtime: std::env::var_os("UPSTARE_RUNTIME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            keep_temps: switch("UPSTARE_KEEP_TEMPS"),
            verbose: switch("UPSTARE_VERBOSE"),
            no_runtime: switch("UPSTARE_NO_RUNTIME"),
        }
    }
}
