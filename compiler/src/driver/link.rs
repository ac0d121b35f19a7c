//! The link step: what is added to the user's objects and libraries to make an upstare
//! executable or update module. Every symbol-visibility decision of upstare lives here.
//!
//! An **executable** is linked as
//!
//! ```text
//! $UPSTARE_CC <user inputs and link flags, in order> -o OUT
//!     -Wl,--undefined=SYM...  -Wl,--dynamic-list=TMP/exports.dynlist
//!     <runtime>/libupstare_runtime.a -Wl,--wrap=pthread_create -Wl,--wrap=...
//!     -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
//! ```
//!
//! - The runtime comes after every user object and library: it defines `main` (crt1.o's
//!   reference pulls it in) and the ABI of `upstare_rt.h` that instrumented code calls, and it
//!   calls the user's `main`, renamed `__us_main` by the compiler.
//! - The system libraries are those `rustc --print native-static-libs` lists for a staticlib on
//!   this target ([`RUNTIME_SYSTEM_LIBS`]); with glibc 2.34 and later most are empty stubs, and
//!   `-lgcc_s` provides the unwinder Rust's std needs.
//! - `--wrap=F` for every `__wrap_F` the runtime archive defines: `pthread_create` goes through
//!   the runtime so that each thread has a root to unwind to, blocking calls so that a pending
//!   update can wake them. The list comes from the archive's symbol table, so the runtime alone
//!   decides what it wraps. `--wrap` applies to every object in the link, the runtime's own Rust
//!   code included (its `__real_F` calls are the way out).
//! - The runtime's ABI symbols (`__us_*` except `__us_main`, `upstare_*`, `__wrap_*`) are listed
//!   from the archive's symbol table, exported with `--dynamic-list` so that an update module
//!   loaded with `dlopen` binds to the executable's runtime, and forced in with `--undefined` so
//!   that the archive member defining one is linked even when the program itself never calls it.
//!
//! An **update module** (`-shared`) is linked without the runtime (it resolves the runtime's
//! symbols from the executable it is loaded into), with the same `--wrap` flags (read from the
//! runtime archive, which must therefore exist):
//!
//! ```text
//! $UPSTARE_CC <user inputs and link flags> -shared -o OUT.so
//!     -Wl,--version-script=TMP/module.ver -Wl,-Bsymbolic -Wl,--wrap=pthread_create ...
//! ```
//!
//! The version script makes every symbol of the module local except [`MODULE_EXPORTS`], so that
//! two versions of the program never interpose on each other (`-fvisibility=hidden` would not be
//! enough: extern symbols shared between units of the module must stay global at compile time).
//! The runtime reads the module's `upstare_meta` section from the file, which needs no symbol.

use std::fs;
use std::path::Path;

use object::read::archive::ArchiveFile;

use super::error::DriverError;

/// Libraries the runtime archive (a Rust staticlib) needs, from `rustc --print native-static-libs`.
pub const RUNTIME_SYSTEM_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];

/// The only symbols an update module exports: the new version's root function, which the
/// runtime looks up with `dlsym` to rebuild the main thread. Add here what the runtime needs to
/// find in a module by name; nothing else should be visible.
pub const MODULE_EXPORTS: &[&str] = &["__us_main", "__us_module_tables"];

/// True for a runtime symbol that update modules may reference.
fn is_runtime_export(name: &str) -> bool {
    (name.starts_with("__us_") || name.starts_with("upstare_") || name.starts_with("__wrap_"))
        && name != "__us_main"
}

/// What the link needs to know about the runtime archive, from its symbol table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeSymbols {
    /// ABI symbols exported to update modules, sorted.
    pub exports: Vec<String>,
    /// Functions `F` for which the runtime defines `__wrap_F`, sorted.
    pub wrapped: Vec<String>,
}

/// Reads the runtime archive's symbol table.
pub fn runtime_symbols(path: &Path) -> Result<RuntimeSymbols, DriverError> {
    let data = fs::read(path).map_err(|source| DriverError::Io {
        what: "read",
        path: path.into(),
        source,
    })?;
    let archive_err = |source| DriverError::RuntimeArchive {
        path: path.into(),
        source,
    };
    let archive = ArchiveFile::parse(&*data).map_err(archive_err)?;
    let mut names = Vec::new();
    if let Some(symbols) = archive.symbols().map_err(archive_err)? {
        for sym in symbols {
            let sym = sym.map_err(archive_err)?;
            if let Ok(name) = std::str::from_utf8(sym.name()) {
                if is_runtime_export(name) {
                    names.push(name.to_string());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    let wrapped = names
        .iter()
        .filter_map(|n| n.strip_prefix("__wrap_"))
        .map(String::from)
        .collect();
    Ok(RuntimeSymbols {
        exports: names,
        wrapped,
    })
}

/// The `--dynamic-list` file that exports `symbols` from an executable.
pub fn dynamic_list(symbols: &[String]) -> String {
    let mut s = String::from(
        "/* Generated by upstare-cc: the runtime ABI, exported to update modules. */\n{\n",
    );
    for sym in symbols {
        s.push_str(&format!("  {sym};\n"));
    }
    s.push_str("};\n");
    s
}

/// The version script of an update module.
pub fn module_version_script() -> String {
    let mut s = String::from("/* Generated by upstare-cc: an update module exports only what the runtime looks up. */\n{\n  global:\n");
    for sym in MODULE_EXPORTS {
        s.push_str(&format!("    {sym};\n"));
    }
    s.push_str("  local:\n    *;\n};\n");
    s
}

/// What follows the user's inputs when linking an executable.
pub fn executable_tail(runtime: &Path, syms: &RuntimeSymbols, dynlist: &Path) -> Vec<String> {
    let mut args: Vec<String> = syms
        .exports
        .iter()
        .map(|s| format!("-Wl,--undefined={s}"))
        .collect();
    args.push(format!("-Wl,--dynamic-list={}", dynlist.display()));
    args.push(runtime.display().to_string());
    args.extend(syms.wrapped.iter().map(|w| format!("-Wl,--wrap={w}")));
    args.extend(RUNTIME_SYSTEM_LIBS.iter().map(|s| s.to_string()));
    args
}

/// What follows the user's inputs when linking an update module.
pub fn module_tail(syms: &RuntimeSymbols, version_script: &Path) -> Vec<String> {
    let mut args = vec![
        format!("-Wl,--version-script={}", version_script.display()),
        "-Wl,-Bsymbolic".to_string(),
    ];
    args.extend(syms.wrapped.iter().map(|w| format!("-Wl,--wrap={w}")));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_exports_exclude_the_users_main() {
        assert!(is_runtime_export("__us_point"));
        assert!(is_runtime_export("upstare_request_update"));
        assert!(is_runtime_export("__wrap_pthread_create"));
        assert!(!is_runtime_export("__us_main"));
        assert!(!is_runtime_export("main"));
    }

    #[test]
    fn version_script_hides_everything_else() {
        assert_eq!(
            module_version_script().lines().skip(1).collect::<Vec<_>>(),
            [
                "{",
                "  global:",
                "    __us_main;",
                "    __us_module_tables;",
                "  local:",
                "    *;",
                "};"
            ]
        );
    }
}
