//! `upstare check SPEC --from OLD --to NEW [--json]`: checks an update spec against the old
//! and new versions' metadata, offline, with the same checker the runtime runs at update time.
//!
//! Exit status: 0 when the spec passes (warnings are printed), 1 when it has errors, 2 when an
//! argument or a file cannot be used (the message names the file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use upstare_meta::Module;

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

/// Reads a version's metadata, or says which file could not be used and why.
pub fn read_module(path: &Path) -> Result<Module, String> {
    Module::read(path).map_err(|e| match e {
        upstare_meta::MetaError::Io { .. } => format!("upstare: {e}"),
        e => format!("upstare: {}: {e}", path.display()),
    })
}

pub fn run(a: Args) -> ExitCode {
    let source = match std::fs::read_to_string(&a.spec) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("upstare: cannot read {}: {e}", a.spec.display());
            return ExitCode::from(2);
        }
    };
    let (old, new) = match (read_module(&a.from), read_module(&a.to)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let path = a.spec.display().to_string();
    let (diags, ok) = match upstare_dsl::check(&source, &path, &old, &new) {
        Ok((_, warnings)) => (warnings, true),
        Err(diags) => (diags, false),
    };
    let text = upstare_dsl::render(&diags, &source, &path, a.json);
    if a.json {
        print!("{text}");
    } else {
        eprint!("{text}");
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let warnings = diags.len() - errors;
        if ok {
            eprintln!("{path}: ok ({warnings} warning(s))");
        } else {
            eprintln!("{path}: {errors} error(s), {warnings} warning(s)");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
