//! Live updates of real processes with the real `upstare` CLI: programs in `data/update/<case>/`
//! (one folder per version) built with upstare-cc, started as processes, updated while they
//! run, and checked by their own output afterwards.

use std::path::PathBuf;
use std::time::Duration;

use upstare_e2e::live::{build, c_sources, Live};
use upstare_e2e::{data_dir, Cmd, WorkDir};

const T: Duration = Duration::from_secs(30);

fn case_dir(case: &str) -> PathBuf {
    data_dir().join("update").join(case)
}

/// Builds `case/v1` as an executable and the other versions as update modules; returns
/// (executable, modules by version name).
fn build_case(work: &WorkDir, case: &str, versions: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let dir = case_dir(case);
    // Code built with plain gcc, linked into every version (`plain/*.c`).
    let mut objects: Vec<String> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir.join("plain")) {
        for e in rd.flatten() {
            let src = e.path();
            let obj = work.join(format!(
                "{}.o",
                src.file_stem().unwrap_or_default().to_string_lossy()
            ));
            let o = Cmd::new("gcc")
                .args(["-O2", "-fPIC", "-c"])
                .arg(&src)
                .arg("-o")
                .arg(&obj)
                .run();
            assert!(o.success(), "{}", o.report());
            objects.push(obj.display().to_string());
        }
    }
    let extra: Vec<&str> = objects.iter().map(String::as_str).collect();
    let sources = |v: &str| c_sources(&dir.join(v));
    let exe = work.join("v1");
    build(&sources("v1"), &exe, false, &extra);
    let mut mods = Vec::new();
    for v in versions {
        let m = work.join(format!("{v}.so"));
        build(&sources(v), &m, true, &extra);
        mods.push(m);
    }
    (exe, mods)
}

/// One line of the chain program: version, i, ticks, last, total, extra.
fn parse_chain(line: &str) -> Option<(u32, i64, i64, i64, i64, Option<i64>)> {
    let mut it = line.split_whitespace();
    let v: u32 = it.next()?.strip_prefix('v')?.parse().ok()?;
    let mut kv = std::collections::HashMap::new();
    for w in it {
        let (k, val) = w.split_once('=')?;
        kv.insert(k, val.parse::<i64>().ok()?);
    }
    Some((
        v,
        kv["i"],
        kv["ticks"],
        kv["last"],
        kv["total"],
        kv.get("extra").copied(),
    ))
}

/// The number after `key=` in an output line (-1 when absent).
fn field(line: &str, key: &str) -> i64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|x| x.parse().ok())
        .unwrap_or(-1)
}

fn assert_updated(o: &upstare_e2e::Output) {
    assert!(
        o.success() && o.stdout_str().contains("updated from version"),
        "update failed:\n{}",
        o.report()
    );
}

/// v1 -> v2 -> v3 -> v2 on one process: every counter carries over, types widen, a field is
/// added and dropped, and each version's code runs exactly from its update on.
#[test]
fn chain_v1_v2_v3_v2() {
    let work = WorkDir::new("update-chain");
    let (exe, mods) = build_case(&work, "chain", &["v2", "v3"]);
    let mut p = Live::start(&work, &exe, &["1000"], &[]);
    p.wait_for("ready", T);
    p.wait_for("i=40 ", T);
    assert_updated(&p.update(&mods[0], &[]));
    p.wait_for("i=100 ", T);
    assert_updated(&p.update(&mods[1], &[]));
    p.wait_for("i=160 ", T);
    let back = p.update(&mods[0], &[]);
    assert_updated(&back);
    assert!(
        back.stdout_str().contains("to version 4"),
        "{}",
        back.report()
    );
    let status = p.status(&[]);
    assert!(
        status.success() && status.stdout_str().contains("version 4"),
        "{}",
        status.report()
    );
    let (code, lines, err) = p.finish(T);
    assert_eq!(code, Some(0), "stderr: {err}");
    let rows: Vec<_> = lines.iter().filter_map(|l| parse_chain(l)).collect();
    assert_eq!(rows.len(), 1000, "{}", lines.join("\n"));
    let mut phases: Vec<u32> = Vec::new();
    let mut extra_seen = 0;
    for (k, &(v, i, ticks, last, total, extra)) in rows.iter().enumerate() {
        assert_eq!(i, k as i64, "line {k}: {}", lines.join("\n"));
        assert_eq!((ticks, last), (i + 1, i), "line {k}");
        if phases.last() != Some(&v) {
            phases.push(v);
        }
        let step = v as i64;
        let prev = if k == 0 { 0 } else { rows[k - 1].4 };
        assert_eq!(
            total - prev,
            step,
            "line {k}: total steps by the version's amount"
        );
        if v == 3 {
            extra_seen += 1;
            assert_eq!(
                extra,
                Some(extra_seen),
                "line {k}: the new field starts at zero"
            );
        }
    }
    assert_eq!(phases, [1, 2, 3, 2], "versions in order: {phases:?}");
}

/// Updates that must not happen, each refused or rolled back with its reason, after which the
/// program still runs version 1 correctly and a good update still succeeds.
#[test]
fn refusals_leave_version_1_running() {
    let work = WorkDir::new("update-refusals");
    let (exe, mods) = build_case(&work, "refusals", &["v2", "nomap", "narrow"]);
    let other = work.join("other.so");
    build(
        &[case_dir("refusals").join("other/other.c")],
        &other,
        true,
        &[],
    );
    let mut p = Live::start(&work, &exe, &["100000"], &[]);
    p.wait_for("ready", T);
    p.wait_for("v1 i=20 ", T);

    let expect_refusal = |o: upstare_e2e::Output, phase: &str, words: &[&str]| {
        let out = o.stdout_str();
        assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
        assert!(out.contains(&format!("phase `{phase}`")), "{}", o.report());
        for w in words {
            assert!(out.contains(w), "missing `{w}`:\n{}", o.report());
        }
    };
    // A missing file: the CLI itself says so.
    let missing = p.update(&work.join("nope.so"), &[]);
    assert!(
        !missing.success() && missing.stderr_str().contains("nope.so"),
        "{}",
        missing.report()
    );
    // A module of another program.
    expect_refusal(
        p.update(&other, &[]),
        "prepare",
        &["not a version of this program"],
    );
    // A spec that does not fit the versions: the checker's diagnostics, with file and line.
    let bad = work.join("bad.upd");
    std::fs::write(&bad, "upstare 1;\nglobal totl { new = old; }\n").unwrap();
    expect_refusal(
        p.update(&mods[0], &["--spec", bad.to_str().unwrap()]),
        "prepare",
        &["bad.upd:2", "totl"],
    );
    // A global narrowed: needs a rule.
    expect_refusal(
        p.update(&mods[2], &[]),
        "prepare",
        &["`total`", "needs a rule"],
    );
    // The frame main is in has no counterpart: rolled back after quiescence.
    expect_refusal(
        p.update(&mods[1], &[]),
        "transform",
        &["frame main @", "has no point"],
    );
    // A thread stuck in code built without upstare-cc: the deadline passes.
    std::fs::write(work.join("spin"), "").unwrap();
    p.wait_for("spinning", T);
    expect_refusal(
        p.update(&mods[0], &["--deadline", "300ms"]),
        "quiesce",
        &["deadline passed", "never reached an update point"],
    );
    std::fs::write(work.join("stop"), "").unwrap();
    p.wait_for("stopped", T);
    // A thread inside a function that cannot be made rebuildable (variadic, its callee may
    // unwind): the deadline passes, and the reason names the function.
    std::fs::write(work.join("vlog"), "").unwrap();
    p.wait_for("vlog 1", T);
    expect_refusal(
        p.update(&mods[0], &["--deadline", "300ms"]),
        "quiesce",
        &["deadline passed", "`vlog`", "not updatable"],
    );
    std::fs::write(work.join("vstop"), "").unwrap();
    p.wait_for("vstopped", T);
    // Still version 1, counting correctly; now a good update goes through.
    let before = p.wait_for("v1 i=", T);
    assert_updated(&p.update(&mods[0], &[]));
    let after = p.wait_for("v2 i=", T);
    assert!(
        field(&after, "i") > field(&before, "i"),
        "{before} / {after}"
    );
}

/// The CLI of another user cannot reach the program's socket.
#[test]
fn another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        eprintln!("skipped: needs root to run the client under another uid");
        return;
    }
    let work = WorkDir::new("update-user");
    let (exe, mods) = build_case(&work, "chain", &["v2"]);
    let mut p = Live::start(&work, &exe, &["100000"], &[]);
    p.wait_for("ready", T);
    let cli = upstare_e2e::live::upstare_cli();
    let o = Cmd::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&cli)
        .args(["update", &p.pid.to_string()])
        .arg(&mods[0])
        .env("UPSTARE_SOCKET_DIR", &p.sock_dir)
        .run();
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
    assert!(
        o.stdout_str().contains("permission denied"),
        "{}",
        o.report()
    );
    // The program is untouched and still version 1.
    p.wait_for("v1 i=", T);
    let st = p.status(&[]);
    assert!(st.stdout_str().contains("version 1 "), "{}", st.report());
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Eight threads in the same loop, updated at once: each one's stack-held counters carry over
/// and each continues in v2's code; main, waiting in pthread_join, is updated too.
#[test]
fn workers_in_one_function_updated_together() {
    let work = WorkDir::new("update-threads");
    let (exe, mods) = build_case(&work, "threads", &["v2"]);
    let mut p = Live::start(&work, &exe, &["3000"], &[]);
    p.wait_for("ready", T);
    p.wait_for("i=100 ", T);
    let o = p.update(&mods[0], &[]);
    assert_updated(&o);
    assert!(o.stdout_str().contains("threads 9"), "{}", o.report());
    let (code, lines, err) = p.finish(T);
    assert_eq!(code, Some(0), "stderr: {err}");
    for id in 0..8i64 {
        let mine: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains(&format!("worker={id} ")))
            .collect();
        let mut saw_v2 = false;
        for l in &mine {
            let num = |k: &str| field(l, k);
            if l.starts_with("end") {
                assert_eq!(num("count"), 3000, "{l}");
                continue;
            }
            assert_eq!(num("count"), num("i") + 1, "{l}");
            if l.starts_with("v2") {
                saw_v2 = true;
                // Every v1 iteration added id, every v2 one adds 2 * id.
                let extra = num("sum") - id * num("count");
                assert!(extra >= 0 && extra <= id * num("count"), "{l}");
            } else {
                assert!(!saw_v2, "a v1 line after the update: {l}");
                assert_eq!(num("sum"), id * num("count"), "{l}");
            }
        }
        assert!(saw_v2, "worker {id} never ran v2:\n{}", lines.join("\n"));
    }
    assert!(lines.iter().any(|l| l == "all done"));
}

/// A server that forks per job: `--tree` updates the parent and both children, each reported.
#[test]
fn forked_processes_updated_with_tree() {
    let work = WorkDir::new("update-forking");
    let (exe, mods) = build_case(&work, "forking", &["v2"]);
    let mut p = Live::start(&work, &exe, &["100000"], &[]);
    let ready = p.wait_for("ready", T);
    p.wait_for("i=50 ", T);
    let o = p.update(&mods[0], &["--tree"]);
    assert!(o.success(), "{}", o.report());
    assert_eq!(
        o.stdout_str()
            .matches("updated from version 1 to version 2")
            .count(),
        3,
        "{}",
        o.report()
    );
    let kids: Vec<&str> = ready.split_whitespace().skip(1).collect();
    // Every one of the three processes prints v2 lines from now on.
    let mut v2_pids = std::collections::HashSet::new();
    while v2_pids.len() < 3 {
        let l = p.wait_for("v2 ", T);
        if let Some(pid) = l.split_whitespace().find_map(|w| w.strip_prefix("pid=")) {
            v2_pids.insert(pid.to_string());
        }
    }
    let mut expected: std::collections::HashSet<String> =
        kids.iter().map(|k| k.to_string()).collect();
    expected.insert(p.pid.to_string());
    assert_eq!(v2_pids, expected, "{}", p.seen.join("\n"));
    // Children are killed with the parent's process group by the harness; end them here.
    for k in kids {
        let _ = Cmd::new("kill").arg(k).run();
    }
}

/// Pointers to old globals and functions (in globals, a function-pointer table, main's frame)
/// lead to the new version's after the update, and the signal handler is the new one.
#[test]
fn pointers_and_signal_handlers_follow_the_update() {
    let work = WorkDir::new("update-pointers");
    let (exe, mods) = build_case(&work, "pointers", &["v2"]);
    let mut p = Live::start(&work, &exe, &["100000"], &[]);
    p.wait_for("ready", T);
    let l = p.wait_for("v1 i=20 ", T);
    assert!(l.ends_with("step=2 same=1 table=1"), "{l}");
    assert_updated(&p.update(&mods[0], &[]));
    let l = p.wait_for("v2 i=", T);
    assert!(l.ends_with("step=20 same=1 table=1"), "{l}");
    let o = Cmd::new("kill").args(["-USR1", &p.pid.to_string()]).run();
    assert!(o.success(), "{}", o.report());
    p.wait_for("v2 signal", T);
    let l = p.wait_for("v2 i=", T);
    assert!(l.ends_with("step=20 same=1 table=1"), "{l}");
}

/// Globals of 40 bytes, 4 KB and 800 KB carry over: a large `.bss` spans the module's
/// file-backed page and the anonymous mapping after it, and is still writable memory.
#[test]
fn globals_larger_than_a_page_carry_over() {
    let work = WorkDir::new("update-bigglobals");
    let (exe, mods) = build_case(&work, "bigglobals", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready", T);
    let want = "small=55 big=500500 huge=5000050000";
    p.send("show\n");
    assert_eq!(p.wait_for("v1 ", T), format!("v1 {want}"));
    assert_updated(&p.update(&mods[0], &[]));
    p.send("show\n");
    assert_eq!(p.wait_for("v2 ", T), format!("v2 {want}"));
    p.send("quit\n");
}

/// Type and field rules run on every element of a global array of structs, and a type rule
/// covers a narrowed field (no "needs a rule" refusal); other fields keep their values.
#[test]
fn type_and_field_rules_reach_global_arrays() {
    let spec = |f: &str| case_dir("arrays").join(f).display().to_string();
    for (version, file, want) in [
        ("v2", "field.upd", "v2 50/1 70/2 -30/3 90/4"),
        ("v3", "narrow.upd", "v3 5/1 7/2 -3/3 9/4"),
    ] {
        let work = WorkDir::new(&format!("update-arrays-{version}"));
        let (exe, mods) = build_case(&work, "arrays", &[version]);
        let mut p = Live::start(&work, &exe, &[], &[]);
        p.wait_for("ready", T);
        p.send("show\n");
        assert_eq!(p.wait_for("v1 ", T), "v1 5/1 7/2 -3/3 9/4");
        assert_updated(&p.update(&mods[0], &["--spec", &spec(file)]));
        p.send("show\n");
        assert_eq!(p.wait_for(&format!("{version} "), T), want);
        p.send("quit\n");
    }
}

/// A threaded TCP server on loopback, updated while eight clients are connected and sending
/// (one of them always mid-line): no connection drops, every request is answered exactly once
/// and in order, the per-connection counters carry over, and the new command works afterwards.
#[test]
fn tcp_server_with_clients_connected() {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let work = WorkDir::new("update-echo");
    let (exe, mods) = build_case(&work, "../../../examples/echo", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    let port: u16 = p
        .wait_for("port ", T)
        .trim_start_matches("port ")
        .parse()
        .unwrap();
    let warm = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let warm = warm.clone();
            std::thread::spawn(move || -> Result<(usize, usize), String> {
                let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
                s.set_read_timeout(Some(T)).unwrap();
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                let (mut v1, mut v2) = (0usize, 0usize);
                let mut k = 0usize;
                while v2 < 100 {
                    k += 1;
                    let req = format!("req {c} {k}\n");
                    if c == 0 {
                        // Always mid-line for a moment.
                        w.write_all(&req.as_bytes()[..5])
                            .map_err(|e| e.to_string())?;
                        std::thread::sleep(Duration::from_millis(2));
                        w.write_all(&req.as_bytes()[5..])
                            .map_err(|e| e.to_string())?;
                    } else {
                        w.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
                    }
                    let mut line = String::new();
                    r.read_line(&mut line)
                        .map_err(|e| format!("client {c} request {k}: {e}"))?;
                    let want_tail = format!(" {k} req {c} {k}\n");
                    match line.split_once(' ') {
                        Some(("v1", rest)) if format!(" {rest}") == want_tail => {
                            if v2 > 0 {
                                return Err(format!("client {c}: v1 reply after v2: {line}"));
                            }
                            v1 += 1;
                        }
                        Some(("v2", rest)) if format!(" {rest}") == want_tail => v2 += 1,
                        _ => return Err(format!("client {c} request {k}: bad reply {line:?}")),
                    }
                    if k == 100 {
                        warm.fetch_add(1, Ordering::SeqCst);
                    }
                }
                w.write_all(b"STATS\n").map_err(|e| e.to_string())?;
                let mut line = String::new();
                r.read_line(&mut line).map_err(|e| e.to_string())?;
                if line != format!("v2 stats served={k}\n") {
                    return Err(format!("client {c}: STATS answered {line:?} after {k}"));
                }
                Ok((v1, v2))
            })
        })
        .collect();
    let start = std::time::Instant::now();
    while warm.load(Ordering::SeqCst) < 8 {
        assert!(start.elapsed() < T, "clients did not warm up");
        std::thread::sleep(Duration::from_millis(5));
    }
    let o = p.update(&mods[0], &[]);
    assert_updated(&o);
    for (c, h) in clients.into_iter().enumerate() {
        let (v1, v2) = h
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}\n{}", o.report()));
        assert!(v1 >= 100 && v2 == 100, "client {c}: v1={v1} v2={v2}");
    }
}

/// Sixteen threads blocked or busy in every way (accept, read on idle sockets, a condition
/// variable, sleeps, a contended mutex, CPU loops) and main in fgets, updated to a version that
/// changes every one of those functions: each thread runs v2's code afterwards with its
/// iteration counter and locals carried over.
#[test]
fn sixteen_threads_blocked_everywhere() {
    let work = WorkDir::new("update-mixed");
    let (exe, mods) = build_case(&work, "mixed", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready 16 threads", T);
    p.send("poke\n");
    p.wait_for("v1 main poked 1", T);
    let blocked = [
        "accept 0", "accept 1", "read 0", "read 1", "read 2", "cond 0", "cond 1", "cond 2",
    ];
    for k in blocked {
        p.wait_seen(&format!("v1 {k} it=0 sum=1"), T);
    }
    p.wait_seen("v1 mutex", T);
    p.wait_seen("v1 cpu", T);
    let o = p.update(&mods[0], &[]);
    assert_updated(&o);
    assert!(o.stdout_str().contains("threads 16"), "{}", o.report());
    p.send("poke\n");
    p.wait_for("v2 main poked 2", T);
    for k in blocked {
        // Second wake-up: iteration 1, sum 1 (from v1) + 2 (v2's step).
        p.wait_seen(&format!("v2 {k} it=1 sum=3"), T);
    }
    for kind in ["sleep", "mutex", "cpu"] {
        for id in 0..2 {
            let l = p.wait_seen(&format!("v2 {kind} {id} "), T);
            let (it, sum) = (field(&l, "it"), field(&l, "sum"));
            assert!(sum > it + 1 && sum <= 2 * (it + 1), "{l}");
        }
    }
    assert!(
        !p.seen
            .iter()
            .skip_while(|l| !l.starts_with("v2"))
            .any(|l| l.starts_with("v1")),
        "a v1 line after the update:\n{}",
        p.seen.join("\n")
    );
    p.close_stdin();
    let (code, lines, err) = p.finish(T);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        lines.iter().any(|l| l == "v2 main quit pokes=2"),
        "{}",
        lines.join("\n")
    );
}

/// Update specs run as JIT-compiled transformers on the live process: a rename, a narrowing
/// with an assert, a type rule filling a new field. Rules that fault (division by zero, a null
/// dereference) or whose assert fails roll the update back with the rule and its line; the
/// program keeps running version 1, and the good spec then goes through.
#[test]
fn spec_rules_run_and_faults_roll_back() {
    let work = WorkDir::new("update-rules");
    let (exe, mods) = build_case(&work, "rules", &["v2"]);
    let spec = |name: &str| case_dir("rules").join(name).display().to_string();
    let mut p = Live::start(&work, &exe, &["100000"], &[]);
    p.wait_for("ready", T);
    p.wait_for("v1 i=20 ", T);
    for (file, words) in [
        ("div0.upd", &["div0.upd:5", "division by zero"][..]),
        (
            "assert.upd",
            &["assert.upd:4", "scale is too small for version 2"][..],
        ),
        ("null.upd", &["null.upd:3", "null pointer"][..]),
        ("index.upd", &["index.upd:3", "out of"][..]),
        ("wild.upd", &["wild.upd:3"][..]),
    ] {
        let o = p.update(&mods[0], &["--spec", &spec(file)]);
        let out = o.stdout_str();
        assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
        assert!(out.contains("keeps running version 1"), "{}", o.report());
        for w in words {
            assert!(out.contains(w), "{file}: missing `{w}`:\n{}", o.report());
        }
        p.wait_for("v1 i=", T);
    }
    let before = p.wait_for("v1 i=", T);
    assert_updated(&p.update(&mods[0], &["--spec", &spec("good.upd")]));
    let num = field;
    let first = p.wait_for("v2 i=", T);
    let mut prev = first.clone();
    for _ in 0..5 {
        let l = p.wait_for("v2 i=", T);
        assert_eq!(num(&l, "scale"), 30, "{l}");
        assert_eq!(num(&l, "dollars"), num(&l, "cents") / 100, "{l}");
        assert_eq!(num(&l, "sum") - num(&prev, "sum"), 30, "{prev} / {l}");
        prev = l;
    }
    // The renamed total carried over: v1 added 3 per step.
    assert!(
        num(&first, "sum") >= num(&before, "total"),
        "{before} / {first}"
    );
}

/// A real program from the package registry: the Lua 5.4 interpreter, built by upstare-cc, is
/// updated in the middle of a script (coroutines, string building, arithmetic loops) to
/// another build of itself as an update module; the script's output is exactly the plain
/// run's, and every Lua frame on the stack found its counterpart.
#[test]
fn lua_interpreter_updated_mid_script() {
    let work = WorkDir::new("update-lua");
    let exe_dir = WorkDir::new("update-lua-v1");
    let mod_dir = WorkDir::new("update-lua-v2");
    let (exe, _) = upstare_e2e::build_lua(upstare_e2e::Cc::Upstare, &exe_dir).unwrap();
    let module = upstare_e2e::build_lua_module(&mod_dir).unwrap();
    let script = work.join("work.lua");
    std::fs::write(
        &script,
        "for i = 1, 4000 do\n\
           local s = 0\n\
           for k = 1, 3000 do s = s + (k * i) % 7 end\n\
           local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1); return b * 2 end)\n\
           local x = co(i); local y = co(x)\n\
           print(i, s, x, y, #string.rep('ab', i % 5))\n\
         end\n\
         print('done')\n",
    )
    .unwrap();
    let plain = Cmd::new(&exe).arg(&script).run();
    assert!(plain.success(), "{}", plain.report());
    let script_s = script.display().to_string();
    let mut p = Live::start(&work, &exe, &[&script_s], &[]);
    p.wait_for("100\t", T);
    let o = p.update(&module, &[]);
    assert_updated(&o);
    let (code, lines, err) = p.finish(T);
    assert_eq!(code, Some(0), "{err}");
    let expected: Vec<String> = plain.stdout_str().lines().map(String::from).collect();
    assert!(
        lines == expected,
        "output differs from the plain run after the update"
    );
}
