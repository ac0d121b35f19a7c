//! Which heap blocks the program allocated, and how long each is: the extents heap migration
//! needs (a pointer found by the traversal leads to a whole object or array of objects).
//!
//! User code's references to `malloc`, `calloc`, `realloc`, `free`, `strdup`... go to the
//! `__us_a_*` wrappers below (compiler/src/instrument/alloc.rs). The steady-state cost must be
//! tiny, so there is no table of blocks: a byte per 16-byte granule of the address space
//! (malloc's alignment) marks where tracked blocks start, and the block's exact length comes
//! from the allocator itself at update time:
//! - `EXACT`: the requested size is what `malloc_usable_size` reports;
//! - `TRAILER`: the block has at least 8 bytes of slack, and its last usable word holds the
//!   requested size (the program never reads past what it asked for);
//! - `ROUGH`: fewer than 8 bytes of slack; the length is the usable size, which can only
//!   overcount element types smaller than 8 bytes (which hold no pointers).
//!
//! A trailer that the program overwrote (some programs use `malloc_usable_size`'s slack) fails
//! its range check and the usable size is taken instead. Marking is one plain store of the
//! block's own byte (no locked instruction: a byte has one owner), in lazily mapped pages: a
//! 1 GiB region of address space needs 64 MiB of address space for its bytes, and physical
//! pages only where blocks are, one sixteenth of the heap's span at most. (A map of two bits
//! per granule would be four times smaller but needs an atomic read-modify-write per
//! allocation and free, which doubled the cost of a malloc-heavy loop.)
//!
//! Memory that libraries allocate is not tracked, so the traversal does not enter it; memory a
//! library frees behind our back leaves a stale mark, which `lookup` tolerates: the block is
//! only read while it lies in a readable mapping (`Readable`), so a stale mark can cost a
//! spurious migration of a freed block that a dangling pointer still names, never a fault.

use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};

/// Granule size: glibc returns 16-byte aligned blocks on x86-64.
const GRANULE_SHIFT: u32 = 4;
/// Address bits covered by one lazily mapped map region (1 GiB).
const REGION_SHIFT: u32 = 30;
/// User-space addresses on x86-64 have 47 bits.
const REGIONS: usize = 1 << (47 - REGION_SHIFT);
/// Granules (one state byte each) per region.
const GRANULES: usize = 1 << (REGION_SHIFT - GRANULE_SHIFT);

const EXACT: u8 = 1;
const TRAILER: u8 = 2;
const ROUGH: u8 = 3;

/// Region index -> its state bytes (`GRANULES` of them), or null.
static REGION: [AtomicPtr<AtomicU8>; REGIONS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; REGIONS];

/// The state byte of the granule at `p`, mapping the region on first use (`create`).
#[inline]
fn slot(p: usize, create: bool) -> Option<&'static AtomicU8> {
    let r = p >> REGION_SHIFT;
    if r >= REGIONS {
        return None;
    }
    let mut base = REGION[r].load(Ordering::Acquire);
    if base.is_null() {
        if !create {
            return None;
        }
        base = map_region(r)?;
    }
    let g = (p & ((1 << REGION_SHIFT) - 1)) >> GRANULE_SHIFT;
    // SAFETY: `base` points to GRANULES bytes mapped for the life of the process.
    Some(unsafe { &*base.add(g) })
}

#[cold]
fn map_region(r: usize) -> Option<*mut AtomicU8> {
    // SAFETY: an anonymous private mapping; zero pages until written.
    let m = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            GRANULES,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if m == libc::MAP_FAILED {
        return None;
    }
    let m = m as *mut AtomicU8;
    match REGION[r].compare_exchange(std::ptr::null_mut(), m, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(m),
        Err(other) => {
            // SAFETY: our own mapping, never published.
            unsafe { libc::munmap(m as *mut libc::c_void, GRANULES) };
            Some(other)
        }
    }
}

/// Marks `p` (just returned by the allocator for `n` bytes) as a tracked block.
#[inline]
fn mark(p: *mut libc::c_void, n: usize) {
    if p.is_null() {
        return;
    }
    set_state(p as *mut u8, prepare(p as *mut u8, n));
}

/// The state that describes the live block `p` of `n` requested bytes, writing its trailer
/// when it has one (the block is not marked yet: `set_state` does that).
#[inline]
pub fn prepare(p: *mut u8, n: usize) -> u8 {
    // SAFETY: `p` is a live block of the allocator.
    let usable = unsafe { libc::malloc_usable_size(p as *mut libc::c_void) };
    if usable == n {
        EXACT
    } else if usable >= n + 8 {
        // SAFETY: the last usable word of the block, past the `n` bytes the program owns.
        unsafe { ((p as usize + usable - 8) as *mut u64).write_unaligned(n as u64) };
        TRAILER
    } else {
        ROUGH
    }
}

/// Marks the block at `p` with a state from `prepare`.
#[inline]
pub fn set_state(p: *mut u8, state: u8) {
    // A plain store: the granule's byte belongs to this block alone (no read-modify-write,
    // so no locked instruction on the allocation path).
    if let Some(b) = slot(p as usize, true) {
        b.store(state, Ordering::Relaxed);
    }
}

/// Forgets the block at `p` (about to be freed or reallocated).
#[inline]
fn unmark(p: *mut libc::c_void) {
    if let Some(b) = slot(p as usize, false) {
        b.store(0, Ordering::Relaxed);
    }
}

/// Marks a block made by the runtime on the program's behalf (migrated objects).
pub fn adopt(p: *mut u8, n: usize) {
    mark(p as *mut libc::c_void, n);
}

/// Forgets a block the runtime is about to free (replaced by its migrated copy).
pub fn forget(p: *mut u8) {
    unmark(p as *mut libc::c_void);
}

/// The state of the granule at `p` (0: no tracked block starts there).
fn state(p: usize) -> u8 {
    slot(p, false).map_or(0, |b| b.load(Ordering::Relaxed))
}

/// The requested length of the tracked block starting at `p` (state `st`), read from the
/// allocator's header and the trailer. The caller has checked that the header is readable.
fn length(p: usize, st: u8, readable: &Readable) -> Option<usize> {
    // SAFETY: `p` starts a block the program allocated (its header word is readable).
    let usable = unsafe { libc::malloc_usable_size(p as *mut libc::c_void) };
    if usable == 0 || !readable.contains(p, usable) {
        return None;
    }
    Some(match st {
        EXACT | ROUGH => usable,
        _ => {
            // SAFETY: inside the block's usable bytes, checked readable above.
            let n = unsafe { ((p + usable - 8) as *const u64).read_unaligned() } as usize;
            if n + 8 <= usable && usable - n < 8192 {
                n
            } else {
                usable
            }
        }
    })
}

/// A tracked block: where it starts and how many bytes the program asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub start: usize,
    pub len: usize,
}

/// How far back `lookup` scans for the start of a block holding an interior pointer.
const MAX_BACK: usize = 64 << 20;

/// The tracked block that `v` points into (or one past the end of, when no block starts at
/// `v`), only while the world is stopped. Interior pointers scan the bitmap backwards for the
/// nearest start, at most `MAX_BACK` bytes.
pub fn lookup(v: usize, readable: &Readable) -> Option<Block> {
    if v < 4096 || !readable.contains(v.saturating_sub(16), 16) {
        return None;
    }
    let g = v & !((1 << GRANULE_SHIFT) - 1);
    let st = state(g);
    if st != 0 && g == v {
        return block_at(g, st, readable);
    }
    // Scan the state bytes backwards, eight at a time, for the nearest start at or below `v`.
    let mut a = if st != 0 {
        g
    } else {
        g.wrapping_sub(1 << GRANULE_SHIFT)
    };
    let limit = v.saturating_sub(MAX_BACK);
    while a >= limit && a > 0 {
        let Some(b) = slot(a, false) else {
            // No map for this region: no block starts anywhere in it.
            let region_start = a & !((1 << REGION_SHIFT) - 1);
            if region_start == 0 {
                return None;
            }
            a = region_start - (1 << GRANULE_SHIFT);
            continue;
        };
        let st = b.load(Ordering::Relaxed);
        if st != 0 {
            let blk = block_at(a, st, readable)?;
            // Inside, or one past the end (a loop's end pointer).
            return (v <= blk.start + blk.len).then_some(blk);
        }
        // Whole words of empty granules below: skip them eight at a time.
        let idx = (a >> GRANULE_SHIFT) & 7;
        if idx == 7 {
            let word_start = a - (7 << GRANULE_SHIFT);
            // SAFETY: the eight state bytes of an aligned group inside one mapped region;
            // read while the world is stopped (no writer).
            let w = unsafe { ((b as *const AtomicU8).sub(7) as *const u64).read_unaligned() };
            if w == 0 {
                a = word_start.wrapping_sub(1 << GRANULE_SHIFT);
                continue;
            }
        }
        a = a.wrapping_sub(1 << GRANULE_SHIFT);
    }
    None
}

fn block_at(start: usize, st: u8, readable: &Readable) -> Option<Block> {
    if !readable.contains(start - 16, 16) {
        return None;
    }
    length(start, st, readable).map(|len| Block { start, len })
}

/// The readable, writable mappings of the process (heap arenas, data and bss), read once per
/// update from /proc/self/maps, adjacent ones merged: so that no stale mark makes the
/// traversal read unmapped memory, and so that the update knows which globals it may write.
pub struct Readable(Vec<(usize, usize)>, std::sync::atomic::AtomicUsize);

impl Readable {
    pub fn now() -> Readable {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        let mut v: Vec<(usize, usize)> = maps
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let (range, perms) = (f.next()?, f.next()?);
                if !perms.starts_with("rw") {
                    return None;
                }
                let (a, b) = range.split_once('-')?;
                Some((
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                ))
            })
            .collect();
        v.sort_unstable();
        // Adjacent mappings merge, so that a block spanning two of them is readable.
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => merged.push((a, b)),
            }
        }
        Readable(merged, std::sync::atomic::AtomicUsize::new(0))
    }

    /// Whether `[p, p + n)` lies inside one readable mapping.
    pub fn contains(&self, p: usize, n: usize) -> bool {
        let inside = |i: usize| {
            let (a, b) = self.0[i];
            a <= p && p.checked_add(n).is_some_and(|e| e <= b)
        };
        // Most lookups of a traversal fall in the mapping the previous one did.
        let last = self.1.load(Ordering::Relaxed);
        if last < self.0.len() && inside(last) {
            return true;
        }
        let i = self.0.partition_point(|m| m.0 <= p);
        i > 0 && inside(i - 1) && {
            self.1.store(i - 1, Ordering::Relaxed);
            true
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The wrappers user code calls. None of them can panic (no allocation, no formatting).

#[no_mangle]
pub extern "C" fn __us_a_malloc(n: usize) -> *mut libc::c_void {
    // SAFETY: the C allocator.
    let p = unsafe { libc::malloc(n) };
    mark(p, n);
    p
}

#[no_mangle]
pub extern "C" fn __us_a_calloc(k: usize, n: usize) -> *mut libc::c_void {
    // SAFETY: the C allocator (it checks k * n for overflow).
    let p = unsafe { libc::calloc(k, n) };
    mark(p, k.wrapping_mul(n));
    p
}

/// # Safety
/// As `realloc`: `p` is null or a live block.
#[no_mangle]
pub unsafe extern "C" fn __us_a_realloc(p: *mut libc::c_void, n: usize) -> *mut libc::c_void {
    if p.is_null() {
        return __us_a_malloc(n);
    }
    let before = state(p as usize);
    unmark(p);
    // SAFETY: the caller's block.
    let q = unsafe { libc::realloc(p, n) };
    if !q.is_null() {
        mark(q, n);
    } else if n != 0 && before != 0 {
        // Failed: the old block is still the program's, with its length and trailer.
        if let Some(b) = slot(p as usize, true) {
            b.store(before, Ordering::Relaxed);
        }
    }
    q
}

/// # Safety
/// As `reallocarray`.
#[no_mangle]
pub unsafe extern "C" fn __us_a_reallocarray(
    p: *mut libc::c_void,
    k: usize,
    n: usize,
) -> *mut libc::c_void {
    match k.checked_mul(n) {
        // SAFETY: the caller's contract.
        Some(total) => unsafe { __us_a_realloc(p, total) },
        None => {
            // SAFETY: errno is thread-local.
            unsafe { *libc::__errno_location() = libc::ENOMEM };
            std::ptr::null_mut()
        }
    }
}

/// # Safety
/// As `free`.
#[no_mangle]
pub unsafe extern "C" fn __us_a_free(p: *mut libc::c_void) {
    if !p.is_null() {
        unmark(p);
    }
    // SAFETY: the caller's block.
    unsafe { libc::free(p) };
}

/// # Safety
/// As `strdup`.
#[no_mangle]
pub unsafe extern "C" fn __us_a_strdup(s: *const libc::c_char) -> *mut libc::c_char {
    // SAFETY: `s` is a NUL-terminated string (the caller's contract).
    let n = unsafe { libc::strlen(s) } + 1;
    let q = __us_a_malloc(n);
    if !q.is_null() {
        // SAFETY: both hold n bytes.
        unsafe { std::ptr::copy_nonoverlapping(s as *const u8, q as *mut u8, n) };
    }
    q as *mut libc::c_char
}

/// # Safety
/// As `strndup`.
#[no_mangle]
pub unsafe extern "C" fn __us_a_strndup(s: *const libc::c_char, max: usize) -> *mut libc::c_char {
    // SAFETY: `s` holds a NUL within `max` bytes or at least `max` bytes.
    let n = unsafe { libc::strnlen(s, max) };
    let q = __us_a_malloc(n + 1) as *mut u8;
    if !q.is_null() {
        // SAFETY: `q` holds n + 1 bytes, `s` at least n.
        unsafe {
            std::ptr::copy_nonoverlapping(s as *const u8, q, n);
            *q.add(n) = 0;
        }
    }
    q as *mut libc::c_char
}

#[no_mangle]
pub extern "C" fn __us_a_aligned_alloc(align: usize, n: usize) -> *mut libc::c_void {
    // SAFETY: the C allocator.
    let p = unsafe { libc::aligned_alloc(align, n) };
    mark(p, n);
    p
}

#[no_mangle]
pub extern "C" fn __us_a_memalign(align: usize, n: usize) -> *mut libc::c_void {
    // SAFETY: the C allocator.
    let p = unsafe { libc::memalign(align, n) };
    mark(p, n);
    p
}

/// # Safety
/// As `posix_memalign`: `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn __us_a_posix_memalign(
    out: *mut *mut libc::c_void,
    align: usize,
    n: usize,
) -> libc::c_int {
    // SAFETY: the caller's out-parameter.
    let r = unsafe { libc::posix_memalign(out, align, n) };
    if r == 0 {
        // SAFETY: set by a successful call.
        mark(unsafe { *out }, n);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_from_starts_interiors_and_ends() {
        let p = __us_a_malloc(96) as usize;
        let q = __us_a_calloc(7, 24) as usize;
        // Fewer than 8 bytes of slack: the usable size stands for the length.
        let rough = __us_a_malloc(100) as usize;
        let r = Readable::now();
        assert_eq!(lookup(p, &r), Some(Block { start: p, len: 96 }));
        assert_eq!(lookup(p + 40, &r), Some(Block { start: p, len: 96 }));
        assert_eq!(
            lookup(rough + 99, &r),
            Some(Block {
                start: rough,
                len: 104
            })
        );
        assert_eq!(
            lookup(q + 7 * 24 - 1, &r),
            Some(Block { start: q, len: 168 })
        );
        // SAFETY: blocks of this test.
        unsafe { __us_a_free(p as *mut libc::c_void) };
        assert_ne!(lookup(p, &r).map(|b| b.start), Some(p));
        let s = unsafe { __us_a_realloc(q as *mut libc::c_void, 4000) } as usize;
        assert_eq!(
            lookup(s + 3999, &Readable::now()),
            Some(Block {
                start: s,
                len: 4000
            })
        );
        unsafe { __us_a_free(s as *mut libc::c_void) };
    }
}
