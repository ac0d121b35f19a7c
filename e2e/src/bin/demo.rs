//! `upstare-demo`: the live update demo behind `scripts/demo.sh`.
//!
//! Builds `examples/echo` (a threaded TCP server) version 1 as a program and version 2 as an
//! update module with upstare-cc, starts v1, connects four clients that keep sending requests
//! (one always pausing in the middle of a line), updates the running server with the real
//! `upstare update --spec examples/echo/v1-v2.upd` (v2 adds a command and a field to the
//! heap-allocated `struct conn`), and shows what the clients saw before and after, the
//! runtime's report (phases, pause), v2's new command on a connection opened under v1 and on a
//! new one, and the check that nothing was lost, duplicated or dropped.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use upstare_e2e::live::{build, upstare_cli, Live};
use upstare_e2e::{package_dir, Cmd, WorkDir};

const CLIENTS: usize = 4;

fn step(what: &str) -> Instant {
    print!("  {what} ... ");
    let _ = std::io::stdout().flush();
    Instant::now()
}

fn done(t: Instant) {
    println!("done ({:.1} s)", t.elapsed().as_secs_f64());
}

/// One client's conversation: (request, reply) pairs, and the first error if any.
#[derive(Default)]
struct Transcript {
    pairs: Vec<(String, String)>,
    error: Option<String>,
}

fn client(port: u16, id: usize, stop: Arc<AtomicBool>, log: Arc<Mutex<Transcript>>) {
    let run = || -> Result<(), String> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut w = s.try_clone().map_err(|e| e.to_string())?;
        let mut r = BufReader::new(s);
        let mut k = 0usize;
        let mut last = false;
        let mut hello_done = false;
        loop {
            let req = if last && !hello_done {
                "HELLO".to_string()
            } else if last {
                "STATS".to_string()
            } else {
                k += 1;
                format!("req {id} {k}")
            };
            let line = format!("{req}\n");
            if id == 0 {
                // This client always leaves a half-sent line for a moment.
                w.write_all(&line.as_bytes()[..3])
                    .map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_millis(3));
                w.write_all(&line.as_bytes()[3..])
                    .map_err(|e| e.to_string())?;
            } else {
                w.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
            }
            let mut reply = String::new();
            r.read_line(&mut reply)
                .map_err(|e| format!("no reply to `{req}`: {e}"))?;
            let reply = reply.trim_end().to_string();
            let ok = if last && !hello_done {
                reply == format!("v2 hello: opened under version 1, served={k}")
            } else if last {
                reply == format!("v2 stats served={k}")
            } else {
                reply == format!("v1 {k} {req}") || reply == format!("v2 {k} {req}")
            };
            log.lock().unwrap().pairs.push((req.clone(), reply.clone()));
            if !ok {
                return Err(format!("`{req}` was answered `{reply}`"));
            }
            if last && hello_done {
                return Ok(());
            }
            if last {
                hello_done = true;
                continue;
            }
            last = stop.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    if let Err(e) = run() {
        log.lock().unwrap().error = Some(e);
    }
}

/// A connection opened under v2: one request and HELLO, each answered as v2 promises.
fn late_client(port: u16) -> Result<Vec<(String, String)>, String> {
    let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut w = s.try_clone().map_err(|e| e.to_string())?;
    let mut r = BufReader::new(s);
    let mut pairs = Vec::new();
    for (req, want) in [
        ("hi", "v2 1 hi"),
        ("HELLO", "v2 hello: opened under version 2, served=1"),
    ] {
        w.write_all(format!("{req}\n").as_bytes())
            .map_err(|e| e.to_string())?;
        let mut reply = String::new();
        r.read_line(&mut reply).map_err(|e| e.to_string())?;
        let reply = reply.trim_end().to_string();
        if reply != want {
            return Err(format!("`{req}` was answered `{reply}`, not `{want}`"));
        }
        pairs.push((req.to_string(), reply));
    }
    Ok(pairs)
}

fn show(log: &Transcript, from: usize, n: usize) {
    for (req, reply) in log.pairs.iter().skip(from).take(n) {
        println!("      > {req:<14} < {reply}");
    }
}

fn main() -> ExitCode {
    println!("upstare demo: a threaded TCP echo server updated live, with clients connected\n");
    let ex = package_dir().join("../examples/echo");
    let work = WorkDir::new("demo");
    let exe = work.join("server");
    let module = work.join("v2.so");
    let spec = ex.join("v1-v2.upd");
    let t = step("building v1 with upstare-cc (examples/echo/v1/server.c)");
    build(&[ex.join("v1/server.c")], &exe, false, &[]);
    done(t);
    let t = step("building v2 as an update module (upstare-cc -shared examples/echo/v2)");
    build(&[ex.join("v2/server.c")], &module, true, &[]);
    done(t);
    let mut p = Live::start(&work, &exe, &[], &[]);
    let port: u16 = match p
        .wait_for("port ", Duration::from_secs(10))
        .trim_start_matches("port ")
        .parse()
    {
        Ok(port) => port,
        Err(_) => return fail("the server printed no port"),
    };
    println!("  v1 runs as pid {}, listening on 127.0.0.1:{port}", p.pid);
    let stop = Arc::new(AtomicBool::new(false));
    let logs: Vec<Arc<Mutex<Transcript>>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (stop, log) = (stop.clone(), logs[id].clone());
            std::thread::spawn(move || client(port, id, stop, log))
        })
        .collect();
    println!("  {CLIENTS} clients connected; each sends a request every 20 ms (client 0 always pauses mid-line)\n");
    std::thread::sleep(Duration::from_millis(400));
    let before = logs[1].lock().unwrap().pairs.len();
    println!("  client 1, before the update:");
    show(&logs[1].lock().unwrap(), before.saturating_sub(3), 3);
    println!(
        "\n  v2 answers `v2 <n> <line>`, adds the commands STATS and HELLO, and gives the per-connection\n  \
         `struct conn` (on the heap) a field `since`; examples/echo/v1-v2.upd sets it to 1 on every\n  \
         connection that is open when the update happens:"
    );
    for l in std::fs::read_to_string(&spec).unwrap_or_default().lines() {
        println!("      {l}");
    }
    println!(
        "\n  $ upstare update {} {} --spec examples/echo/v1-v2.upd",
        p.pid,
        module.file_name().unwrap_or_default().to_string_lossy()
    );
    let o = Cmd::new(upstare_cli())
        .arg("update")
        .arg(p.pid.to_string())
        .arg(&module)
        .arg("--spec")
        .arg(&spec)
        .run();
    for l in o.stdout_str().lines() {
        println!("    {l}");
    }
    if !o.success() {
        return fail(&o.report());
    }
    let at = logs[1].lock().unwrap().pairs.len();
    std::thread::sleep(Duration::from_millis(400));
    stop.store(true, Ordering::SeqCst);
    for t in threads {
        let _ = t.join();
    }
    println!("\n  client 1, after the update (the same connection):");
    show(&logs[1].lock().unwrap(), at.saturating_sub(1), 4);
    let log = logs[1].lock().unwrap();
    println!("      ...");
    let n = log.pairs.len();
    show(&log, n.saturating_sub(2), 2);
    drop(log);
    println!("\n  a client that connects after the update:");
    match late_client(port) {
        Ok(pairs) => {
            for (req, reply) in &pairs {
                println!("      > {req:<14} < {reply}");
            }
        }
        Err(e) => return fail(&format!("new client: {e}")),
    }
    let mut total = 0;
    for (id, l) in logs.iter().enumerate() {
        let l = l.lock().unwrap();
        total += l.pairs.len();
        if let Some(e) = &l.error {
            return fail(&format!("client {id}: {e}"));
        }
    }
    println!(
        "\n  {CLIENTS} clients, {total} requests: every one answered exactly once and in order, \
         no connection dropped;\n  each connection's counter carried over from v1 to v2, its new field was set by the spec,\n  and v2's new commands answer."
    );
    let status = p.status(&[]);
    println!("\n  $ upstare status {}", p.pid);
    for l in status.stdout_str().lines().take(8) {
        println!("    {l}");
    }
    drop(p);
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("\nupstare demo failed:\n{msg}");
    ExitCode::from(1)
}
