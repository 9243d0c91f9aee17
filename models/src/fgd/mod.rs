//! FGD artefact reproduction (being written).
