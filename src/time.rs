//! Integer simulation time.
//!
//! All time in scaletwin's core is an integer count of microseconds: [`SimTime`] is an instant
//! on the simulation's clock, [`SimDuration`] a signed span between two instants. There is no
//! `f64` time in the core, so every comparison at a window edge is exact and every run is
//! reproducible. The policy code never reads a clock: `now` is always an argument.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};

/// Microseconds per second.
pub const MICROS_PER_SEC: i64 = 1_000_000;

/// An instant on the simulation clock, in microseconds since the simulation's epoch.
///
/// Instants before the epoch are allowed (a pod started before the run began). The
/// [`SimTime::DISTANT_PAST`] sentinel stands for Kubernetes' zero timestamp ("year 1"): it is
/// older than every window, and arithmetic on it saturates instead of overflowing.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SimTime(i64);

/// A signed span of simulation time, in microseconds.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct SimDuration(i64);

impl SimTime {
    /// The simulation's epoch.
    pub const ZERO: SimTime = SimTime(0);
    /// Older than any window the policy code uses (Kubernetes' zero time).
    pub const DISTANT_PAST: SimTime = SimTime(i64::MIN / 4);

    /// An instant from microseconds since the epoch.
    pub const fn from_micros(us: i64) -> Self {
        SimTime(us)
    }
    /// An instant from milliseconds since the epoch.
    pub const fn from_millis(ms: i64) -> Self {
        SimTime(ms.saturating_mul(1_000))
    }
    /// An instant from whole seconds since the epoch.
    pub const fn from_secs(s: i64) -> Self {
        SimTime(s.saturating_mul(MICROS_PER_SEC))
    }
    /// Microseconds since the epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }
    /// Seconds since the epoch, for display only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }
    /// The span from `earlier` to `self` (negative when `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// A span of microseconds.
    pub const fn from_micros(us: i64) -> Self {
        SimDuration(us)
    }
    /// A span of milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        SimDuration(ms.saturating_mul(1_000))
    }
    /// A span of whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        SimDuration(s.saturating_mul(MICROS_PER_SEC))
    }
    /// Microseconds in this span.
    pub const fn as_micros(self) -> i64 {
        self.0
    }
    /// Whole seconds in this span (truncated toward zero).
    pub const fn as_secs(self) -> i64 {
        self.0 / MICROS_PER_SEC
    }
    /// Seconds in this span, for display only.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SEC as f64
    }
    /// True for a negative span.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = *self + d;
    }
}
impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
}
impl SubAssign<SimDuration> for SimTime {
    fn sub_assign(&mut self, d: SimDuration) {
        *self = *self - d;
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, other: SimTime) -> SimDuration {
        self.since(other)
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, o: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(o.0))
    }
}
impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, o: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(o.0))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % MICROS_PER_SEC == 0 {
            write!(f, "{}s", self.0 / MICROS_PER_SEC)
        } else {
            write!(f, "{:.3}s", self.as_secs_f64())
        }
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self <= SimTime::DISTANT_PAST {
            return f.write_str("t=-inf");
        }
        write!(f, "t={}", SimDuration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_exact_and_saturating() {
        let t = SimTime::from_secs(10);
        assert_eq!(
            t + SimDuration::from_millis(1500),
            SimTime::from_micros(11_500_000)
        );
        assert_eq!(
            SimTime::from_secs(3) - SimTime::from_secs(5),
            SimDuration::from_secs(-2)
        );
        // The sentinel stays far in the past when a window is added to it.
        let p = SimTime::DISTANT_PAST + SimDuration::from_secs(3600);
        assert!(p < SimTime::from_secs(-1_000_000_000));
        assert_eq!(
            SimTime::DISTANT_PAST - SimDuration::from_secs(i64::MAX / 2),
            SimTime::from_micros(i64::MIN)
        );
    }

    #[test]
    fn display_is_readable() {
        assert_eq!(SimDuration::from_secs(15).to_string(), "15s");
        assert_eq!(SimDuration::from_millis(250).to_string(), "0.250s");
        assert_eq!(SimTime::from_secs(30).to_string(), "t=30s");
    }
}
