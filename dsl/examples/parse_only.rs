//! Parse time alone: `cargo run --release -p upstare-dsl --example parse_only FILE.upd [N]`
//! parses FILE N times (20 by default) and prints the mean; `N = 1` under a profiler.

fn main() {
    let src = std::fs::read_to_string(std::env::args().nth(1).unwrap()).unwrap();
    let t = std::time::Instant::now();
    let n: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    for _ in 0..n {
        let _ = upstare_dsl::parse(&src).unwrap();
    }
    println!(
        "{:.2} ms per parse",
        t.elapsed().as_secs_f64() * 1e3 / f64::from(n)
    );
}
