//! May this thread unwind now? The check of the chain of callers.
//!
//! An instrumented function called back from code that was not instrumented (a qsort
//! comparator, a signal handler entered through the kernel's `__restore_rt` trampoline, a library
//! event loop) cannot return a dummy value into that code. So before a thread is told to unwind,
//! its stack is walked with the unwinder (`_Unwind_Backtrace`, `_Unwind_GetIP`,
//! `_Unwind_GetCFA`), from the caller of the walk up to the thread's root frame, and the answer is
//! yes only if every return address lies in the executable's own text (found once with
//! `dl_iterate_phdr`: the first object it reports is the main program). The root frame is the C
//! root helper (`us_root_call_main` / `us_root_call_start`): the walk stops at the first frame
//! whose CFA is at or above the frame address the helper recorded and whose enclosing function
//! (`_Unwind_FindEnclosingFunction`) is that helper.
//!
//! Runtime frames (the walk itself, `__us_point`) are in the executable's text too, which is
//! what we want. The walk runs only when an update is requested and this thread is about to be
//! told to unwind, so it costs nothing in steady state.
//!
//! Deliberately not here: text ranges of update modules loaded later (the next issue adds them to
//! `TextRanges`), and any decision about what to do when the answer is no.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

#[allow(non_camel_case_types)]
type _Unwind_Reason_Code = c_int;
const URC_NO_REASON: _Unwind_Reason_Code = 0;
const URC_END_OF_STACK: _Unwind_Reason_Code = 5;

#[repr(C)]
struct UnwindContext {
    _private: [u8; 0],
}

extern "C" {
    fn _Unwind_Backtrace(
        trace: extern "C" fn(*mut UnwindContext, *mut c_void) -> _Unwind_Reason_Code,
        arg: *mut c_void,
    ) -> _Unwind_Reason_Code;
    fn _Unwind_GetIP(ctx: *mut UnwindContext) -> usize;
    fn _Unwind_GetCFA(ctx: *mut UnwindContext) -> usize;
    fn _Unwind_FindEnclosingFunction(pc: *mut c_void) -> *mut c_void;
}

extern "C" {
    /// Bounds of the `upstare_pinned` text section (runtime/c/abi.c); both 0 when absent.
    fn us_pinned_range(lo: *mut usize, hi: *mut usize);
}

/// Executable address ranges in which a frame may be unwound.
pub struct TextRanges {
    ranges: Vec<(usize, usize)>,
    /// Uninstrumented functions whose callees may unwind: never unwound through.
    pinned: (usize, usize),
}

impl TextRanges {
    fn contains(&self, ip: usize) -> bool {
        let (plo, phi) = self.pinned;
        if ip >= plo && ip < phi {
            return false;
        }
        if self.ranges.iter().any(|&(lo, hi)| ip >= lo && ip < hi) {
            return true;
        }
        let m = MODULES.read().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .any(|t| ip >= t.text.0 && ip < t.text.1 && !(ip >= t.pinned.0 && ip < t.pinned.1))
    }
}

extern "C" fn phdr_callback(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `data` is the `&mut Vec` passed by `main_program_text`, alive for the whole
    // iteration; `info` and its program headers are valid during the callback (dl_iterate_phdr).
    unsafe {
        let out = &mut *(data as *mut Vec<(usize, usize)>);
        let info = &*info;
        for i in 0..info.dlpi_phnum as usize {
            let ph = &*info.dlpi_phdr.add(i);
            if ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_X != 0 {
                let lo = info.dlpi_addr as usize + ph.p_vaddr as usize;
                out.push((lo, lo + ph.p_memsz as usize));
            }
        }
    }
    1 // the first object is the main program: stop after it
}

fn main_program_text() -> TextRanges {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    // SAFETY: the callback only reads the headers it is given and writes to `ranges`.
    unsafe { libc::dl_iterate_phdr(Some(phdr_callback), &mut ranges as *mut _ as *mut c_void) };
    let (mut lo, mut hi) = (0usize, 0usize);
    // SAFETY: the C helper only writes the two addresses it is given.
    unsafe { us_pinned_range(&mut lo, &mut hi) };
    TextRanges {
        ranges,
        pinned: (lo, hi),
    }
}

static TEXT: OnceLock<TextRanges> = OnceLock::new();

/// Text of an update module: frames there may be unwound, except in its pinned range.
struct ModuleText {
    text: (usize, usize),
    pinned: (usize, usize),
}

/// Loaded update modules' text (added when a module is loaded, removed if it is discarded).
static MODULES: std::sync::RwLock<Vec<ModuleText>> = std::sync::RwLock::new(Vec::new());

extern "C" fn module_phdr_callback(
    info: *mut libc::dl_phdr_info,
    _size: libc::size_t,
    data: *mut c_void,
) -> c_int {
    // SAFETY: `data` is the `(usize, Option<(usize, usize)>)` passed by `add_module`; `info`
    // and its headers are valid during the callback.
    unsafe {
        let (inside, out) = &mut *(data as *mut (usize, Option<(usize, usize)>));
        let info = &*info;
        for i in 0..info.dlpi_phnum as usize {
            let ph = &*info.dlpi_phdr.add(i);
            if ph.p_type == libc::PT_LOAD && ph.p_flags & libc::PF_X != 0 {
                let lo = info.dlpi_addr as usize + ph.p_vaddr as usize;
                let hi = lo + ph.p_memsz as usize;
                if *inside >= lo && *inside < hi {
                    *out = Some((lo, hi));
                    return 1;
                }
            }
        }
    }
    0
}

/// Registers the text of the loaded object that contains `code` (an update module's function)
/// with its pinned range; returns the text range.
pub fn add_module(code: usize, pinned: (usize, usize)) -> Option<(usize, usize)> {
    let mut data: (usize, Option<(usize, usize)>) = (code, None);
    // SAFETY: the callback only reads the headers it is given and writes to `data`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(module_phdr_callback),
            &mut data as *mut _ as *mut c_void,
        )
    };
    let text = data.1?;
    MODULES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .push(ModuleText { text, pinned });
    Some(text)
}

/// Forgets a module's text (it was discarded).
pub fn remove_module(text: (usize, usize)) {
    MODULES
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|t| t.text != text);
}

/// Computes the text ranges now (at start-up) so that the walk never runs dl_iterate_phdr for it.
pub fn init() {
    TEXT.get_or_init(main_program_text);
}

struct WalkState<'a> {
    text: &'a TextRanges,
    root_mark: usize,
    root_fn: usize,
    frames: usize,
    verdict: Option<bool>,
    /// The return address of the frame that made the verdict false.
    refused_ip: usize,
}

extern "C" fn trace(ctx: *mut UnwindContext, arg: *mut c_void) -> _Unwind_Reason_Code {
    // SAFETY: `arg` is the `&mut WalkState` passed by `may_unwind`, alive during the walk; `ctx`
    // is the unwinder's context for the current frame, valid during this callback.
    unsafe {
        let st = &mut *(arg as *mut WalkState);
        let ip = _Unwind_GetIP(ctx);
        let cfa = _Unwind_GetCFA(ctx);
        st.frames += 1;
        if ip == 0 {
            st.verdict = Some(false);
            return URC_END_OF_STACK;
        }
        // Return addresses point after the call; ip - 1 lies in the calling instruction. A
        // signal frame's ip is exact, but its trampoline is in libc either way.
        if !st.text.contains(ip - 1) {
            st.verdict = Some(false);
            st.refused_ip = ip;
            return URC_END_OF_STACK;
        }
        // Frames below the root have a CFA at most the root helper's frame address (equal only
        // for a callee of a helper without locals); the helper's own CFA is at or above it.
        if cfa >= st.root_mark {
            let f = _Unwind_FindEnclosingFunction((ip - 1) as *mut c_void) as usize;
            if f == st.root_fn {
                st.verdict = Some(true);
                return URC_END_OF_STACK;
            }
            if cfa > st.root_mark {
                st.verdict = Some(false);
                return URC_END_OF_STACK;
            }
        }
        URC_NO_REASON
    }
}

/// Ok when every frame from the caller up to the thread's root frame (identified by
/// `root_mark`, the root helper's frame address, and `root_fn`, its entry) is in the
/// executable's text or an update module's; otherwise the return address of the first frame
/// that is not (0 when the walk ended without finding the root). Must be called from the
/// thread being asked about.
pub fn may_unwind(root_mark: usize, root_fn: usize) -> Result<(), usize> {
    let text = TEXT.get_or_init(main_program_text);
    let mut st = WalkState {
        text,
        root_mark,
        root_fn,
        frames: 0,
        verdict: None,
        refused_ip: 0,
    };
    // SAFETY: `trace` matches the unwinder's callback signature and only touches `st`.
    unsafe { _Unwind_Backtrace(trace, &mut st as *mut WalkState as *mut c_void) };
    match st.verdict {
        Some(true) => Ok(()),
        _ => Err(st.refused_ip),
    }
}

/// Names the code at `ip` for a message: `function (object)` as the dynamic linker knows it.
pub fn describe_ip(ip: usize) -> String {
    // SAFETY: dladdr only reads loader tables; `info` is a valid out-parameter.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    if ip == 0 || unsafe { libc::dladdr(ip as *const c_void, &mut info) } == 0 {
        return format!("code at {ip:#x}");
    }
    let cstr = |p: *const libc::c_char| {
        if p.is_null() {
            None
        } else {
            // SAFETY: dladdr's strings are NUL-terminated and live as long as the object.
            Some(
                unsafe { std::ffi::CStr::from_ptr(p) }
                    .to_string_lossy()
                    .into_owned(),
            )
        }
    };
    let object = cstr(info.dli_fname).unwrap_or_default();
    let object = object.rsplit('/').next().unwrap_or("").to_string();
    match cstr(info.dli_sname) {
        Some(f) => format!("`{f}` in {object}"),
        None => format!("code at {ip:#x} in {object}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_text_is_found() {
        let t = main_program_text();
        assert!(!t.ranges.is_empty());
        assert!(t.contains(may_unwind as *const () as usize));
        // libc's qsort is not in the test executable's text.
        assert!(!t.contains(libc::qsort as *const () as usize));
    }

    #[test]
    fn walk_without_root_says_no() {
        // No root frame on this (test harness) thread: the walk reaches the end of the stack or
        // a libc frame, and must refuse.
        assert!(may_unwind(usize::MAX, 0).is_err());
    }
}
