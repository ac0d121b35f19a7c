//! `upstare check SPEC --from OLD --to NEW [--json]` (owned by the spec-language work).

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The `.upd` spec.
    pub spec: PathBuf,
    /// The running (old) version: executable or update module.
    #[arg(long)]
    pub from: PathBuf,
    /// The new version's update module.
    #[arg(long)]
    pub to: PathBuf,
    /// Print diagnostics as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_a: Args) -> ExitCode {
    eprintln!("upstare check: not built yet");
    ExitCode::from(2)
}
