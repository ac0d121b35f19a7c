//! `upstare`: the user's command for live updates.
//!
//! `update` and `status` talk to a running program's runtime over its control socket
//! (`control.rs`); `check` and `diff` work offline on two versions' modules with the spec
//! language (`upstare-dsl`). Each subcommand lives in its own module.

mod check;
mod control;
mod diff;
mod status;
mod update;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "upstare",
    version,
    about = "Live updates of running C programs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Move a running program to a new version.
    Update(update::Args),
    /// Show a running program's version and threads.
    Status(status::Args),
    /// Check an update spec against the old and new versions.
    Check(check::Args),
    /// Print a draft spec: every change between two versions, the default chosen, TODOs.
    Diff(diff::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Update(a) => update::run(a),
        Cmd::Status(a) => status::run(a),
        Cmd::Check(a) => check::run(a),
        Cmd::Diff(a) => diff::run(a),
    }
}
