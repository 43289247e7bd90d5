//! The twin of a user's own service, from its telemetry: `record` pulls the series from
//! Prometheus into a bundle, `calibrate` estimates a model's parameters from a bundle, and
//! `backtest` replays the recorded load through a model and measures how far its replicas
//! and latencies are from what really happened.

pub mod backtest;
pub mod bundle;
pub mod calibrate;
pub mod data;
pub mod estimate;
pub mod fit;
pub mod links;
pub mod probe;
pub mod record;
pub mod structure;

/// Why a twin command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum TwinError {
    /// A flag, a file or what the data holds is wrong (bad query, unknown bundle version,
    /// no load in the range): the command line exits 2.
    #[error("{0}")]
    Input(String),
    /// The server could not be reached, or a result could not be written: exit 3.
    #[error("{0}")]
    Runtime(String),
}

impl TwinError {
    /// The exit code the command line ends with.
    pub fn exit_code(&self) -> u8 {
        match self {
            TwinError::Input(_) => 2,
            TwinError::Runtime(_) => 3,
        }
    }
}
