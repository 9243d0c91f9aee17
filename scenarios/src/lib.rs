//! `scenarios`: scenario files, trace importers and the bundled scenarios.

pub mod trace;
