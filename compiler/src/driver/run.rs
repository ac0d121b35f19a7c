//! Step two of the driver: carries out a [`Plan`] by running the real compiler.
//!
//! A build handles its inputs in command-line order. A C source is preprocessed
//! (`$UPSTARE_CC -E` with the preprocessor flags and the dependency-file flags, line markers
//! kept), instrumented by the library (`upstare_cc::instrument`), written to the temporary
//! directory and compiled with `$UPSTARE_CC -x cpp-output -c` and the code-generation flags. A
//! `.i` input skips preprocessing; an input that is not C is compiled by the real compiler as
//! is; objects and libraries go to the linker. The real compiler's output (its diagnostics on
//! the instrumented text, which line markers locate in the original files) is passed through
//! untouched. A unit that fails does not stop the others, as with gcc, but nothing is linked.
//! Linking itself is described in `link.rs`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// gcc inlining limits for instrumented units (see `compile_unit`).
const INLINE_PARAMS: &[&str] = &[
    "--param",
    "max-inline-insns-single=250",
    "--param",
    "max-inline-insns-auto=40",
];

use upstare_cc::{instrument, CDiagnostic, Options};
use upstare_meta::{render_json, render_text, Module};

use super::args::{Build, Input, Item, Plan, Steps, Stop, HELP};
use super::config::Config;
use super::error::DriverError;
use super::{link, runtime_path, text};

/// Carries out `plan`; returns the exit status of upstare-cc.
pub fn execute(plan: Plan, config: &Config) -> Result<u8, DriverError> {
    match plan {
        Plan::Help => {
            print!("{HELP}");
            Ok(0)
        }
        Plan::Version => {
            println!("upstare-cc {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        Plan::DumpMeta { file, json } => {
            let bytes = fs::read(&file).map_err(|source| DriverError::Io {
                what: "read",
                path: file.clone(),
                source,
            })?;
            let m = Module::from_elf(&bytes)
                .map_err(|source| DriverError::Meta { path: file, source })?;
            print!(
                "{}",
                if json {
                    render_json(&m)
                } else {
                    render_text(&m)
                }
            );
            Ok(0)
        }
        Plan::PassThrough(args) => Tools { config }.run(args),
        Plan::Build(b) => Builder::new(&b, config)?.build(),
    }
}

/// Runs the real compiler.
struct Tools<'a> {
    config: &'a Config,
}

impl Tools<'_> {
    /// Runs `$UPSTARE_CC args...` with inherited stdio; returns its exit status (1 when killed by
    /// a signal, which the compiler has then reported on stderr).
    fn run<I, S>(&self, args: I) -> Result<u8, DriverError>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let (program, lead) = self
            .config
            .cc
            .split_first()
            .expect("Config::cc is never empty");
        let args: Vec<OsString> = lead
            .iter()
            .cloned()
            .chain(args.into_iter().map(Into::into))
            .collect();
        if self.config.verbose {
            let shown: Vec<_> = std::iter::once(program)
                .chain(&args)
                .map(|a| a.to_string_lossy())
                .collect();
            eprintln!("+ {}", shown.join(" "));
        }
        let status = Command::new(program)
            .args(&args)
            .status()
            .map_err(|source| DriverError::Spawn {
                program: program.to_string_lossy().into_owned(),
                source,
            })?;
        Ok(match status.code() {
            Some(c) => u8::try_from(c).unwrap_or(1),
            None => 1,
        })
    }
}

/// The runtime's C API for programs (`#include <upstare.h>`).
const API_HEADER: &str = include_str!("../../../runtime/include/upstare.h");

/// The per-invocation temporary directory, removed when dropped unless `UPSTARE_KEEP_TEMPS`.
struct Temps {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Temps {
    fn new(keep: bool) -> Result<Temps, DriverError> {
        let dir = tempfile::Builder::new()
            .prefix("upstare-cc.")
            .tempdir()
            .map_err(|source| DriverError::Io {
                what: "create a temporary directory in",
                path: std::env::temp_dir(),
                source,
            })?;
        if keep {
            let path = dir.keep();
            eprintln!("upstare-cc: keeping temporary files in {}", path.display());
            Ok(Temps { path, _dir: None })
        } else {
            Ok(Temps {
                path: dir.path().to_owned(),
                _dir: Some(dir),
            })
        }
    }

    /// A directory holding the runtime's C API header `upstare.h`: one per user and
    /// upstare-cc version, kept between runs, because dependency files (`-MD`) name it.
    fn api_headers(&self) -> Result<PathBuf, DriverError> {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "upstare-cc-{uid}-{}/include",
            env!("CARGO_PKG_VERSION")
        ));
        let h = dir.join("upstare.h");
        if std::fs::read(&h).ok().as_deref() != Some(API_HEADER.as_bytes()) {
            std::fs::create_dir_all(&dir).map_err(|source| DriverError::Io {
                what: "create",
                path: dir.clone(),
                source,
            })?;
            // Written beside and renamed, so that a parallel build never reads half a file.
            let tmp = self.path.join("upstare.h");
            write(&tmp, API_HEADER.as_bytes())?;
            std::fs::rename(&tmp, &h).map_err(|source| DriverError::Io {
                what: "write",
                path: h.clone(),
                source,
            })?;
        }
        Ok(dir)
    }

    /// `n-stem.ext`: `n` is the input's position, so equal file names never collide.
    fn file(&self, n: usize, src: &Path, ext: &str) -> PathBuf {
        self.path.join(format!("{n}-{}.{ext}", stem(src)))
    }
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(|| "stdin".into(), |s| s.to_string_lossy().into_owned())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), DriverError> {
    fs::write(path, bytes).map_err(|source| DriverError::Io {
        what: "write",
        path: path.into(),
        source,
    })
}

/// Prints diagnostics about the user's C code, gcc style.
fn report(diags: &[CDiagnostic]) {
    for d in diags {
        eprintln!("{d}");
        if let Some(h) = &d.help {
            eprintln!("  help: {h}");
        }
    }
}

struct Builder<'a> {
    b: &'a Build,
    config: &'a Config,
    tools: Tools<'a>,
    temps: Temps,
}

impl<'a> Builder<'a> {
    fn new(b: &'a Build, config: &'a Config) -> Result<Self, DriverError> {
        Ok(Builder {
            b,
            config,
            tools: Tools { config },
            temps: Temps::new(config.keep_temps)?,
        })
    }

    fn build(&self) -> Result<u8, DriverError> {
        let b = self.b;
        let mut link_args: Vec<OsString> = Vec::new();
        let mut status = 0;
        for (n, item) in b.items.iter().enumerate() {
            match item {
                Item::Flag { steps, args } if steps.has(Steps::LINK) => {
                    link_args.extend(args.iter().cloned())
                }
                Item::Flag { .. } => {}
                Item::Input(Input::Linker(p)) if b.stop == Stop::Link => link_args.push(p.into()),
                Item::Input(Input::Linker(p)) => {
                    eprintln!("upstare-cc: warning: {}: linker input file unused because linking not done", p.display())
                }
                Item::Input(input) => {
                    let out = self.output_of(n, input);
                    let code = self.compile(n, input, &out)?;
                    if code == 0 {
                        link_args.push(out.into());
                    } else if status == 0 {
                        status = code;
                    }
                }
            }
        }
        if status != 0 || b.stop != Stop::Link {
            return Ok(status);
        }
        self.link(link_args)
    }

    /// Where input `n` is compiled to: the user's file with `-c`/`-S`, a temporary when linking.
    fn output_of(&self, n: usize, input: &Input) -> PathBuf {
        let src = source_of(input);
        match self.b.stop {
            Stop::Link => self.temps.file(n, src, "o"),
            Stop::Assembly => self
                .b
                .output
                .clone()
                .unwrap_or_else(|| format!("{}.s", stem(src)).into()),
            _ => self
                .b
                .output
                .clone()
                .unwrap_or_else(|| format!("{}.o", stem(src)).into()),
        }
    }

    /// `-c` or `-S`, and `-fPIC` for an update module.
    fn stop_flags(&self) -> Vec<OsString> {
        let mut v: Vec<OsString> = vec![if self.b.stop == Stop::Assembly {
            "-S"
        } else {
            "-c"
        }
        .into()];
        if self.b.shared {
            v.push("-fPIC".into());
        }
        v
    }

    /// The dependency-file flags for compiling `src` to `out`, as gcc would derive them: the
    /// file is `-MF`, else the output's name with `.d` (with `-o`), else the source's stem with
    /// `.d`; the target is `-MT`/`-MQ`, else the object.
    fn dep_flags(&self, src: &Path, out: &Path) -> Vec<OsString> {
        let d = &self.b.deps;
        let Some(mode) = d.mode else {
            return Vec::new();
        };
        let file: OsString = match (&d.file, &self.b.output) {
            (Some(f), _) => f.clone(),
            (None, Some(o)) => o.with_extension("d").into(),
            (None, None) => format!("{}.d", stem(src)).into(),
        };
        let mut v: Vec<OsString> = vec![mode.into(), "-MF".into(), file];
        if d.targets.is_empty() {
            let target = match self.b.stop {
                Stop::Link => PathBuf::from(format!("{}.o", stem(src))),
                _ => out.to_owned(),
            };
            v.extend(["-MT".into(), target.into()]);
        } else {
            v.extend(d.targets.iter().cloned());
        }
        if d.phony {
            v.push("-MP".into());
        }
        v
    }

    /// Compiles input `n` to `out`; returns the exit status (0 on success). With
    /// `UPSTARE_NO_RUNTIME` the preprocessed text is compiled as is.
    fn compile(&self, n: usize, input: &Input, out: &Path) -> Result<u8, DriverError> {
        let b = self.b;
        let src = source_of(input);
        let pre: PathBuf = match input {
            Input::Foreign { path, lang } => {
                let mut args = b.flags(Steps::FOREIGN);
                args.extend(self.dep_flags(path, out));
                args.extend(self.stop_flags());
                if let Some(l) = lang {
                    args.extend(["-x".into(), l.clone()]);
                }
                args.extend([path.into(), "-o".into(), out.into()]);
                return self.tools.run(args);
            }
            Input::Linker(_) => unreachable!("linker inputs are not compiled"),
            Input::Preprocessed(path) => path.clone(),
            Input::C(path) => {
                let pre = self.temps.file(n, path, "i");
                let mut args = b.flags(Steps::PRE);
                if !self.config.no_runtime {
                    // `#include <upstare.h>` (the runtime's C API) works without a -I; after
                    // the user's own directories, as a system header.
                    args.extend(["-idirafter".into(), self.temps.api_headers()?.into()]);
                }
                args.extend(self.dep_flags(path, out));
                args.extend([
                    "-E".into(),
                    "-x".into(),
                    "c".into(),
                    path.into(),
                    "-o".into(),
                    pre.clone().into(),
                ]);
                let code = self.tools.run(args)?;
                if code != 0 {
                    return Ok(code);
                }
                pre
            }
        };
        let compiled = if self.config.no_runtime {
            Some(pre)
        } else {
            self.instrument(n, src, &pre)?
        };
        let Some(compiled) = compiled else {
            return Ok(1);
        };
        let mut args: Vec<OsString> = Vec::new();
        if !self.config.no_runtime {
            // The cold save and restore code counts towards gcc's inlining limits although it
            // never runs in steady state; raise the limits by about that much so that small
            // instrumented functions are still inlined (the user's own --param come later and win).
            args.extend(INLINE_PARAMS.iter().map(OsString::from));
        }
        args.extend(b.flags(Steps::COMPILE));
        args.extend(self.stop_flags());
        args.extend([
            "-x".into(),
            "cpp-output".into(),
            compiled.into(),
            "-o".into(),
            out.into(),
        ]);
        self.tools.run(args)
    }

    /// Instruments the preprocessed unit `pre` of source `src`; returns the instrumented file,
    /// or `None` when diagnostics (already printed) stop the unit.
    fn instrument(&self, n: usize, src: &Path, pre: &Path) -> Result<Option<PathBuf>, DriverError> {
        let bytes = fs::read(pre).map_err(|source| DriverError::Io {
            what: "read",
            path: pre.into(),
            source,
        })?;
        let (text, enc) = text::decode(bytes);
        let opts = Options {
            source_name: src.display().to_string(),
        };
        let instrumented = match instrument(&text, &opts) {
            Ok((out, warnings)) => {
                report(&warnings);
                out
            }
            Err(diags) => {
                report(&diags);
                return Ok(None);
            }
        };
        let bytes = match text::encode(instrumented, enc) {
            Ok(b) => b,
            Err(c) => {
                eprintln!("upstare-cc: error: {}: the instrumenter produced {c:?}, which is not Latin-1 like the source", src.display());
                return Ok(None);
            }
        };
        let inst = self.temps.file(n, src, "up.i");
        write(&inst, &bytes)?;
        Ok(Some(inst))
    }

    /// Links the objects and libraries (in command-line order) into the output.
    fn link(&self, mut args: Vec<OsString>) -> Result<u8, DriverError> {
        let out = self.b.output.clone().unwrap_or_else(|| "a.out".into());
        if self.b.shared {
            args.push("-shared".into());
        }
        args.extend(["-o".into(), out.into()]);
        if self.config.no_runtime {
            // Debugging switch: a plain cc link, no runtime, no exports.
            return self.tools.run(args);
        }
        let runtime = runtime_path::find(self.config)?;
        let syms = link::runtime_symbols(&runtime)?;
        let tail = if self.b.shared {
            let script = self.temps.path.join("module.ver");
            write(&script, link::module_version_script().as_bytes())?;
            link::module_tail(&syms, &script)
        } else {
            let dynlist = self.temps.path.join("exports.dynlist");
            write(&dynlist, link::dynamic_list(&syms.exports).as_bytes())?;
            link::executable_tail(&runtime, &syms, &dynlist)
        };
        args.extend(tail.into_iter().map(OsString::from));
        self.tools.run(args)
    }
}

fn source_of(input: &Input) -> &Path {
    match input {
        Input::C(p)
        | Input::Preprocessed(p)
        | Input::Foreign { path: p, .. }
        | Input::Linker(p) => p,
    }
}
