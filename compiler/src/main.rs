//! `upstare-cc`: a drop-in C compiler whose programs can be updated while they run. All the
//! work is in `driver/`; this file only hands over.

mod driver;

fn main() -> std::process::ExitCode {
    driver::main()
}
