//! Fidelity cases for volcano (see scenarios/fidelity/README.md).
