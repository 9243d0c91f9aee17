//! Give freed heap memory back to the operating system between the phases of a large run.
//!
//! Loading a million-job trace frees a few hundred MB of small, short-lived allocations
//! (rows, text), and the end of a run frees the model's per-job vectors; glibc keeps such
//! freed chunks mapped when live allocations sit between them, so they would count in the
//! process's resident memory for the rest of the run. `malloc_trim(0)` returns every free
//! page of the heap (glibc 2.8 and later). It changes no allocation and no result; elsewhere
//! than glibc it does nothing.

/// Return the heap's free pages to the OS (glibc); a no-op on other C libraries.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointer and only releases pages glibc's allocator
    // holds free; it is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
