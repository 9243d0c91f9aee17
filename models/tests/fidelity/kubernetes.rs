//! Fidelity cases for kubernetes (see scenarios/fidelity/README.md).
