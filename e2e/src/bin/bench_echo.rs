//! upstare-bench-echo: loopback throughput of `examples/echo/v1` built with plain gcc -O2 and
//! with upstare-cc, measured alternately in one run (medians of `--reps` runs each). Each run
//! drives the server with `--clients` connections sending `--requests` request/reply round trips
//! each; the ratio is upstare throughput over gcc throughput.
//!
//! Usage: `upstare-bench-echo [--reps 5] [--clients 4] [--requests 20000]`.
//! Never a test: timings on a shared machine are no pass/fail criterion.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use upstare_e2e::live::{build, Live};
use upstare_e2e::{Cmd, WorkDir};

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Round trips per second against the server at `exe`.
fn run_once(work: &WorkDir, exe: &Path, clients: usize, requests: usize) -> f64 {
    let mut p = Live::start(work, exe, &[], &[("UPSTARE_CONTROL", "1")]);
    let port: u16 = p
        .wait_for("port ", Duration::from_secs(10))
        .trim_start_matches("port ")
        .parse()
        .expect("port");
    let start = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            std::thread::spawn(move || {
                let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                s.set_nodelay(true).ok();
                let mut w = s.try_clone().expect("clone");
                let mut r = BufReader::new(s);
                let mut line = String::new();
                for k in 0..requests {
                    writeln!(w, "req {c} {k}").expect("send");
                    line.clear();
                    r.read_line(&mut line).expect("reply");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client");
    }
    let secs = start.elapsed().as_secs_f64();
    drop(p);
    (clients * requests) as f64 / secs
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps = arg(&args, "--reps", 5);
    let clients = arg(&args, "--clients", 4);
    let requests = arg(&args, "--requests", 20_000);
    let work = WorkDir::new("bench-echo");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/echo/v1/server.c");
    let plain = work.join("server-gcc");
    let o = Cmd::new("gcc")
        .args(["-O2", "-pthread"])
        .arg(&src)
        .arg("-o")
        .arg(&plain)
        .run();
    assert!(o.success(), "{}", o.report());
    let up = work.join("server-upstare");
    build(&[src], &up, false, &[]);
    let (mut g, mut u) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        g.push(run_once(&work, &plain, clients, requests));
        u.push(run_once(&work, &up, clients, requests));
    }
    let (g, u) = (median(g), median(u));
    println!(
        "echo over loopback, {clients} clients x {requests} round trips, median of {reps} alternating runs"
    );
    println!("  gcc -O2      {g:>10.0} round trips/s");
    println!("  upstare-cc   {u:>10.0} round trips/s");
    println!("  ratio        {:>10.3} (upstare / gcc)", u / g);
}
