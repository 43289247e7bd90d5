//! The discrete-event engine: requests, queues and pods under the real scaling policy.

pub mod dist;
pub mod fluid;
pub mod histogram;
pub mod model;
pub mod outcome;
pub mod output;
pub mod queue;
pub mod rng;
pub mod sim;
pub mod workload;

pub use model::*;
pub use outcome::*;
pub use sim::{Arrivals, RunConfig, check_run, run, run_with_arrivals};
pub use workload::*;
