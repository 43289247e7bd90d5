//! The integration tests that run real servers on loopback against the wall clock: the load
//! tester, the testbed, validate and the live Prometheus import. Kept apart from the suite's
//! CPU-bound tests so that their timing is not disturbed by them.

#[path = "../common/mod.rs"]
mod common;

mod loadtest;
mod prometheus_live;
mod testbed;
mod twin;
mod validate;
