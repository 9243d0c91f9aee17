//! Network and storage models (being written).
