//! The `upstare-cc` command: a gcc-compatible driver around the instrumenting library.
//!
//! Two steps, as in ripgrep: `args` turns the command line into a [`args::Plan`] without side
//! effects, `run` carries it out with the real compiler (`UPSTARE_CC`, default `cc`). Errors are
//! values ([`error::DriverError`]) rendered here, once. The driver knows nothing of how code is
//! instrumented (that is the library's job) nor of processes (the runtime's).
//!
//! Modules: `args` (flag table, plan), `config` (environment), `run` (execution), `link` (link
//! lines, exported symbols), `runtime_path` (finding the runtime archive), `text` (encodings of
//! preprocessed text), `error`.

mod args;
mod config;
mod error;
mod link;
mod run;
mod runtime_path;
mod text;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs upstare-cc with the process's arguments and environment.
pub fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    let config = config::Config::from_env();
    let result = args::parse(&argv)
        .map_err(error::DriverError::from)
        .and_then(|plan| run::execute(plan, &config));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("upstare-cc: error: {e}");
            ExitCode::from(1)
        }
    }
}
