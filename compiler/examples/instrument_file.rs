//! Development aid: instruments one preprocessed file and prints the result (no driver).
fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: instrument_file FILE.i");
    let text = std::fs::read_to_string(&path).expect("read");
    match upstare_cc::instrument(
        &text,
        &upstare_cc::Options {
            source_name: String::new(),
        },
    ) {
        Ok((out, _)) => print!("{out}"),
        Err(diags) => {
            for d in diags {
                eprintln!("{d}");
            }
            std::process::exit(1);
        }
    }
}
