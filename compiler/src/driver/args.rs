//! Step one of the driver: gcc-style arguments to a [`Plan`], without touching the filesystem
//! or running anything.
//!
//! gcc's syntax does not fit a declarative parser (`-O2`, `-I dir` and `-Idir`, `-Wl,a,b`,
//! positional `-x` and `-l`), so the flags live in one table, [`FLAGS`]: each entry says how the
//! flag takes its value ([`Shape`]) and what it is for ([`Role`]). Most flags are only routed to
//! the steps of the build that need them ([`Steps`]); the driver understands the few that change
//! what it does (mode, output, language, dependency files). A flag the table does not know is
//! handed to every step, exactly as gcc would receive it. The plan keeps inputs and flags in
//! command-line order, because the linker cares (`a.o -lfoo`, `-Wl,--whole-archive x.a`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The steps of a build a flag is handed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps(u8);

impl Steps {
    /// Preprocessing a C source (`cc -E`).
    pub const PRE: Steps = Steps(1);
    /// Compiling the instrumented text (`cc -x cpp-output -c`).
    pub const COMPILE: Steps = Steps(2);
    /// Compiling an input that is not C (assembly, C++), untouched.
    pub const FOREIGN: Steps = Steps(4);
    /// Linking.
    pub const LINK: Steps = Steps(8);
    const ALL: Steps = Steps(15);
    /// What changes the meaning of the source: macros, include paths.
    const CPP: Steps = Steps(1 | 4);
    /// Code generation that the preprocessor also sees (`-O` defines `__OPTIMIZE__`, `-m` and
    /// `-f` define target macros) and the linker may need (`-m32`, `-flto`, `-pthread`).
    const CODEGEN: Steps = Steps::ALL;
    /// Diagnostics and language standard: not the linker's business.
    const LANG: Steps = Steps(1 | 2 | 4);

    const fn or(self, o: Steps) -> Steps {
        Steps(self.0 | o.0)
    }

    /// True when this set includes `step`.
    pub fn has(self, step: Steps) -> bool {
        self.0 & step.0 != 0
    }
}

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The argument is exactly the name: `-c`.
    Exact,
    /// The name is a prefix and the rest of the argument is the value: `-O2`, `-Wall`, `-Wl,x`.
    Joined,
    /// `-I dir` or `-Idir`.
    JoinedOrSeparate,
    /// Always two arguments: `-Xlinker arg`.
    Separate,
}

/// What a flag means to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Routed to these steps, at its place on the command line.
    Route(Steps),
    /// Stop after this stage.
    Stop(Stop),
    /// `-shared`: build an update module.
    Shared,
    /// `-o`.
    Output,
    /// `-x LANG`: the language of the inputs that follow.
    Language,
    /// Dependency-file generation, handled with preprocessing.
    Dep(DepFlag),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DepFlag {
    Md,
    Mmd,
    Mp,
    Mf,
    /// `-MT` or `-MQ`: kept as written.
    Target,
}

struct FlagSpec {
    name: &'static str,
    shape: Shape,
    role: Role,
}

const fn flag(name: &'static str, shape: Shape, role: Role) -> FlagSpec {
    FlagSpec { name, shape, role }
}

use Role::Route;
use Shape::{Exact, Joined, JoinedOrSeparate as JoS, Separate};

/// The flags the driver knows, first match wins (so longer names come before their prefixes).
/// Unknown flags go to every step.
const FLAGS: &[FlagSpec] = &[
    // What to produce.
    flag("-c", Exact, Role::Stop(Stop::Object)),
    flag("-S", Exact, Role::Stop(Stop::Assembly)),
    flag("-E", Exact, Role::Stop(Stop::Preprocess)),
    flag("-M", Exact, Role::Stop(Stop::Preprocess)),
    flag("-MM", Exact, Role::Stop(Stop::Preprocess)),
    flag("-shared", Exact, Role::Shared),
    flag("-o", JoS, Role::Output),
    flag("-x", JoS, Role::Language),
    // Dependency files, produced by the preprocessing step.
    flag("-MD", Exact, Role::Dep(DepFlag::Md)),
    flag("-MMD", Exact, Role::Dep(DepFlag::Mmd)),
    flag("-MP", Exact, Role::Dep(DepFlag::Mp)),
    flag("-MF", JoS, Role::Dep(DepFlag::Mf)),
    flag("-MT", JoS, Role::Dep(DepFlag::Target)),
    flag("-MQ", JoS, Role::Dep(DepFlag::Target)),
    // Pass-through to one tool.
    flag("-Wp,", Joined, Route(Steps::CPP)),
    flag("-Wa,", Joined, Route(Steps::COMPILE.or(Steps::FOREIGN))),
    flag("-Wl,", Joined, Route(Steps::LINK)),
    flag("-Xpreprocessor", Separate, Route(Steps::CPP)),
    flag(
        "-Xassembler",
        Separate,
        Route(Steps::COMPILE.or(Steps::FOREIGN)),
    ),
    flag("-Xlinker", Separate, Route(Steps::LINK)),
    // Preprocessor.
    flag("-I", JoS, Route(Steps::CPP)),
    flag("-D", JoS, Route(Steps::CPP)),
    flag("-undef", Exact, Route(Steps::CPP)),
    flag("-U", JoS, Route(Steps::CPP)),
    flag("-include", JoS, Route(Steps::CPP)),
    flag("-imacros", JoS, Route(Steps::CPP)),
    flag("-isystem", JoS, Route(Steps::CPP)),
    flag("-iquote", JoS, Route(Steps::CPP)),
    flag("-idirafter", JoS, Route(Steps::CPP)),
    flag("-iprefix", JoS, Route(Steps::CPP)),
    flag("-iwithprefixbefore", JoS, Route(Steps::CPP)),
    flag("-iwithprefix", JoS, Route(Steps::CPP)),
    flag("-isysroot", JoS, Route(Steps::CPP)),
    flag("-nostdinc", Exact, Route(Steps::CPP)),
    // Code generation, language and diagnostics.
    flag("-O", Joined, Route(Steps::CODEGEN)),
    flag(
        "-g",
        Joined,
        Route(Steps::COMPILE.or(Steps::FOREIGN).or(Steps::LINK)),
    ),
    flag("-f", Joined, Route(Steps::CODEGEN)),
    flag("-m", Joined, Route(Steps::CODEGEN)),
    flag("-pthread", Exact, Route(Steps::CODEGEN)),
    flag("-std=", Joined, Route(Steps::LANG)),
    flag("-ansi", Exact, Route(Steps::LANG)),
    flag("-pedantic", Joined, Route(Steps::LANG)),
    flag("-W", Joined, Route(Steps::LANG)),
    flag("-w", Exact, Route(Steps::LANG)),
    // Linking. `-l` and `-L` stay in place among the inputs.
    flag("-l", JoS, Route(Steps::LINK)),
    flag("-L", JoS, Route(Steps::LINK)),
    flag("-T", JoS, Route(Steps::LINK)),
    flag("-u", JoS, Route(Steps::LINK)),
    flag("-z", JoS, Route(Steps::LINK)),
    flag("-static", Joined, Route(Steps::LINK)),
    flag("-shared-libgcc", Exact, Route(Steps::LINK)),
    flag("-rdynamic", Exact, Route(Steps::LINK)),
    flag("-s", Exact, Route(Steps::LINK)),
    flag("-nostdlib", Exact, Route(Steps::LINK)),
    flag("-nostartfiles", Exact, Route(Steps::LINK)),
    flag("-nodefaultlibs", Exact, Route(Steps::LINK)),
    flag("-pie", Exact, Route(Steps::LINK)),
    flag("-no-pie", Exact, Route(Steps::LINK)),
    // Flags with a separate value that are not routed specially, listed so that their value is
    // not taken for an input file.
    flag("--param", Separate, Route(Steps::ALL)),
    flag("-aux-info", Separate, Route(Steps::ALL)),
    flag("--sysroot", Separate, Route(Steps::ALL)),
    flag("-B", JoS, Route(Steps::ALL)),
];

/// How far a build goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// `-E`, `-M`, `-MM`: the real compiler does this alone.
    Preprocess,
    /// `-S`.
    Assembly,
    /// `-c`.
    Object,
    /// The default: link an executable (or an update module with `-shared`).
    Link,
}

/// What an input is, which decides how it is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// C source: preprocessed, instrumented, compiled.
    C(PathBuf),
    /// Already preprocessed C (`.i`, `-x cpp-output`): instrumented and compiled.
    Preprocessed(PathBuf),
    /// Not C (`.s`, `.S`, `.cc`, ...): compiled by the real compiler untouched; `lang` is the
    /// `-x` in force, if any.
    Foreign {
        path: PathBuf,
        lang: Option<OsString>,
    },
    /// Objects, archives, shared libraries and anything else: for the linker.
    Linker(PathBuf),
}

/// One command-line element, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Input(Input),
    /// A flag (one or two arguments) and the steps it goes to.
    Flag {
        steps: Steps,
        args: Vec<OsString>,
    },
}

/// Dependency-file flags, applied to the preprocessing of each C source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DepFlags {
    /// `-MD` or `-MMD`, if given.
    pub mode: Option<&'static str>,
    pub phony: bool,
    pub file: Option<OsString>,
    /// `-MT`/`-MQ` flags with their values.
    pub targets: Vec<OsString>,
}

/// A build: compile each input, then maybe link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub stop: Stop,
    pub shared: bool,
    pub output: Option<PathBuf>,
    pub items: Vec<Item>,
    pub deps: DepFlags,
}

impl Build {
    /// The inputs, in order.
    pub fn inputs(&self) -> impl Iterator<Item = &Input> {
        self.items.iter().filter_map(|i| match i {
            Item::Input(input) => Some(input),
            Item::Flag { .. } => None,
        })
    }

    /// The flags for `step`, in order.
    pub fn flags(&self, step: Steps) -> Vec<OsString> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Flag { steps, args } if steps.has(step) => Some(args.iter().cloned()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

/// What the driver will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Help,
    Version,
    /// `--dump-meta FILE [--json]`.
    DumpMeta {
        file: PathBuf,
        json: bool,
    },
    /// Hand the arguments to the real compiler unchanged (`-E`, `-M`, or no input files as in
    /// `-v`, `-dumpversion`, `-print-search-dirs`).
    PassThrough(Vec<OsString>),
    Build(Build),
}

/// A command line that cannot become a plan.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgError {
    #[error("no input files")]
    NoInputs,
    #[error("missing argument to '{0}'")]
    MissingValue(String),
    #[error("cannot specify '-o' with '-c' or '-S' with multiple files")]
    OutputWithMultipleInputs,
    #[error("'--dump-meta' needs a file: upstare-cc --dump-meta [--json] FILE")]
    DumpMetaUsage,
}

/// Turns the arguments (without the program name) into a plan.
pub fn parse(args: &[OsString]) -> Result<Plan, ArgError> {
    if args.is_empty() {
        return Err(ArgError::NoInputs);
    }
    if args.iter().any(|a| a == "--dump-meta") {
        return parse_dump_meta(args);
    }
    if args.iter().any(|a| a == "--help") {
        return Ok(Plan::Help);
    }
    if args.iter().any(|a| a == "--version") {
        return Ok(Plan::Version);
    }
    let mut b = Build {
        stop: Stop::Link,
        shared: false,
        output: None,
        items: Vec::new(),
        deps: DepFlags::default(),
    };
    let mut lang: Option<OsString> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let text = arg.to_string_lossy();
        if !text.starts_with('-') || text == "-" {
            b.items.push(Item::Input(classify(arg, lang.as_deref())));
            continue;
        }
        let Some((spec, value)) = lookup(&text) else {
            // Unknown: gcc would have seen it everywhere, so every step sees it.
            b.items.push(Item::Flag {
                steps: Steps::ALL,
                args: vec![arg.clone()],
            });
            continue;
        };
        // The flag as written (one or two arguments) and its value.
        let (written, value): (Vec<OsString>, Option<OsString>) = match (spec.shape, value) {
            (Exact | Joined, _) => (vec![arg.clone()], None),
            (JoS, Some(v)) => (vec![arg.clone()], Some(v.into())),
            (JoS | Separate, None) => {
                let v = it
                    .next()
                    .ok_or_else(|| ArgError::MissingValue(spec.name.to_string()))?;
                (vec![arg.clone(), v.clone()], Some(v.clone()))
            }
            (Separate, Some(_)) => unreachable!("lookup gives no joined value for separate flags"),
        };
        match spec.role {
            Route(steps) => b.items.push(Item::Flag {
                steps,
                args: written,
            }),
            Role::Stop(s) => b.stop = b.stop.min(s),
            Role::Shared => b.shared = true,
            Role::Output => b.output = value.map(PathBuf::from),
            Role::Language => lang = value.filter(|l| l != "none"),
            Role::Dep(DepFlag::Md) => b.deps.mode = Some("-MD"),
            Role::Dep(DepFlag::Mmd) => b.deps.mode = b.deps.mode.or(Some("-MMD")),
            Role::Dep(DepFlag::Mp) => b.deps.phony = true,
            Role::Dep(DepFlag::Mf) => b.deps.file = value,
            Role::Dep(DepFlag::Target) => b.deps.targets.extend(written),
        }
    }
    let ninputs = b.inputs().count();
    if b.stop == Stop::Preprocess || ninputs == 0 {
        return Ok(Plan::PassThrough(args.to_vec()));
    }
    let compiled = b
        .inputs()
        .filter(|i| !matches!(i, Input::Linker(_)))
        .count();
    if b.output.is_some() && matches!(b.stop, Stop::Object | Stop::Assembly) && compiled > 1 {
        return Err(ArgError::OutputWithMultipleInputs);
    }
    Ok(Plan::Build(b))
}

/// The table entry for `arg`, with the joined value when the shape has one.
fn lookup(arg: &str) -> Option<(&'static FlagSpec, Option<&str>)> {
    FLAGS.iter().find_map(|spec| match spec.shape {
        Exact | Separate => (arg == spec.name).then_some((spec, None)),
        Joined => arg.starts_with(spec.name).then_some((spec, None)),
        JoS if arg == spec.name => Some((spec, None)),
        JoS => arg.strip_prefix(spec.name).map(|v| (spec, Some(v))),
    })
}

/// What kind of input `path` is, given the `-x` in force.
fn classify(path: &OsStr, lang: Option<&OsStr>) -> Input {
    let p = PathBuf::from(path);
    match lang.map(|l| l.to_string_lossy()) {
        Some(l) if l == "c" => return Input::C(p),
        Some(l) if l == "cpp-output" => return Input::Preprocessed(p),
        Some(_) => {
            return Input::Foreign {
                path: p,
                lang: lang.map(OsStr::to_owned),
            }
        }
        None => {}
    }
    match Path::new(path).extension().and_then(OsStr::to_str) {
        Some("c") => Input::C(p),
        Some("i") => Input::Preprocessed(p),
        Some(
            "s" | "S" | "sx" | "cc" | "cp" | "cxx" | "cpp" | "CPP" | "c++" | "C" | "ii" | "m"
            | "mi" | "M" | "mm" | "h",
        ) => Input::Foreign {
            path: p,
            lang: None,
        },
        _ => Input::Linker(p),
    }
}

fn parse_dump_meta(args: &[OsString]) -> Result<Plan, ArgError> {
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<_> = args
        .iter()
        .filter(|a| *a != "--dump-meta" && *a != "--json")
        .collect();
    match rest.as_slice() {
        [file] => Ok(Plan::DumpMeta {
            file: PathBuf::from(file),
            json,
        }),
        _ => Err(ArgError::DumpMetaUsage),
    }
}

/// `upstare-cc --help`.
pub const HELP: &str = "\
upstare-cc: a drop-in C compiler whose programs can be updated while they run

Usage: upstare-cc [gcc options] FILES...
       upstare-cc --dump-meta [--json] FILE
       upstare-cc --help | --version

Understands the usual gcc options (-c -S -E -o -I -D -U -O -g -W -std= -f -m -shared -l -L
-pthread -x -include -isystem -MD -MMD -MF -MT -MP) and hands anything else to the real
compiler. Each C source is preprocessed, instrumented and compiled; without -c an executable is
linked with the upstare runtime; with -shared an update module is produced instead.

  --dump-meta FILE    print the upstare metadata of an object, executable or update module
  --json              with --dump-meta: print JSON instead of text

Environment:
  UPSTARE_CC          the real C compiler, possibly with leading arguments (default: cc)
  UPSTARE_RUNTIME     path of libupstare_runtime.a (default: next to upstare-cc)
  UPSTARE_KEEP_TEMPS  1: keep the per-invocation temporary directory and print where it is
  UPSTARE_VERBOSE     1: print each command before running it
  UPSTARE_NO_RUNTIME  1: debugging switch, build like plain cc through upstare-cc's steps:
                      sources are preprocessed and compiled but not instrumented (instrumented
                      code needs the runtime), executables and .so files are linked without
                      the runtime or symbol exports; the program cannot be updated
";

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<OsString> {
        s.split_whitespace().map(OsString::from).collect()
    }

    fn build(s: &str) -> Build {
        match parse(&args(s)) {
            Ok(Plan::Build(b)) => b,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn strs(v: Vec<OsString>) -> Vec<String> {
        v.into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    #[test]
    fn flags_are_routed_to_their_steps() {
        let b = build("-c -O2 -g -Iinc -D X=1 -Wall -std=c11 -fPIC -o a.o a.c");
        assert_eq!(b.stop, Stop::Object);
        assert_eq!(b.output, Some(PathBuf::from("a.o")));
        assert_eq!(
            strs(b.flags(Steps::PRE)),
            ["-O2", "-Iinc", "-D", "X=1", "-Wall", "-std=c11", "-fPIC"]
        );
        assert_eq!(
            strs(b.flags(Steps::COMPILE)),
            ["-O2", "-g", "-Wall", "-std=c11", "-fPIC"]
        );
        assert_eq!(strs(b.flags(Steps::LINK)), ["-O2", "-g", "-fPIC"]);
    }

    #[test]
    fn link_items_keep_their_order() {
        let b =
            build("a.o -Wl,--whole-archive libx.a -Wl,--no-whole-archive b.c -L lib -lm -o prog");
        let kinds: Vec<String> = b
            .items
            .iter()
            .map(|i| match i {
                Item::Input(Input::Linker(p)) => format!("obj:{}", p.display()),
                Item::Input(Input::C(p)) => format!("c:{}", p.display()),
                Item::Input(other) => format!("{other:?}"),
                Item::Flag { args, .. } => strs(args.clone()).join(" "),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "obj:a.o",
                "-Wl,--whole-archive",
                "obj:libx.a",
                "-Wl,--no-whole-archive",
                "c:b.c",
                "-L lib",
                "-lm"
            ]
        );
    }

    #[test]
    fn languages_follow_x_and_extensions() {
        let b = build("-c x.S -x c weird.txt -x none y.i z.cc");
        let inputs: Vec<_> = b.inputs().cloned().collect();
        assert_eq!(
            inputs,
            [
                Input::Foreign {
                    path: "x.S".into(),
                    lang: None
                },
                Input::C("weird.txt".into()),
                Input::Preprocessed("y.i".into()),
                Input::Foreign {
                    path: "z.cc".into(),
                    lang: None
                },
            ]
        );
    }

    #[test]
    fn unknown_flags_go_everywhere() {
        let b = build("-frobnicate --unheard-of a.c");
        for step in [Steps::PRE, Steps::COMPILE, Steps::FOREIGN, Steps::LINK] {
            assert!(strs(b.flags(step)).contains(&"--unheard-of".to_string()));
        }
    }

    #[test]
    fn dependency_flags_are_collected() {
        let b = build("-c -MMD -MP -MF dep/a.d -MT a.o a.c");
        assert_eq!(b.deps.mode, Some("-MMD"));
        assert!(b.deps.phony);
        assert_eq!(b.deps.file, Some("dep/a.d".into()));
        assert_eq!(strs(b.deps.targets.clone()), ["-MT", "a.o"]);
        assert!(b.flags(Steps::PRE).is_empty());
    }

    #[test]
    fn preprocessing_and_queries_pass_through() {
        assert_eq!(
            parse(&args("-E -DX a.c")),
            Ok(Plan::PassThrough(args("-E -DX a.c")))
        );
        assert_eq!(
            parse(&args("-MM a.c")),
            Ok(Plan::PassThrough(args("-MM a.c")))
        );
        assert_eq!(
            parse(&args("-dumpversion")),
            Ok(Plan::PassThrough(args("-dumpversion")))
        );
    }

    #[test]
    fn errors_are_values() {
        assert_eq!(parse(&[]), Err(ArgError::NoInputs));
        assert_eq!(
            parse(&args("a.c -o")),
            Err(ArgError::MissingValue("-o".into()))
        );
        assert_eq!(
            parse(&args("-c a.c b.c -o x.o")),
            Err(ArgError::OutputWithMultipleInputs)
        );
        assert_eq!(parse(&args("--dump-meta")), Err(ArgError::DumpMetaUsage));
        assert_eq!(
            parse(&args("--dump-meta --json a.o")),
            Ok(Plan::DumpMeta {
                file: "a.o".into(),
                json: true
            })
        );
    }

    #[test]
    fn stop_is_the_earliest_stage_asked_for() {
        assert_eq!(build("-c -S a.c").stop, Stop::Assembly);
        assert!(build("-shared a.c").shared);
    }
}
