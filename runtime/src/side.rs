//! The per-thread side stack: where instrumented code keeps locals whose address is taken.
//!
//! Such a local must keep its address across an update (pointers to it live in callee frames,
//! globals and the heap), so it lives in a box on this stack rather than in the machine frame.
//! The live top pointer is the ABI variable `__us_side_top`; `__us_box` bumps it, and the
//! instrumented code frees by resetting it to a mark (function return, longjmp landing).
//! Unwinding does not touch it, which is what keeps boxes alive while their frames are records.
//!
//! The region is reserved once per thread with `mmap(MAP_NORESERVE)`: untouched pages cost
//! nothing, so it can be large. Overflow is detected here and reported by the caller; there is
//! no guard page to rely on.
//!
//! Deliberately not here: relocating boxes whose layout changes across versions (a later issue)
//! and any knowledge of which thread owns the region.

use std::ptr::NonNull;

/// Default reservation per thread.
pub const DEFAULT_SIDE_STACK_BYTES: usize = 64 << 20;

/// Why a box could not be allocated.
#[derive(Debug, PartialEq, Eq)]
pub enum BoxError {
    /// Not enough room left between the top and the end of the region.
    Overflow {
        size: usize,
        used: usize,
        capacity: usize,
    },
    /// The alignment is not a power of two.
    BadAlign { align: usize },
    /// The top pointer lies outside the region (corrupted by the program).
    TopOutside,
}

/// One mapped region; unmapped on drop.
pub struct SideStack {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the region is plain memory; which thread uses it is the owner's business.
unsafe impl Send for SideStack {}

impl SideStack {
    /// Reserves `len` bytes (rounded up to pages). Returns None when mmap fails.
    pub fn new(len: usize) -> Option<SideStack> {
        let page = 4096;
        let len = len.checked_add(page - 1)? & !(page - 1);
        // SAFETY: an anonymous private mapping with no address hint affects no existing memory.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(SideStack {
            base: NonNull::new(p as *mut u8)?,
            len,
        })
    }

    /// The first byte of the region: the initial value of `__us_side_top`.
    pub fn base(&self) -> *mut u8 {
        self.base.as_ptr()
    }

    pub fn capacity(&self) -> usize {
        self.len
    }

    /// Allocates a zeroed box of `size` bytes aligned to `align` (0 counts as 1) at `*top`,
    /// and advances `*top` past it.
    pub fn alloc(&self, top: &mut *mut u8, size: usize, align: usize) -> Result<*mut u8, BoxError> {
        let align = align.max(1);
        if !align.is_power_of_two() {
            return Err(BoxError::BadAlign { align });
        }
        let base = self.base.as_ptr() as usize;
        let end = base + self.len;
        let t = *top as usize;
        if t < base || t > end {
            return Err(BoxError::TopOutside);
        }
        let start = (t + align - 1) & !(align - 1);
        let new_top = start
            .checked_add(size)
            .filter(|&n| n <= end)
            .ok_or(BoxError::Overflow {
                size,
                used: t - base,
                capacity: self.len,
            })?;
        let p = start as *mut u8;
        // SAFETY: [start, new_top) lies inside the mapping (checked above) and is above the top,
        // so no live box overlaps it.
        unsafe { std::ptr::write_bytes(p, 0, size) };
        *top = new_top as *mut u8;
        Ok(p)
    }
}

impl Drop for SideStack {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` describe exactly the mapping made in `new`, unmapped once here.
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_alignment_and_zeroing() {
        let s = SideStack::new(1 << 20).unwrap();
        let mut top = s.base();
        let a = s.alloc(&mut top, 3, 1).unwrap();
        assert_eq!(a, s.base());
        let b = s.alloc(&mut top, 16, 16).unwrap();
        assert_eq!(b as usize % 16, 0);
        assert!(b as usize >= a as usize + 3);
        // SAFETY: `b` is a 16-byte box we own.
        unsafe { std::ptr::write_bytes(b, 0xAB, 16) };
        // Freeing is resetting the top to a mark; the next box there is zeroed again.
        top = b;
        let c = s.alloc(&mut top, 16, 16).unwrap();
        assert_eq!(c, b);
        // SAFETY: `c` is a 16-byte box we own.
        assert!(unsafe { std::slice::from_raw_parts(c, 16) }
            .iter()
            .all(|&x| x == 0));
        let d = s.alloc(&mut top, 8, 4096).unwrap();
        assert_eq!(d as usize % 4096, 0);
        let z = s.alloc(&mut top, 0, 0).unwrap();
        assert_eq!(z, top);
    }

    #[test]
    fn overflow_is_reported_and_top_unchanged() {
        let s = SideStack::new(8192).unwrap();
        let mut top = s.base();
        s.alloc(&mut top, 8000, 8).unwrap();
        let before = top;
        match s.alloc(&mut top, 200, 8) {
            Err(BoxError::Overflow {
                size: 200,
                used: 8000,
                capacity: 8192,
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(top, before);
        assert_eq!(
            s.alloc(&mut top, 8, 3),
            Err(BoxError::BadAlign { align: 3 })
        );
        let mut wild = 16usize as *mut u8;
        assert_eq!(s.alloc(&mut wild, 8, 8), Err(BoxError::TopOutside));
    }

    #[test]
    fn large_reservation_is_lazy() {
        // 64 MiB reserved costs nothing until touched; touch only the far end.
        let s = SideStack::new(DEFAULT_SIDE_STACK_BYTES).unwrap();
        let mut top = s.base().wrapping_add(s.capacity() - 64);
        let last = s.alloc(&mut top, 64, 8).unwrap();
        assert_eq!(last as usize + 64, s.base() as usize + s.capacity());
    }
}
