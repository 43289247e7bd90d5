//! The integration tests that need no wall clock: the policy against upstream's vectors and
//! properties, manifests, the engine against queueing theory, simulate, traces, tune, the
//! report and the binary end to end. One test binary instead of one per file, so the
//! dependencies are linked once.

#[path = "../common/mod.rs"]
mod common;

mod bound;
mod cli;
mod findings;
mod fuzz;
mod hpa_conformance;
mod hpa_properties;
mod judge;
mod layout;
mod manifests;
mod optimize;
mod oracles;
mod report;
mod report_page;
mod repro;
mod simulate;
mod skeleton;
mod traces;
mod tune;
mod twin;
