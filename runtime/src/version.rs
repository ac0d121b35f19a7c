//! The versions of the program loaded in this process.
//!
//! Version 1 is the executable itself; every committed update adds the update module it loaded.
//! Each version knows its metadata (decoded from memory on first use, so a program that is
//! never updated never decodes anything) and the addresses of its globals, functions and
//! function descriptors (the `upstare_addr` section, meta/FORMAT.md).
//!
//! Modules are loaded from a private copy (`dlopen` of the same path twice would return the
//! same instance, whose globals a v2 -> v3 -> v2 chain must not find already used; and a user
//! rebuilding the file in place must not change code that is running). Old versions stay
//! mapped: code and data of a version may still be referenced (string literals, function
//! pointers in the heap). A module whose update failed is closed again.
//!
//! Deliberately not here: what changed between versions (upstare-meta's diff) and how state
//! moves (transfer.rs).

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::sync::{Arc, Mutex};

use upstare_meta::{FuncId, Module};

extern "C" {
    /// The executable's own tables (runtime/c/abi.c).
    fn us_exe_tables(which: i32) -> *const c_void;
}

/// Where one version's objects live in this process.
#[derive(Debug, Default)]
pub struct Addrs {
    /// Global or static-local key -> address.
    pub globals: HashMap<String, usize>,
    /// (file, name) -> entry address of a function.
    pub functions: HashMap<(String, String), usize>,
    /// (file, name) -> address of the function's `struct __us_fn` descriptor.
    pub descriptors: HashMap<(String, String), usize>,
    /// Descriptor address -> the function (filled once the metadata is known).
    pub by_descriptor: HashMap<usize, FuncId>,
}

/// One loaded version.
pub struct Version {
    /// 1 for the executable, then 2, 3, ... in load order.
    pub number: u32,
    /// The file it was loaded from, as the user named it.
    pub path: String,
    /// `dlopen` handle; null for the executable.
    handle: usize,
    pub meta: Module,
    pub addrs: Addrs,
    /// Its `__us_main`.
    pub main_fn: usize,
    /// Its text range as registered with the stack walk (modules only).
    text: Option<(usize, usize)>,
}

impl Version {
    /// The function whose descriptor lives at `fd`.
    pub fn function_of_descriptor(&self, fd: usize) -> Option<FuncId> {
        self.addrs.by_descriptor.get(&fd).copied()
    }
}

/// Why a version could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    Missing(String, std::io::Error),
    Dlopen(String, String),
    NotAModule(String),
    BadTables(String, String),
    OtherProgram {
        path: String,
        ours: String,
        theirs: String,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Missing(p, e) => write!(f, "{p}: cannot read the update module: {e}"),
            LoadError::Dlopen(p, e) => write!(f, "{p}: cannot load the update module: {e}"),
            LoadError::NotAModule(p) => write!(
                f,
                "{p}: not an update module built by `upstare-cc -shared` (no __us_module_tables or __us_main)"
            ),
            LoadError::BadTables(p, e) => write!(f, "{p}: corrupt upstare metadata: {e}"),
            LoadError::OtherProgram { path, ours, theirs } => write!(
                f,
                "{path}: not a version of this program: its `main` is defined in {theirs}, this program's in {ours}"
            ),
        }
    }
}

struct Registry {
    versions: Vec<Arc<Version>>,
    /// Index of the running version in `versions`.
    current: usize,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    versions: Vec::new(),
    current: 0,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running version (the executable's tables are decoded on the first call).
pub fn current() -> Result<Arc<Version>, LoadError> {
    let mut r = registry();
    if r.versions.is_empty() {
        let exe = std::fs::read_link("/proc/self/exe")
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "<executable>".into());
        // SAFETY: us_exe_tables returns linker-defined section bounds of this executable (or
        // null); `tables` checks them before reading.
        let get = |w| unsafe { us_exe_tables(w) } as usize;
        // A program linked with the runtime but built without upstare-cc's metadata can still
        // be updated to itself (identity); any other update then finds nothing to match.
        let (meta, addrs) = if get(0) == 0 {
            (Module::default(), Addrs::default())
        } else {
            tables(&exe, get)?
        };
        let main_fn = crate::thread::main_fn();
        r.versions.push(Arc::new(Version {
            number: 1,
            path: exe,
            handle: 0,
            meta,
            addrs,
            main_fn,
            text: None,
        }));
    }
    let cur = r.current;
    Ok(r.versions[cur].clone())
}

/// Every version loaded so far (oldest first).
pub fn all() -> Vec<Arc<Version>> {
    registry().versions.clone()
}

/// Loads the update module at `path` as the next version, without making it current.
pub fn load(path: &str, private_dir: &Path) -> Result<Version, LoadError> {
    let cur = current()?;
    let number = registry().versions.len() as u32 + 1;
    let copy = private_dir.join(format!("{}.v{number}.so", std::process::id()));
    std::fs::copy(path, &copy).map_err(|e| LoadError::Missing(path.into(), e))?;
    let c_copy = CString::new(copy.as_os_str().as_encoded_bytes())
        .map_err(|_| LoadError::NotAModule(path.into()))?;
    // SAFETY: a valid C string; RTLD_LOCAL keeps the module's symbols out of the global scope.
    let handle = unsafe { libc::dlopen(c_copy.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    let _ = std::fs::remove_file(&copy);
    if handle.is_null() {
        return Err(LoadError::Dlopen(path.into(), dlerror()));
    }
    let close = |e| {
        // SAFETY: `handle` came from dlopen and nothing of the module is in use yet.
        unsafe { libc::dlclose(handle) };
        e
    };
    let sym = |name: &CStr| {
        // SAFETY: `handle` is a live dlopen handle; the name is a C string.
        unsafe { libc::dlsym(handle, name.as_ptr()) as usize }
    };
    let tables_fn = sym(c"__us_module_tables");
    let main_fn = sym(c"__us_main");
    if tables_fn == 0 || main_fn == 0 {
        return Err(close(LoadError::NotAModule(path.into())));
    }
    // SAFETY: `__us_module_tables` has this signature (upstare_rt.h).
    let f: extern "C" fn(i32) -> *const c_void = unsafe { std::mem::transmute(tables_fn) };
    let (meta, addrs) = tables(path, |w| f(w) as usize).map_err(close)?;
    same_program(path, &cur.meta, &meta).map_err(close)?;
    let pinned = (f(4) as usize, f(5) as usize);
    let text = crate::walk::add_module(main_fn, pinned);
    Ok(Version {
        number,
        path: path.into(),
        handle: handle as usize,
        meta,
        addrs,
        main_fn,
        text,
    })
}

/// Makes `v` the running version.
pub fn commit(v: Version) -> Arc<Version> {
    let v = Arc::new(v);
    let mut r = registry();
    r.versions.push(v.clone());
    r.current = r.versions.len() - 1;
    v
}

/// Unloads a version that was never committed.
pub fn discard(v: Version) {
    if let Some(t) = v.text {
        crate::walk::remove_module(t);
    }
    if v.handle != 0 {
        // SAFETY: nothing of an uncommitted module ran or is referenced.
        unsafe { libc::dlclose(v.handle as *mut c_void) };
    }
}

fn dlerror() -> String {
    // SAFETY: dlerror returns null or a C string valid until the next dl call on this thread.
    let e = unsafe { libc::dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        // SAFETY: non-null C string, see above.
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

/// Reads one version's metadata and address tables, given its `__us_module_tables`.
fn tables(path: &str, get: impl Fn(i32) -> usize) -> Result<(Module, Addrs), LoadError> {
    let bad = |m: String| LoadError::BadTables(path.into(), m);
    let (ms, me, as_, ae) = (get(0), get(1), get(2), get(3));
    if ms == 0 || me < ms {
        return Err(bad("no upstare_meta section".into()));
    }
    // SAFETY: [ms, me) is the module's upstare_meta section, mapped read-only for its lifetime.
    let bytes = unsafe { std::slice::from_raw_parts(ms as *const u8, me - ms) };
    let meta = Module::from_section(bytes).map_err(|e| bad(e.to_string()))?;
    let mut addrs = Addrs::default();
    if as_ != 0 && ae > as_ {
        if (ae - as_) % 32 != 0 || as_ % 8 != 0 {
            return Err(bad(
                "upstare_addr section is not an array of 32-byte entries".into(),
            ));
        }
        let n = (ae - as_) / 32;
        for i in 0..n {
            // SAFETY: entry i lies inside the section, which holds `struct __us_addr` objects
            // (upstare_rt.h) whose pointers the dynamic linker relocated.
            let e = unsafe { &*((as_ + 32 * i) as *const [usize; 4]) };
            let [kind, addr, key, file] = *e;
            if kind == 0 {
                continue;
            }
            let s = |p: usize| {
                if p == 0 {
                    String::new()
                } else {
                    // SAFETY: non-null pointers of an entry point to the module's C strings.
                    unsafe { CStr::from_ptr(p as *const c_char) }
                        .to_string_lossy()
                        .into_owned()
                }
            };
            let (key, file) = (s(key), s(file));
            match kind {
                1 => {
                    addrs.globals.insert(key, addr);
                }
                2 => {
                    addrs.functions.insert((file, key), addr);
                }
                3 => {
                    addrs.descriptors.insert((file, key), addr);
                }
                k => return Err(bad(format!("unknown upstare_addr entry kind {k}"))),
            }
        }
    }
    let index: HashMap<(&str, &str), FuncId> = meta
        .functions
        .iter()
        .map(|(id, f)| ((f.file.as_str(), f.name.as_str()), id))
        .collect();
    addrs.by_descriptor = addrs
        .descriptors
        .iter()
        .filter_map(|((file, name), &a)| {
            index.get(&(file.as_str(), name.as_str())).map(|&f| (a, f))
        })
        .collect();
    Ok((meta, addrs))
}

/// Refuses a module of another program: both versions' `main` must live in files of the same
/// name (the versions of one program sit in different directories).
fn same_program(path: &str, old: &Module, new: &Module) -> Result<(), LoadError> {
    let main_file = |m: &Module| {
        m.functions
            .iter()
            .find(|(_, f)| f.name == "main")
            .map(|(_, f)| f.file.clone())
    };
    let base = |f: &str| Path::new(f).file_name().map(|s| s.to_os_string());
    match (main_file(old), main_file(new)) {
        (Some(o), Some(n)) if base(&o) == base(&n) => Ok(()),
        (o, n) => Err(LoadError::OtherProgram {
            path: path.into(),
            ours: o.unwrap_or_else(|| "<no main>".into()),
            theirs: n.unwrap_or_else(|| "<no main>".into()),
        }),
    }
}
