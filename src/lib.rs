//! scaletwin: a simulation and policy-tuning engine for Kubernetes autoscaling.
pub mod policy;
pub mod time;
