//! The HorizontalPodAutoscaler (autoscaling/v2), number for number with upstream.
//!
//! * [`calc`]: the replica calculator (one metric -> one proposal);
//! * [`normalize`]: stabilization, rate limits and clamps;
//! * [`controller`]: one whole reconcile, returning a [`SyncDecision`] that says why.
//!
//! Everything is pure: the clock (`now`) and the metric APIs are arguments.

pub mod calc;
pub mod controller;
pub mod normalize;
pub mod types;

pub use calc::{CalcError, CalcPath, Proposal};
pub use controller::{
    Condition, ConditionType, HpaState, MetricEvaluation, MetricFailure, SyncDecision, SyncPath,
    reconcile,
};
pub use normalize::{LimitReason, Recommendation, ScaleEvent, StabilizationReason};
pub use types::*;
