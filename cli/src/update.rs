//! `upstare update <pid> <module> [--spec FILE] [--deadline DUR] [--tree] [--json]`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use upstare_proto::{Report, Request, Response, SpecSource};

use crate::control;

#[derive(clap::Args)]
pub struct Args {
    /// The process to update.
    pub pid: u32,
    /// The new version: an update module built with `upstare-cc -shared`.
    pub module: PathBuf,
    /// The update spec (`.upd`) for what automatic transfer cannot do.
    #[arg(long)]
    pub spec: Option<PathBuf>,
    /// How long threads may take to reach update points (`200ms`, `2s`).
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub deadline: Duration,
    /// Also update every descendant process (forked servers), parents first.
    #[arg(long)]
    pub tree: bool,
    /// Print the report as JSON (one object per process).
    #[arg(long)]
    pub json: bool,
}

/// `250ms`, `2s`, `1.5s`, `100us`, or a number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "ms"),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (like 200ms or 2s)"))?;
    let secs = match unit {
        "s" => v,
        "ms" => v / 1e3,
        "us" => v / 1e6,
        "m" | "min" => v * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{s}` (use us, ms, s, m)")),
    };
    if !(secs.is_finite() && secs > 0.0) {
        return Err(format!("`{s}` is not a positive duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub fn run(a: Args) -> ExitCode {
    let module = match std::fs::canonicalize(&a.module) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("upstare: {}: {e}", a.module.display());
            return ExitCode::from(2);
        }
    };
    let spec = match &a.spec {
        None => None,
        Some(p) => match std::fs::read_to_string(p) {
            Ok(text) => Some(SpecSource {
                path: p.display().to_string(),
                text,
            }),
            Err(e) => {
                eprintln!("upstare: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
    };
    let req = Request::Update {
        module: Some(module.display().to_string()),
        spec,
        deadline_ms: a.deadline.as_millis().max(1) as u64,
    };
    let pids = if a.tree {
        control::process_tree(a.pid)
    } else {
        vec![a.pid]
    };
    // The transaction itself never takes much longer than the deadline; leave room for loading.
    let timeout = a.deadline + Duration::from_secs(30);
    let mut ok = true;
    for pid in pids {
        let answer = control::ask(pid, &req, timeout);
        ok &= matches!(answer, Ok(Response::Updated { .. }));
        if a.json {
            let v = match &answer {
                Ok(r) => serde_json::json!({ "pid": pid, "response": r }),
                Err(e) => serde_json::json!({ "pid": pid, "error": e }),
            };
            println!("{v}");
        } else {
            print_human(pid, &answer);
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn print_report(r: &Report) {
    println!(
        "  prepare    {:>12}  (load, diff, check; program running)",
        ms(r.prepare_us)
    );
    println!(
        "  quiesce    {:>12}  (request -> last thread parked)",
        ms(r.quiesce_us)
    );
    println!("  transform  {:>12}", ms(r.transform_us));
    println!(
        "  rebuild    {:>12}  (release -> last thread resumed)",
        ms(r.rebuild_us)
    );
    println!(
        "  pause      {:>12}  (first thread parked -> last resumed)",
        ms(r.pause_us)
    );
    println!(
        "  threads {}, frames {}, globals {}, bytes {}",
        r.threads, r.frames, r.globals, r.bytes
    );
    if r.heap_objects > 0 || r.heap_patched > 0 {
        println!(
            "  heap: {} objects migrated ({} bytes), {} pointers in kept objects rewritten",
            r.heap_objects, r.heap_bytes, r.heap_patched
        );
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}

fn print_human(pid: u32, answer: &Result<Response, String>) {
    match answer {
        Ok(Response::Updated { report }) => {
            println!(
                "pid {pid}: updated from version {} to version {} ({})",
                report.from_version, report.to_version, report.module
            );
            print_report(report);
        }
        Ok(Response::Failed { failure }) => {
            println!(
                "pid {pid}: update refused in phase `{}`; the program keeps running version {}",
                failure.phase, failure.report.from_version
            );
            for r in &failure.reasons {
                println!("  - {r}");
            }
        }
        Ok(Response::BadRequest { message }) => println!("pid {pid}: error: {message}"),
        Ok(Response::Status { .. }) => println!("pid {pid}: unexpected answer (status)"),
        Err(e) => println!("pid {pid}: error: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("150"), Ok(Duration::from_millis(150)));
        assert!(parse_duration("2 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
