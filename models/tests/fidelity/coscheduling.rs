//! Fidelity cases for coscheduling (see scenarios/fidelity/README.md).
