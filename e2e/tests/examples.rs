//! The examples of `examples/` end to end, one test each: build every version with the real
//! `upstare-cc` (v1 as a program, the others as update modules), start v1 as a real process,
//! drive it (stdin, or loopback TCP clients for the servers), update it with the real `upstare`
//! CLI at the moment the example is about (the program prints a marker there and waits), and
//! compare the whole output with what the example promises.
//!
//! The expectations are computed here independently of the C programs where they are numbers
//! (Fibonacci, the comparisons of each sorting algorithm, the workers' sums), and written out
//! where they are transcripts. Examples 3 (prodcons) and 5 (echo) change a heap-allocated struct
//! and so need heap migration.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use upstare_e2e::live::{build, c_sources, Live};
use upstare_e2e::{package_dir, Output, WorkDir};

const T: Duration = Duration::from_secs(30);

fn example_dir(name: &str) -> PathBuf {
    package_dir().join("..").join("examples").join(name)
}

/// The path of a file of an example (a spec), as a string for the CLI.
fn example_file(name: &str, file: &str) -> String {
    example_dir(name).join(file).display().to_string()
}

/// Builds `examples/NAME/v1` as an executable and each of `modules` (`v2`, `v3`) as an update
/// module; returns the executable and the modules in that order.
fn build_example(work: &WorkDir, name: &str, modules: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let dir = example_dir(name);
    let sources = |v: &str| c_sources(&dir.join(v));
    let exe = work.join(name);
    build(&sources("v1"), &exe, false, &[]);
    let mods = modules
        .iter()
        .map(|v| {
            let m = work.join(format!("{v}.so"));
            build(&sources(v), &m, true, &[]);
            m
        })
        .collect();
    (exe, mods)
}

/// The update succeeded and went from version `from` to version `to`.
fn assert_updated(o: &Output, from: u32, to: u32) {
    let want = format!("updated from version {from} to version {to}");
    assert!(
        o.success() && o.stdout_str().contains(&want),
        "expected `{want}`:\n{}",
        o.report()
    );
}

/// The update was refused in `phase`, the program keeps version `version`, and the report
/// holds each of `words`.
fn assert_refused(o: &Output, phase: &str, version: u32, words: &[&str]) {
    let out = o.stdout_str();
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
    let keeps = format!("phase `{phase}`; the program keeps running version {version}");
    assert!(out.contains(&keeps), "expected `{keeps}`:\n{}", o.report());
    for w in words {
        assert!(out.contains(w), "missing `{w}`:\n{}", o.report());
    }
}

/// The number after `key` in the update report (`frames 35`), or -1.
fn report_number(o: &Output, key: &str) -> i64 {
    let out = o.stdout_str();
    let words: Vec<&str> = out
        .split_whitespace()
        .map(|w| w.trim_end_matches(','))
        .collect();
    words
        .windows(2)
        .find(|w| w[0] == key)
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(-1)
}

/// Compares every line the program printed with `expected`, naming the first difference.
fn assert_lines(lines: &[String], expected: &[String], err: &str) {
    let got = lines.join("\n");
    let want = expected.join("\n");
    if let Some(d) = upstare_e2e::explain_diff(&want, &got) {
        panic!("{d}\nwhole output:\n{got}\nstderr:\n{err}");
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Runs the program to its end and checks exit code 0 and its whole output.
fn finish_with(p: Live, expected: &[String]) {
    let (code, lines, err) = p.finish(T);
    assert_lines(&lines, expected, &err);
    assert_eq!(code, Some(0), "stderr:\n{err}");
}

// ---- 1. fib -------------------------------------------------------------------------------

/// The lines v2's fib prints as it returns: every call with n >= 28, in the order they return.
fn fib_reports(n: u32, depth: u32, out: &mut Vec<String>) -> u64 {
    if n < 28 {
        let (mut a, mut b) = (0u64, 1u64);
        for _ in 0..n {
            (a, b) = (b, a + b);
        }
        return a;
    }
    let v = fib_reports(n - 1, depth + 1, out) + fib_reports(n - 2, depth + 1, out);
    out.push(format!("v2 unwind fib({n}) = {v} at depth {depth}"));
    v
}

/// Recursive Fibonacci updated while 32 of its frames are on the stack: v2 reports every large
/// call as the recursion unwinds, and the result and the call count are those of one run.
#[test]
fn fib_updated_32_frames_deep() {
    let work = WorkDir::new("examples-fib");
    let (exe, mods) = build_example(&work, "fib", &["v2"]);
    let mut p = Live::start(&work, &exe, &["34"], &[]);
    p.wait_for("deep 32", T);
    // A body-less `-> wait` frame rule for the point where fib is stopped: refused, v1 runs on.
    let wait = example_dir("fib").join("wait.upd").display().to_string();
    let o = p.update(&mods[0], &["--spec", &wait]);
    assert_eq!(o.status.and_then(|s| s.code()), Some(1), "{}", o.report());
    assert!(
        o.stdout_str().contains("the spec says to wait"),
        "{}",
        o.report()
    );
    let o = p.update(&mods[0], &[]);
    assert_updated(&o, 1, 2);
    // 32 frames of fib, the checkpoint, main.
    assert!(report_number(&o, "frames") >= 34, "{}", o.report());
    p.send("go\n");
    let mut expected = strings(&["v1 fib(34) starts", "deep 32"]);
    let mut reports = Vec::new();
    let value = fib_reports(34, 1, &mut reports);
    let count = reports.len();
    expected.extend(reports);
    // Naive recursion makes 2 * fib(n + 1) - 1 calls.
    let calls = 2 * 9_227_465u64 - 1;
    assert_eq!(value, 5_702_887);
    expected.push(format!("fib(34) = {value}, calls = {calls}"));
    expected.push(format!("v2 reported {count} returns"));
    finish_with(p, &expected);
}

// ---- 2. sort ------------------------------------------------------------------------------

const SORT_N: usize = 64;
const SORT_PAUSE: u64 = 700;

/// The array examples/sort starts with (its linear congruential generator).
fn sort_data() -> Vec<i32> {
    sort_data_n(SORT_N)
}

fn sort_data_n(n: usize) -> Vec<i32> {
    let mut seed: u32 = 12345;
    (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            ((seed >> 16) % 1000) as i32
        })
        .collect()
}

/// Bubble sort up to its `SORT_PAUSE`-th comparison: the array, the pass and the index there.
fn bubble_until_pause(a: &mut [i32]) -> (usize, usize) {
    bubble_until(a, SORT_PAUSE)
}

/// Bubble sort up to its `stop`-th comparison: the pass and the index there.
fn bubble_until(a: &mut [i32], stop: u64) -> (usize, usize) {
    let n = a.len();
    let mut comparisons = 0;
    for pass in 0..n - 1 {
        for j in 0..n - 1 - pass {
            if comparisons == stop {
                return (pass, j);
            }
            comparisons += 1;
            if a[j] > a[j + 1] {
                a.swap(j, j + 1);
            }
        }
    }
    unreachable!("the pause comes before the end")
}

/// Selection sort (largest to the end) of `a[..=end]`: its comparisons.
fn selection_comparisons(a: &mut [i32], end: usize) -> u64 {
    let mut c = 0;
    for e in (1..=end).rev() {
        let mut best = 0;
        for j in 1..=e {
            c += 1;
            if a[j] > a[best] {
                best = j;
            }
        }
        a.swap(best, e);
    }
    c
}

fn sift_down(a: &mut [i32], mut root: usize, size: usize, c: &mut u64) {
    loop {
        let mut child = 2 * root + 1;
        if child >= size {
            return;
        }
        if child + 1 < size {
            *c += 1;
            if a[child + 1] > a[child] {
                child += 1;
            }
        }
        *c += 1;
        if a[root] >= a[child] {
            return;
        }
        a.swap(root, child);
        root = child;
    }
}

/// Heapsort of `a[..size]`: its comparisons.
fn heap_comparisons(a: &mut [i32], size: usize) -> u64 {
    let mut c = 0;
    for root in (0..size / 2).rev() {
        sift_down(a, root, size, &mut c);
    }
    for last in (1..size).rev() {
        a.swap(0, last);
        sift_down(a, 0, last, &mut c);
    }
    c
}

fn weighted_sum(a: &[i32]) -> i64 {
    a.iter()
        .enumerate()
        .map(|(i, &v)| v as i64 * (i as i64 + 1))
        .sum()
}

/// Bubble sort stopped mid-pass and switched to selection sort (v2) or heapsort (v3) by a
/// frame rule that maps the loop state: the array ends sorted, and the comparisons made after
/// the update are exactly those of the new algorithm on the unsorted rest.
#[test]
fn sort_switched_algorithm_mid_loop() {
    let work = WorkDir::new("examples-sort");
    let (exe, mods) = build_example(&work, "sort", &["v2", "v3"]);
    let mut data = sort_data();
    let (pass, j) = bubble_until_pause(&mut data);
    let unsorted_end = SORT_N - 1 - pass;
    let mut sorted = data.clone();
    sorted.sort();
    for (module, spec, algo) in [
        (&mods[0], "v1-v2.upd", "selection"),
        (&mods[1], "v1-v3.upd", "heap"),
    ] {
        let mut p = Live::start(&work, &exe, &[], &[]);
        let paused = format!("bubble paused: comparisons={SORT_PAUSE} outer={pass} inner={j}");
        p.wait_for(&paused, T);
        let o = p.update(module, &["--spec", &example_file("sort", spec)]);
        assert_updated(&o, 1, 2);
        p.send("go\n");
        let mut a = data.clone();
        let (version, after) = if algo == "selection" {
            (2, selection_comparisons(&mut a, unsorted_end))
        } else {
            (3, heap_comparisons(&mut a, unsorted_end + 1))
        };
        assert_eq!(a, sorted, "the model of {algo} sort is wrong");
        finish_with(
            p,
            &[
                format!("v1 bubble sort of {SORT_N} numbers"),
                paused,
                format!("v{version} {algo} sort made {after} comparisons"),
                format!(
                    "sorted=1 weighted-sum={} comparisons={}",
                    weighted_sum(&sorted),
                    SORT_PAUSE + after
                ),
            ],
        );
    }
}

/// The same switch at whatever moment the update finds a long bubble sort (its loops' points
/// or the checkpoint's entry, all mapped by the specs): from the comparisons made before the
/// update, the state there and the new algorithm's exact work follow.
#[test]
fn sort_switched_algorithm_at_any_moment() {
    const N: usize = 12_000;
    let work = WorkDir::new("examples-sort-any");
    let (exe, mods) = build_example(&work, "sort", &["v2", "v3"]);
    let data = sort_data_n(N);
    let mut sorted = data.clone();
    sorted.sort();
    for (module, spec, algo) in [
        (&mods[0], "v1-v2.upd", "selection"),
        (&mods[1], "v1-v3.upd", "heap"),
    ] {
        let n_arg = N.to_string();
        let mut p = Live::start(&work, &exe, &[&n_arg, "-1", "hold"], &[]);
        p.wait_for(&format!("v1 bubble sort of {N} numbers"), T);
        std::thread::sleep(Duration::from_millis(150));
        let o = p.update(module, &["--spec", &example_file("sort", spec)]);
        assert_updated(&o, 1, 2);
        // Where the update found it: a point of bubble_sort's loops or the checkpoint's entry.
        let st = p.status(&[]);
        let at = st
            .stdout_str()
            .lines()
            .find_map(|l| l.trim().strip_prefix("at last update: ").map(String::from))
            .unwrap_or_default();
        assert!(
            at.starts_with("bubble_sort @ loop#") || at.starts_with("checkpoint @ entry"),
            "{}",
            st.report()
        );
        eprintln!("{algo}: updated at {at}");
        p.send("bye\n");
        let (code, lines, err) = p.finish(T);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(lines.len(), 3, "{}", lines.join("\n"));
        let after: u64 = lines[1]
            .strip_prefix(&format!(
                "v{} {algo} sort made ",
                if algo == "heap" { 3 } else { 2 }
            ))
            .and_then(|r| r.strip_suffix(" comparisons"))
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("{}", lines.join("\n")));
        let total: u64 = lines[2]
            .rsplit_once("comparisons=")
            .and_then(|(_, x)| x.parse().ok())
            .unwrap_or_else(|| panic!("{}", lines.join("\n")));
        let before = total - after;
        let mut a = data.clone();
        let (pass, _) = bubble_until(&mut a, before);
        let want = if algo == "selection" {
            selection_comparisons(&mut a, N - 1 - pass)
        } else {
            heap_comparisons(&mut a, N - pass)
        };
        assert_eq!(a, sorted, "the model of {algo} sort is wrong");
        assert_eq!(
            after, want,
            "{algo}: the update came after {before} comparisons (pass {pass})"
        );
        assert_eq!(
            lines[2],
            format!(
                "sorted=1 weighted-sum={} comparisons={total}",
                weighted_sum(&sorted)
            )
        );
    }
}

// ---- 3. prodcons --------------------------------------------------------------------------

/// A producer and two consumers updated while items are in the queue, in a consumer's hands
/// and in the producer's: the item type gains a field (set by the spec's type rule on every
/// old item) and widens another; no item is lost or seen twice. Needs heap migration.
#[test]
fn prodcons_item_type_changes_under_the_consumers() {
    let work = WorkDir::new("examples-prodcons");
    let (exe, mods) = build_example(&work, "prodcons", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("holding item 50, 16 queued", T);
    let o = p.update(
        &mods[0],
        &["--spec", &example_file("prodcons", "v1-v2.upd")],
    );
    assert_updated(&o, 1, 2);
    assert!(
        o.stdout_str().contains("heap: 18 objects migrated"),
        "{}",
        o.report()
    );
    p.send("go\n");
    // Item 50 in a consumer's hands, 51..66 in the queue, 67 made by the producer, which
    // waits for room: 18 items of version 1.
    finish_with(
        p,
        &strings(&[
            "v1: 400 items, 2 consumers",
            "holding item 50, 16 queued",
            "consumed=400 missing=0 bad=0 value-sum=240600",
            "v2 consumers took 18 items made by version 1",
        ]),
    );
}

// ---- 4. workers ---------------------------------------------------------------------------

/// 32 threads in the same function, updated at once mid-loop: each keeps its stack-held sum
/// and continues with v2's body, whose new local counts the steps it ran.
#[test]
fn workers_32_threads_updated_at_once() {
    let work = WorkDir::new("examples-workers");
    let (exe, mods) = build_example(&work, "workers", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("all 32 workers at step 700", T);
    let o = p.update(&mods[0], &[]);
    assert_updated(&o, 1, 2);
    assert!(report_number(&o, "threads") >= 33, "{}", o.report());
    p.send("go\n");
    let mut expected = strings(&[
        "v1: 32 workers, 2000 steps each",
        "all 32 workers at step 700",
    ]);
    let mut total = 0i64;
    for id in 0..32i64 {
        let v1: i64 = (0..700).map(|s| id + s % 7).sum();
        let v2: i64 = (700..2000).map(|s| 100 * (id + s % 7)).sum();
        total += v1 + v2;
        expected.push(format!("v2 worker {id}: sum={} steps-in-v2=1300", v1 + v2));
    }
    expected.push(format!("total={total}"));
    finish_with(p, &expected);
}

// ---- 5. echo ------------------------------------------------------------------------------

/// One client of a line server: a connection with a reader.
struct Client {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(T)).expect("timeout");
        Client {
            w: s.try_clone().expect("clone"),
            r: BufReader::new(s),
        }
    }

    fn send(&mut self, text: &str) {
        self.w.write_all(text.as_bytes()).expect("send");
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("reply");
        assert!(l.ends_with('\n'), "connection closed: {l:?}");
        l.trim_end().to_string()
    }

    /// Sends one line and returns the reply.
    fn ask(&mut self, req: &str) -> String {
        self.send(&format!("{req}\n"));
        self.line()
    }
}

fn port_of(p: &mut Live) -> u16 {
    p.wait_for("port ", T)
        .trim_start_matches("port ")
        .parse()
        .expect("port number")
}

/// The threaded echo server updated with three clients mid-conversation (one with half a line
/// sent): every connection survives with its counter, and v2's new field of the heap-allocated
/// `struct conn` (set by the spec) and new command answer. Needs heap migration.
#[test]
fn echo_adds_a_command_and_a_connection_field() {
    let work = WorkDir::new("examples-echo");
    let (exe, mods) = build_example(&work, "echo", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    let port = port_of(&mut p);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(port)).collect();
    for (c, cl) in clients.iter_mut().enumerate() {
        for k in 1..=c + 2 {
            assert_eq!(cl.ask(&format!("hi {c}")), format!("v1 {k} hi {c}"));
        }
    }
    clients[0].send("half of a li");
    std::thread::sleep(Duration::from_millis(50));
    let o = p.update(&mods[0], &["--spec", &example_file("echo", "v1-v2.upd")]);
    assert_updated(&o, 1, 2);
    assert!(
        o.stdout_str().contains("heap: 3 objects migrated"),
        "one struct conn per connection:\n{}",
        o.report()
    );
    clients[0].send("ne\n");
    assert_eq!(clients[0].line(), "v2 3 half of a line");
    for (c, cl) in clients.iter_mut().enumerate() {
        let served = if c == 0 { 3 } else { c + 2 };
        assert_eq!(
            cl.ask("HELLO"),
            format!("v2 hello: opened under version 1, served={served}")
        );
        assert_eq!(cl.ask("again"), format!("v2 {} again", served + 1));
        assert_eq!(cl.ask("STATS"), format!("v2 stats served={}", served + 1));
    }
    let mut late = Client::connect(port);
    assert_eq!(late.ask("new"), "v2 1 new");
    assert_eq!(
        late.ask("HELLO"),
        "v2 hello: opened under version 2, served=1"
    );
}

// ---- 6. forking ---------------------------------------------------------------------------

/// A server that forks per connection: `--tree` updates the parent and every connection's
/// process; each connection continues with its counter in v2, and a new one is served by v2.
#[test]
fn forking_server_updated_with_tree() {
    let work = WorkDir::new("examples-forking");
    let (exe, mods) = build_example(&work, "forking", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    let port = port_of(&mut p);
    let mut clients: Vec<Client> = (0..3).map(|_| Client::connect(port)).collect();
    for (c, cl) in clients.iter_mut().enumerate() {
        assert_eq!(cl.ask(&format!("hello {c}")), format!("v1 1 hello {c}"));
        p.wait_for(&format!("connection {}", c + 1), T);
    }
    let o = p.update(&mods[0], &["--tree"]);
    assert!(o.success(), "{}", o.report());
    assert_eq!(
        o.stdout_str()
            .matches("updated from version 1 to version 2")
            .count(),
        4,
        "the parent and three children:\n{}",
        o.report()
    );
    for (c, cl) in clients.iter_mut().enumerate() {
        assert_eq!(cl.ask(&format!("again {c}")), format!("v2 2 again {c}"));
    }
    let mut late = Client::connect(port);
    assert_eq!(late.ask("late"), "v2 1 late");
    p.wait_for("connection 4", T);
}

// ---- 7. signals ---------------------------------------------------------------------------

/// An update requested while a signal handler runs: with a short deadline it is refused (the
/// handler's frame cannot be rebuilt); with a longer one it waits for the handler's end and
/// is applied; the handler is v2's afterwards.
#[test]
fn signals_update_waits_for_the_handler() {
    let work = WorkDir::new("examples-signals");
    let (exe, mods) = build_example(&work, "signals", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready", T);
    p.send("before\n");
    p.wait_for("v1 before: handled=0", T);
    let kill = |p: &Live| {
        let o = upstare_e2e::Cmd::new("kill")
            .args(["-USR1", &p.pid.to_string()])
            .run();
        assert!(o.success(), "{}", o.report());
    };
    kill(&p);
    p.wait_for("v1 handler: waiting for release", T);
    let refused = p.update(&mods[0], &["--deadline", "300ms"]);
    assert_refused(&refused, "quiesce", 1, &["deadline passed"]);
    // Now an update with time to spare: it waits while the handler runs.
    let module = mods[0].clone();
    let sock = p.sock_dir.clone();
    let pid = p.pid;
    let started = Instant::now();
    let waiter = std::thread::spawn(move || {
        upstare_e2e::Cmd::new(upstare_e2e::live::upstare_cli())
            .args(["update", &pid.to_string()])
            .arg(&module)
            .args(["--deadline", "20s"])
            .env("UPSTARE_SOCKET_DIR", &sock)
            .timeout(T)
            .run()
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !waiter.is_finished(),
        "the update did not wait for the handler"
    );
    std::fs::write(work.join("release"), "").unwrap();
    let o = waiter.join().unwrap();
    assert_updated(&o, 1, 2);
    assert!(started.elapsed() >= Duration::from_millis(500));
    p.send("after\n");
    p.wait_for("v2 after:", T);
    kill(&p);
    p.wait_for("v2 handler: waiting for release", T);
    p.send("again\n");
    finish_with(
        p,
        &strings(&[
            "ready",
            "v1 before: handled=0",
            "v1 handler: waiting for release",
            "v1 handler: released",
            "v2 after: handled=1 (signals seen by version 2: 0)",
            "v2 handler: waiting for release",
            "v2 handler: released",
            "v2 again: handled=2 (signals seen by version 2: 1)",
        ]),
    );
}

// ---- 8. chain -----------------------------------------------------------------------------

/// v1 -> v2 -> v3 -> v2 on one process: balances widen and gain a field, become mills under
/// a new name and back, the counter is renamed and back; each step's state shows in `show`.
#[test]
fn chain_v1_v2_v3_v2() {
    let work = WorkDir::new("examples-chain");
    let (exe, mods) = build_example(&work, "chain", &["v2", "v3"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready", T);
    let step = |p: &mut Live, cmd: &str, reply: &str| {
        p.send(&format!("{cmd}\n"));
        p.wait_for(reply, T);
    };
    step(&mut p, "pay ann 150", "v1 ann=150");
    step(&mut p, "pay bob 99", "v1 bob=99");
    step(&mut p, "show", "v1 ops=2");
    assert_updated(&p.update(&mods[0], &[]), 1, 2);
    step(&mut p, "pay ann 50", "v2 ann=200 (1 payments)");
    step(&mut p, "show", "v2 ops=3");
    let spec = example_file("chain", "v2-v3.upd");
    assert_updated(&p.update(&mods[1], &["--spec", &spec]), 2, 3);
    step(&mut p, "pay cy 7", "v3 cy=$0.070 (1 payments)");
    step(&mut p, "show", "v3 ops=4");
    let spec = example_file("chain", "v3-v2.upd");
    assert_updated(&p.update(&mods[0], &["--spec", &spec]), 3, 4);
    step(&mut p, "pay bob 1", "v2 bob=100 (1 payments)");
    step(&mut p, "show", "v2 ops=5");
    let st = p.status(&[]);
    assert!(st.stdout_str().contains("version 4"), "{}", st.report());
    finish_with(
        p,
        &strings(&[
            "ready",
            "v1 ann=150",
            "v1 bob=99",
            "v1 ops=2 ann=150 bob=99 cy=0",
            "v2 ann=200 (1 payments)",
            "v2 ops=3 ann=200/1 bob=99/0 cy=0/0",
            "v3 cy=$0.070 (1 payments)",
            "v3 ops=4 ann=$2.000/1 bob=$0.990/0 cy=$0.070/1",
            "v2 bob=100 (1 payments)",
            "v2 ops=5 ann=200/1 bob=100/1 cy=7/1",
        ]),
    );
}

// ---- 9. rollback --------------------------------------------------------------------------

/// A spec whose type rule asserts on every live reading fails on one of them: the update
/// rolls back naming the rule's line, v1 keeps running with its data intact, and a spec that
/// clamps the reading then succeeds.
#[test]
fn rollback_keeps_v1_running() {
    let work = WorkDir::new("examples-rollback");
    let (exe, mods) = build_example(&work, "rollback", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("ready", T);
    p.send("read 1 20\nread 2 5000000000\nread 3 -7\nshow\n");
    p.wait_for("v1 count=3", T);
    let strict = example_file("rollback", "strict.upd");
    let o = p.update(&mods[0], &["--spec", &strict]);
    assert_refused(
        &o,
        "transform",
        1,
        &[
            "rule `type struct reading`",
            "strict.upd:5",
            "a reading does not fit in an int",
        ],
    );
    p.send("show\nread 4 40\nshow\n");
    p.wait_for("v1 count=4", T);
    let clamp = example_file("rollback", "clamp.upd");
    assert_updated(&p.update(&mods[0], &["--spec", &clamp]), 1, 2);
    p.send("show\nread 5 50\nshow\n");
    p.wait_for("v2 count=5", T);
    finish_with(
        p,
        &strings(&[
            "ready",
            "v1 recorded sensor 1 = 20",
            "v1 recorded sensor 2 = 5000000000",
            "v1 recorded sensor 3 = -7",
            "v1 count=3 [1]=20 [2]=5000000000 [3]=-7",
            "v1 count=3 [1]=20 [2]=5000000000 [3]=-7",
            "v1 recorded sensor 4 = 40",
            "v1 count=4 [1]=20 [2]=5000000000 [3]=-7 [4]=40",
            "v2 count=4 [1]=20 [2]=2147483647! [3]=-7 [4]=40",
            "v2 recorded sensor 5 = 50",
            "v2 count=5 [5]=50 [2]=2147483647! [3]=-7 [4]=40",
        ]),
    );
}

// ---- the tutorial ---------------------------------------------------------------------------

/// The program of examples/README.md's tutorial, updated with the spec the tutorial writes:
/// the takings narrow from cents to dollars by the rule, the last sale's price moves to the
/// renamed field, and v2 adds to the converted takings.
#[test]
fn tutorial_till_updated_with_its_spec() {
    let work = WorkDir::new("examples-tutorial");
    let (exe, mods) = build_example(&work, "tutorial", &["v2"]);
    let mut p = Live::start(&work, &exe, &[], &[]);
    p.wait_for("v1 sold item 2 ", T);
    let o = p.update(
        &mods[0],
        &["--spec", &example_file("tutorial", "v1-v2.upd")],
    );
    assert_updated(&o, 1, 2);
    let first = p.wait_for("v2 sold item", T);
    let last_v1 = p
        .seen
        .iter()
        .rev()
        .find(|l| l.starts_with("v1 "))
        .cloned()
        .expect("a v1 line");
    // "v1 sold item K for C cents, takings T cents" then "v2 sold item K+1 for $D, takings $S".
    let words = |l: &str| -> Vec<String> { l.split_whitespace().map(String::from).collect() };
    let (a, b) = (words(&last_v1), words(&first));
    let num = |w: &str| -> i64 {
        w.trim_start_matches('$')
            .trim_end_matches(',')
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {w} in {last_v1} / {first}"))
    };
    let (item, takings_cents) = (num(&a[3]), num(&a[8]));
    let (next, price, takings) = (num(&b[3]), num(&b[5]), num(&b[7]));
    assert_eq!(next, item + 1, "{last_v1} / {first}");
    assert_eq!(price, 3 + next % 3, "{first}");
    assert_eq!(takings, takings_cents / 100 + price, "{last_v1} / {first}");
}
