//! A map from heap addresses (32-byte granules) to small numbers, for the length of one update:
//! which block of the traversal starts at an address.
//!
//! A hash map would do, but its lookups jump around memory: one cache miss each, several per
//! migrated object. This table is direct-mapped instead (a `u32` per granule, in lazily mapped
//! 1 GiB regions of address space), so it keeps the heap's own locality: objects allocated one
//! after another, as most linked structures are, have their entries side by side. Only the
//! pages where blocks start are ever touched; dropping the table unmaps everything.

/// 32-byte granules: glibc's smallest chunk is 32 bytes, so no two blocks start in one.
const GRANULE_SHIFT: u32 = 5;
const REGION_SHIFT: u32 = 30;
const REGIONS: usize = 1 << (47 - REGION_SHIFT);
const ENTRIES: usize = 1 << (REGION_SHIFT - GRANULE_SHIFT);

pub struct GranuleMap {
    regions: Vec<*mut u32>,
    /// Entries set so far; past `HUGE_AFTER` the regions ask for huge pages, since a large
    /// traversal touches most of their pages and one fault per 4 KiB is what costs.
    set: usize,
}

const HUGE_AFTER: usize = 1 << 16;

impl GranuleMap {
    pub fn new() -> GranuleMap {
        GranuleMap {
            regions: vec![std::ptr::null_mut(); REGIONS],
            set: 0,
        }
    }

    /// The value at the granule of `p` (0 when never set).
    #[inline]
    pub fn get(&self, p: usize) -> u32 {
        let r = p >> REGION_SHIFT;
        match self.regions.get(r) {
            Some(&base) if !base.is_null() => {
                let g = (p & ((1 << REGION_SHIFT) - 1)) >> GRANULE_SHIFT;
                // SAFETY: `base` maps ENTRIES entries; g < ENTRIES.
                unsafe { *base.add(g) }
            }
            _ => 0,
        }
    }

    /// Sets the value at the granule of `p`; false when no memory could be mapped for it.
    pub fn set(&mut self, p: usize, v: u32) -> bool {
        let r = p >> REGION_SHIFT;
        let Some(slot) = self.regions.get_mut(r) else {
            return false;
        };
        if slot.is_null() {
            // SAFETY: an anonymous private mapping, zero until written, unmapped in drop.
            let m = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    ENTRIES * 4,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if m == libc::MAP_FAILED {
                return false;
            }
            *slot = m as *mut u32;
        }
        let g = (p & ((1 << REGION_SHIFT) - 1)) >> GRANULE_SHIFT;
        // SAFETY: as in `get`.
        unsafe { *slot.add(g) = v };
        self.set += 1;
        if self.set == HUGE_AFTER {
            for &base in self.regions.iter().filter(|b| !b.is_null()) {
                huge_pages(base as usize, ENTRIES * 4);
            }
        }
        true
    }
}

impl Drop for GranuleMap {
    fn drop(&mut self) {
        for &base in &self.regions {
            if !base.is_null() {
                // SAFETY: mapped by `set` with this size, no reference outlives the map.
                unsafe { libc::munmap(base as *mut libc::c_void, ENTRIES * 4) };
            }
        }
    }
}

/// Asks for transparent huge pages on the 2 MiB pages inside `[p, p + len)` (where the system
/// allows them on request): large migrations touch hundreds of megabytes, and the cost is then
/// the number of page faults, 512 times fewer with huge pages. Best effort: a failure changes
/// nothing.
pub fn huge_pages(p: usize, len: usize) {
    const HUGE: usize = 2 << 20;
    let start = (p + HUGE - 1) & !(HUGE - 1);
    let end = (p + len) & !(HUGE - 1);
    if end > start {
        // SAFETY: advice only; the range is inside mappings of this process (or the call fails
        // harmlessly with ENOMEM for the unmapped part).
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn set_and_get() {
        let mut m = super::GranuleMap::new();
        let v = [0u8; 128];
        let p = (v.as_ptr() as usize + 31) & !31;
        assert_eq!(m.get(p), 0);
        assert!(m.set(p, 7));
        assert_eq!(m.get(p), 7);
        assert_eq!(m.get(p + 31), 7);
        assert_eq!(m.get(p + 32), 0);
    }
}
