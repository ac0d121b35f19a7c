//! The per-thread stack of frame records.
//!
//! Unwinding pushes one record per instrumented frame, innermost frame first, so that the top of
//! the stack is always the outermost frame that is still to be rebuilt. Rebuilding calls the
//! thread's root function again; each function's entry peeks the top record (which must be its
//! own), then pops it and copies its locals out of the body. A popped body must stay readable
//! until the function has copied it, so the stack keeps the last popped record alive and frees it
//! at the next push or pop (or when the stack is dropped).
//!
//! This module deliberately knows nothing of threads, update phases or the C ABI: it is a plain
//! data structure, owned by one thread's context and unit-tested here.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

use crate::abi::UsFn;

/// One saved frame: which function, at which point, and its locals (`body`, laid out by the
/// C compiler; the runtime only knows its size and alignment).
struct Record {
    fd: *const UsFn,
    point: u32,
    body: NonNull<u8>,
    layout: Layout,
}

impl Record {
    fn free(self) {
        // SAFETY: `body` was returned by `alloc_zeroed(self.layout)` in `RecordStack::push` and
        // each record is freed exactly once, since `free` consumes it.
        unsafe { dealloc(self.body.as_ptr(), self.layout) }
    }
}

/// Why a record could not be pushed.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The alignment is not a power of two, or size rounded up to it overflows.
    BadLayout { size: usize, align: usize },
    /// The allocator refused.
    OutOfMemory { size: usize },
}

/// A LIFO of frame records; see the module documentation.
pub struct RecordStack {
    recs: Vec<Record>,
    /// The record most recently popped, kept alive until the next push or pop.
    consumed: Option<Record>,
}

impl RecordStack {
    pub const fn new() -> Self {
        RecordStack {
            recs: Vec::new(),
            consumed: None,
        }
    }

    /// Pushes a record for (`fd`, `point`) with a zeroed body of `size` bytes aligned to `align`
    /// (0 counts as 1) and returns the body.
    pub fn push(
        &mut self,
        fd: *const UsFn,
        point: u32,
        size: usize,
        align: usize,
    ) -> Result<NonNull<u8>, PushError> {
        self.release_consumed();
        let layout = Layout::from_size_align(size.max(1), align.max(1))
            .map_err(|_| PushError::BadLayout { size, align })?;
        // SAFETY: `layout` has a nonzero size (at least 1), as `alloc_zeroed` requires.
        let body =
            NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or(PushError::OutOfMemory { size })?;
        self.recs.push(Record {
            fd,
            point,
            body,
            layout,
        });
        Ok(body)
    }

    /// The function and point of the top (outermost remaining) record.
    pub fn peek(&self) -> Option<(*const UsFn, u32)> {
        self.recs.last().map(|r| (r.fd, r.point))
    }

    /// Pops the top record and returns its body, valid until the next `push`, `pop` or drop, and
    /// whether it was the last one.
    pub fn pop(&mut self) -> Option<(NonNull<u8>, bool)> {
        self.release_consumed();
        let r = self.recs.pop()?;
        let body = r.body;
        self.consumed = Some(r);
        Some((body, self.recs.is_empty()))
    }

    /// Number of records not yet popped.
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    /// The records in push order (innermost frame first): descriptor, point, body.
    pub fn iter(&self) -> impl Iterator<Item = (*const UsFn, u32, &[u8])> {
        self.recs.iter().map(|r| {
            // SAFETY: `body` holds `layout.size()` initialised (zeroed, then written) bytes
            // owned by this record.
            let bytes = unsafe { std::slice::from_raw_parts(r.body.as_ptr(), r.layout.size()) };
            (r.fd, r.point, bytes)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn release_consumed(&mut self) {
        if let Some(r) = self.consumed.take() {
            r.free();
        }
    }
}

impl Default for RecordStack {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RecordStack {
    fn drop(&mut self) {
        self.release_consumed();
        for r in self.recs.drain(..) {
            r.free();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fd(n: usize) -> *const UsFn {
        n as *const UsFn
    }

    #[test]
    fn lifo_order_and_last_flag() {
        let mut s = RecordStack::new();
        // Unwinding pushes innermost first: c (innermost), b, a (outermost).
        for (i, f) in [3usize, 2, 1].iter().enumerate() {
            let b = s.push(fd(*f), i as u32, 8, 8).unwrap();
            // SAFETY: the body is 8 bytes, 8-aligned and exclusively ours.
            unsafe { *(b.as_ptr() as *mut u64) = *f as u64 * 100 };
        }
        assert_eq!(s.len(), 3);
        // Rebuilding sees the outermost first.
        assert_eq!(s.peek(), Some((fd(1), 2)));
        let (b, last) = s.pop().unwrap();
        // SAFETY: the popped body stays valid until the next push/pop.
        assert_eq!(unsafe { *(b.as_ptr() as *const u64) }, 100);
        assert!(!last);
        assert_eq!(s.peek(), Some((fd(2), 1)));
        let (_, last) = s.pop().unwrap();
        assert!(!last);
        let (b, last) = s.pop().unwrap();
        assert!(last);
        // SAFETY: as above; the last body is still readable after the stack became empty.
        assert_eq!(unsafe { *(b.as_ptr() as *const u64) }, 300);
        assert!(s.is_empty());
        assert_eq!(s.peek(), None);
        assert!(s.pop().is_none());
    }

    #[test]
    fn bodies_are_zeroed_and_aligned() {
        let mut s = RecordStack::new();
        for align in [0usize, 1, 2, 8, 16, 64, 4096] {
            let b = s.push(fd(1), 0, 100, align).unwrap();
            assert_eq!(b.as_ptr() as usize % align.max(1), 0, "align {align}");
            // SAFETY: the body has 100 bytes.
            let bytes = unsafe { std::slice::from_raw_parts(b.as_ptr(), 100) };
            assert!(bytes.iter().all(|&x| x == 0));
        }
        // Zero-sized records are legal (a frame with no locals in scope).
        s.push(fd(2), 0, 0, 0).unwrap();
        assert_eq!(s.len(), 8);
    }

    #[test]
    fn bad_alignment_is_an_error() {
        let mut s = RecordStack::new();
        assert_eq!(
            s.push(fd(1), 0, 8, 3).unwrap_err(),
            PushError::BadLayout { size: 8, align: 3 }
        );
        assert!(s.is_empty());
    }

    #[test]
    fn reuse_across_rounds() {
        let mut s = RecordStack::new();
        for round in 0..100u32 {
            for k in 0..10 {
                s.push(fd(k + 1), round, 24, 8).unwrap();
            }
            for k in (0..10).rev() {
                assert_eq!(s.peek(), Some((fd(k + 1), round)));
                s.pop().unwrap();
            }
        }
        assert!(s.is_empty());
    }
}
