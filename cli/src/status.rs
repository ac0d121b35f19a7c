//! `upstare status <pid> [--json]`: version, threads and where each was at the last update.

use std::process::ExitCode;
use std::time::Duration;

use upstare_proto::{Request, Response};

use crate::control;

#[derive(clap::Args)]
pub struct Args {
    pub pid: u32,
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: Args) -> ExitCode {
    match control::ask(a.pid, &Request::Status, Duration::from_secs(10)) {
        Ok(Response::Status { status }) => {
            if a.json {
                println!("{}", serde_json::to_string(&status).unwrap_or_default());
                return ExitCode::SUCCESS;
            }
            println!(
                "pid {}: version {} ({})",
                status.pid, status.version, status.module
            );
            for (i, v) in status.versions.iter().enumerate() {
                println!("  version {}: {v}", i + 1);
            }
            println!("  {} threads:", status.threads.len());
            for t in &status.threads {
                println!("    {} {} [{}]", t.tid, t.name, t.state);
                for f in &t.frames {
                    println!("        at last update: {f}");
                }
            }
            if let Some(r) = &status.last_update {
                println!(
                    "  last update: version {} -> {}, pause {:.3} ms, quiesce {:.3} ms",
                    r.from_version,
                    r.to_version,
                    r.pause_us as f64 / 1000.0,
                    r.quiesce_us as f64 / 1000.0
                );
            }
            ExitCode::SUCCESS
        }
        Ok(other) => {
            eprintln!("upstare: unexpected answer: {other:?}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("upstare: {e}");
            ExitCode::from(1)
        }
    }
}
