//! Pure scaling-policy math: the HPA controller and the KEDA operator.
//!
//! No clock, no I/O, no randomness: spec + observed metrics + the policy's own history +
//! `now` in, a decision (with its reason) out. The simulator drives these functions on
//! virtual time; the live testbed drives the same functions on the wall clock.

pub mod hpa;
pub mod keda;
