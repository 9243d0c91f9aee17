//! FGD artefact reproduction (being written).

pub mod go_rand;
