//! Fidelity cases for kueue (see scenarios/fidelity/README.md).
