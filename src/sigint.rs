//! Ctrl-C during `orrery verify`: the first one asks the exploration to stop and the
//! outputs to be written with what it has (marked incomplete); a second one exits at once
//! with code 130, writing nothing more.

/// Exit code of a second Ctrl-C (128 + SIGINT, as a shell reports a run killed by it).
#[cfg_attr(not(unix), allow(dead_code))]
pub const EXIT_SIGINT: i32 = 130;

#[cfg(unix)]
mod imp {
    use std::sync::atomic::{AtomicBool, Ordering};

    use models::verify::interrupt;

    static QUIET: AtomicBool = AtomicBool::new(false);

    const NOTICE: &[u8] = b"\ninterrupted: writing what was explored so far (marked incomplete); Ctrl-C again to quit at once\n";

    /// The handler does only async-signal-safe things: atomic operations, `write(2)` and
    /// `_exit(2)`.
    extern "C" fn on_sigint(_signal: libc::c_int) {
        if interrupt::request_interrupt() {
            // SAFETY: `_exit` is async-signal-safe and takes no pointers.
            unsafe { libc::_exit(super::EXIT_SIGINT) };
        }
        if !QUIET.load(Ordering::SeqCst) {
            // SAFETY: `write` is async-signal-safe; the buffer is a static byte string
            // and the length is its own.
            let _ = unsafe { libc::write(2, NOTICE.as_ptr().cast(), NOTICE.len()) };
        }
    }

    /// The SIGINT handler in force while this lives; the previous one comes back on drop.
    pub struct Guard {
        previous: Option<libc::sigaction>,
    }

    pub fn install(quiet: bool) -> Guard {
        QUIET.store(quiet, Ordering::SeqCst);
        let handler = on_sigint as extern "C" fn(libc::c_int);
        // SAFETY: a zeroed `sigaction` is a valid value of the plain C struct; every field
        // that matters is set below, and both pointers passed to `sigaction` point to live
        // locals.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            let ok = libc::sigaction(libc::SIGINT, &action, &mut previous) == 0;
            Guard {
                previous: ok.then_some(previous),
            }
        }
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(previous) = &self.previous {
                // SAFETY: `previous` is what `sigaction` returned for SIGINT.
                unsafe {
                    libc::sigaction(libc::SIGINT, previous, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    /// No handler off Unix: Ctrl-C stops the program as before.
    pub struct Guard;

    pub fn install(_quiet: bool) -> Guard {
        Guard
    }
}

/// Handle Ctrl-C as described above until the returned guard is dropped.
pub fn install(quiet: bool) -> imp::Guard {
    imp::install(quiet)
}
