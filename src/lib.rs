//! scaletwin: a simulation and policy-tuning engine for Kubernetes autoscaling.

// Manifest errors carry file, line, field, value and hint by value; they are rare and built
// once, so their size on the error path does not matter.
#![allow(clippy::result_large_err)]
pub mod lint;
pub mod manifest;
pub mod models;
pub mod policy;
pub mod time;
