//! A process-wide request to stop exploring (Ctrl-C in `orrery verify`).
//!
//! The command-line program sets it from its SIGINT handler; [`super::explore`] checks it
//! between schedules (and every few thousand model steps inside one) and, when it is set,
//! stops with what it has explored so far: `Coverage::interrupted` is set and neither
//! verdict can be VERIFIED or NO VIOLATION FOUND (a violation already found stays one).
//! Setting and reading the flag is a single atomic operation, so the handler may call
//! [`request_interrupt`] directly (it is async-signal-safe).

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ask every interruptible exploration of this process to stop at its next check.
/// Returns whether an interrupt had already been requested (a second Ctrl-C).
pub fn request_interrupt() -> bool {
    INTERRUPTED.swap(true, Ordering::SeqCst)
}

/// Whether an interrupt has been requested (and not [`reset`] since).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Clear the request (tests; a program that runs several explorations in turn).
pub fn reset() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}
