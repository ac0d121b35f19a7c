//! `upstare diff OLD NEW` (owned by the spec-language work).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The old version.
    pub old: PathBuf,
    /// The new version.
    pub new: PathBuf,
}

pub fn run(_a: Args) -> ExitCode {
    eprintln!("upstare diff: not built yet");
    ExitCode::from(2)
}
