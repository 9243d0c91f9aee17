//! The fidelity suite: the real schedulers' own test tables, transcribed as data under
//! `scenarios/fidelity/`, run against Orrery's policy code. See
//! `scenarios/fidelity/README.md` for the data and `docs/fidelity.md` for the results.

mod common;
mod coscheduling;
mod kubernetes;
mod kueue;
mod volcano;
