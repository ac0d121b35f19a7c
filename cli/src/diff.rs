//! `upstare diff OLD NEW`: prints a draft spec for the update from OLD to NEW (every change as
//! a comment with the automatic default, a TODO rule skeleton where a rule is needed).
//! Exit status 0, or 2 when a file cannot be used.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The old version.
    pub old: PathBuf,
    /// The new version.
    pub new: PathBuf,
}

pub fn run(a: Args) -> ExitCode {
    let (old, new) = match (
        crate::check::read_module(&a.old),
        crate::check::read_module(&a.new),
    ) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", upstare_dsl::draft(&old, &new));
    ExitCode::SUCCESS
}
