//! Workloads: rate schedules for open-loop arrivals, and closed-loop users.
//!
//! A rate schedule is a function of time with a cheap upper bound over any interval, so
//! arrivals are drawn exactly as a non-homogeneous Poisson process by thinning. Arrivals are
//! generated segment by segment from a generator keyed by the segment: the
//! same seed gives the same arrivals to every configuration (common random numbers).

use super::rng::{KeyedRng, Stream};
use serde::{Deserialize, Serialize};

/// A periodic spike overlaid on a pattern: the rate is multiplied by `multiplier` for
/// `duration_s`, every `period_s` starting at `first_at_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spikes {
    pub multiplier: f64,
    pub duration_s: f64,
    pub period_s: f64,
    #[serde(default)]
    pub first_at_s: f64,
}

impl Spikes {
    fn active(&self, t: f64) -> bool {
        if t < self.first_at_s {
            return false;
        }
        (t - self.first_at_s) % self.period_s < self.duration_s
    }
    /// Whether any spike overlaps `[t0, t1)`.
    fn overlaps(&self, t0: f64, t1: f64) -> bool {
        if t1 <= self.first_at_s {
            return false;
        }
        let k = ((t0 - self.first_at_s) / self.period_s).floor().max(0.0);
        let start = self.first_at_s + k * self.period_s;
        (start < t1 && start + self.duration_s > t0) || (start + self.period_s < t1)
    }
    /// Start times of the spikes in `[0, until)`.
    pub fn starts(&self, until: f64) -> Vec<f64> {
        let mut out = Vec::new();
        let mut s = self.first_at_s;
        while s < until && self.period_s > 0.0 {
            out.push(s);
            s += self.period_s;
        }
        out
    }
}

/// One step of a step function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_s: f64,
    pub rate: f64,
}

/// The load patterns users name. Rates are requests per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "lowercase", deny_unknown_fields)]
pub enum Pattern {
    /// A constant rate.
    Constant { rate: f64 },
    /// From `from` to `to` linearly over `duration_s`, then `to`.
    Ramp { from: f64, to: f64, duration_s: f64 },
    /// A step function: each step's rate holds from its `at_s` (the first step starts at 0).
    Step { steps: Vec<Step> },
    /// A base rate with periodic spikes.
    Spike {
        base: f64,
        multiplier: f64,
        duration_s: f64,
        period_s: f64,
        #[serde(default)]
        first_at_s: f64,
    },
    /// Rising without end from `start` by `increase_per_min` every minute: finds where the
    /// SLOs break.
    Stress { start: f64, increase_per_min: f64 },
    /// A day-shaped load: `mean × (1 + amplitude × cos(2π (t/3600 − peak_hour)/24))`.
    Diurnal {
        mean: f64,
        amplitude: f64,
        #[serde(default = "default_peak")]
        peak_hour: f64,
    },
    /// Piecewise-constant bins (a recorded trace): bin `i` holds `rates[i]` from `i × bin_s`.
    Bins { bin_s: f64, rates: Vec<f64> },
    /// Piecewise-linear between bin centres (a recorded trace, smoothed): `rates[i]` at
    /// `(i + ½) × bin_s`, flat before the first centre and after the last, 0 after the end.
    #[serde(rename = "linear-bins")]
    LinearBins { bin_s: f64, rates: Vec<f64> },
}

fn default_peak() -> f64 {
    14.0
}

/// An open-loop rate schedule: a pattern, optional spikes on top, and a scale factor.
/// Written flat: `{pattern: diurnal, mean: 40, amplitude: 0.6, spikes: {...}, scale: 1}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateSchedule {
    #[serde(flatten)]
    pub pattern: Pattern,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spikes: Option<Spikes>,
    pub scale: f64,
}

/// Split `key` out of a mapping value.
fn take(v: &mut serde_json::Value, key: &str) -> Option<serde_json::Value> {
    v.as_object_mut().and_then(|o| o.remove(key))
}

impl<'de> Deserialize<'de> for RateSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(d)?;
        let spikes = take(&mut v, "spikes")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| D::Error::custom(format!("spikes: {e}")))?;
        let scale = take(&mut v, "scale")
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| D::Error::custom(format!("scale: {e}")))?
            .unwrap_or(1.0);
        let pattern = serde_json::from_value(v).map_err(D::Error::custom)?;
        Ok(RateSchedule {
            pattern,
            spikes,
            scale,
        })
    }
}

impl Pattern {
    /// The periodic spikes of a `spike` pattern.
    fn spikes(&self) -> Option<Spikes> {
        match self {
            Pattern::Spike {
                multiplier,
                duration_s,
                period_s,
                first_at_s,
                ..
            } => Some(Spikes {
                multiplier: *multiplier,
                duration_s: *duration_s,
                period_s: *period_s,
                first_at_s: *first_at_s,
            }),
            _ => None,
        }
    }
}

impl RateSchedule {
    /// A schedule from a pattern alone.
    pub fn new(pattern: Pattern) -> Self {
        RateSchedule {
            pattern,
            spikes: None,
            scale: 1.0,
        }
    }

    /// Check the parameters.
    pub fn validate(&self) -> Result<(), String> {
        let nn = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be >= 0 (found {v})"))
            }
        };
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be > 0 (found {v})"))
            }
        };
        nn("scale", self.scale)?;
        match &self.pattern {
            Pattern::Constant { rate } => nn("rate", *rate)?,
            Pattern::Ramp {
                from,
                to,
                duration_s,
            } => {
                nn("from", *from)?;
                nn("to", *to)?;
                pos("duration_s", *duration_s)?;
            }
            Pattern::Step { steps } => {
                if steps.is_empty() {
                    return Err("steps must not be empty".into());
                }
                for (i, s) in steps.iter().enumerate() {
                    nn(&format!("steps[{i}].rate"), s.rate)?;
                    nn(&format!("steps[{i}].at_s"), s.at_s)?;
                    if i > 0 && s.at_s <= steps[i - 1].at_s {
                        return Err(format!(
                            "steps[{i}].at_s ({}) must be after steps[{}].at_s",
                            s.at_s,
                            i - 1
                        ));
                    }
                }
            }
            Pattern::Spike {
                base,
                multiplier,
                duration_s,
                period_s,
                first_at_s,
            } => {
                nn("base", *base)?;
                nn("multiplier", *multiplier)?;
                pos("duration_s", *duration_s)?;
                pos("period_s", *period_s)?;
                nn("first_at_s", *first_at_s)?;
            }
            Pattern::Stress {
                start,
                increase_per_min,
            } => {
                nn("start", *start)?;
                pos("increase_per_min", *increase_per_min)?;
            }
            Pattern::Diurnal {
                mean,
                amplitude,
                peak_hour,
            } => {
                nn("mean", *mean)?;
                if !(0.0..=1.0).contains(amplitude) {
                    return Err(format!(
                        "amplitude must be between 0 and 1 (found {amplitude})"
                    ));
                }
                if !peak_hour.is_finite() {
                    return Err("peak_hour must be a number".into());
                }
            }
            Pattern::Bins { bin_s, rates } | Pattern::LinearBins { bin_s, rates } => {
                pos("bin_s", *bin_s)?;
                for (i, r) in rates.iter().enumerate() {
                    nn(&format!("rates[{i}]"), *r)?;
                }
            }
        }
        if let Some(s) = &self.spikes {
            nn("spikes.multiplier", s.multiplier)?;
            pos("spikes.duration_s", s.duration_s)?;
            pos("spikes.period_s", s.period_s)?;
        }
        Ok(())
    }

    fn base_rate(&self, t: f64) -> f64 {
        match &self.pattern {
            Pattern::Constant { rate } => *rate,
            Pattern::Ramp {
                from,
                to,
                duration_s,
            } => {
                if t >= *duration_s {
                    *to
                } else {
                    from + (to - from) * t / duration_s
                }
            }
            Pattern::Step { steps } => steps
                .iter()
                .rev()
                .find(|s| s.at_s <= t)
                .or(steps.first())
                .map(|s| s.rate)
                .unwrap_or(0.0),
            Pattern::Spike { base, .. } => {
                let sp = self.pattern.spikes().expect("a spike pattern has spikes");
                if sp.active(t) {
                    base * sp.multiplier
                } else {
                    *base
                }
            }
            Pattern::Stress {
                start,
                increase_per_min,
            } => start + increase_per_min * t / 60.0,
            Pattern::Diurnal {
                mean,
                amplitude,
                peak_hour,
            } => {
                mean * (1.0
                    + amplitude * (std::f64::consts::TAU * (t / 3600.0 - peak_hour) / 24.0).cos())
            }
            Pattern::Bins { bin_s, rates } => {
                let i = (t / bin_s).floor();
                if i < 0.0 {
                    0.0
                } else {
                    rates.get(i as usize).copied().unwrap_or(0.0)
                }
            }
            Pattern::LinearBins { bin_s, rates } => {
                let n = rates.len();
                if t < 0.0 || n == 0 || t >= n as f64 * bin_s {
                    return 0.0;
                }
                let x = t / bin_s - 0.5;
                if x <= 0.0 {
                    return rates[0];
                }
                let i = x.floor() as usize;
                if i + 1 >= n {
                    return rates[n - 1];
                }
                let f = x - i as f64;
                rates[i] * (1.0 - f) + rates[i + 1] * f
            }
        }
    }

    /// The rate at `t` seconds.
    pub fn rate(&self, t: f64) -> f64 {
        let mut r = self.base_rate(t);
        if let Some(s) = &self.spikes
            && s.active(t)
        {
            r *= s.multiplier;
        }
        (r * self.scale).max(0.0)
    }

    /// An upper bound of the rate over `[t0, t1)`.
    pub fn bound(&self, t0: f64, t1: f64) -> f64 {
        let b = match &self.pattern {
            Pattern::Constant { rate } => *rate,
            Pattern::Ramp { .. } | Pattern::Stress { .. } => {
                self.base_rate(t0).max(self.base_rate(t1))
            }
            Pattern::Step { steps } => steps
                .iter()
                .enumerate()
                .filter(|(i, s)| s.at_s < t1 && steps.get(i + 1).is_none_or(|n| n.at_s > t0))
                .map(|(_, s)| s.rate)
                .fold(self.base_rate(t0), f64::max),
            Pattern::Spike { base, .. } => {
                let sp = self.pattern.spikes().expect("a spike pattern has spikes");
                if sp.overlaps(t0, t1) {
                    base * sp.multiplier.max(1.0)
                } else {
                    *base
                }
            }
            Pattern::Diurnal {
                mean, amplitude, ..
            } => {
                let slope = mean * amplitude * std::f64::consts::TAU / 86_400.0;
                self.base_rate(t0).max(self.base_rate(t1)) + slope * (t1 - t0)
            }
            Pattern::Bins { bin_s, rates } | Pattern::LinearBins { bin_s, rates } => {
                // Linear interpolation stays within the neighbouring bins' rates.
                let a = ((t0 / bin_s).floor() - 1.0).max(0.0) as usize;
                let b = (((t1 / bin_s).ceil() + 1.0).max(0.0) as usize).min(rates.len());
                rates
                    .get(a..b.max(a))
                    .map(|s| s.iter().copied().fold(0.0, f64::max))
                    .unwrap_or(0.0)
            }
        };
        let spike = match &self.spikes {
            Some(s) if s.overlaps(t0, t1) => s.multiplier.max(1.0),
            _ => 1.0,
        };
        (b * spike * self.scale).max(0.0)
    }

    /// Spike start times in `[0, until)` (from the pattern and the overlay).
    pub fn spike_starts(&self, until: f64) -> Vec<f64> {
        let mut out = Vec::new();
        if let Some(sp) = self.pattern.spikes() {
            out.extend(sp.starts(until));
        }
        if let Some(s) = &self.spikes {
            out.extend(s.starts(until));
        }
        out.sort_by(|a, b| a.partial_cmp(b).unwrap());
        out
    }
}

impl RateSchedule {
    /// Length of one arrival-generation segment, in seconds: about 4,096 arrivals at the
    /// schedule's peak over a day, between 1 s and 60 s; above 2^20 req/s, the power-of-two
    /// fraction of a second that holds at most 2^20 arrivals at the peak (8 MiB of buffer).
    /// A pure function of the schedule, so every configuration and every run length sees the
    /// same arrivals; short enough that the buffer of pending arrivals stays small.
    pub fn segment_s(&self) -> f64 {
        const MOST_PER_SEGMENT: f64 = 1_048_576.0;
        let peak = self.bound(0.0, 86_400.0);
        if peak <= 0.0 {
            60.0
        } else if peak > MOST_PER_SEGMENT {
            let halvings = (peak / MOST_PER_SEGMENT).log2().ceil().min(60.0);
            0.5f64.powf(halvings)
        } else {
            (4096.0 / peak).clamp(1.0, 60.0).floor()
        }
    }
}

/// Draws the arrival times of one segment (of `segment_s` seconds) by thinning. Times are
/// microseconds.
pub fn segment_arrivals(
    schedule: &RateSchedule,
    seed: u64,
    segment: u64,
    segment_s: f64,
    out: &mut Vec<i64>,
) {
    out.clear();
    let t0 = segment as f64 * segment_s;
    let t1 = t0 + segment_s;
    let bound = schedule.bound(t0, t1);
    if bound <= 0.0 {
        return;
    }
    let mut rng = KeyedRng::new(seed, Stream::Arrivals, segment);
    // Piecewise-constant bins: draw each bin's arrivals at its own rate (exact, and no
    // rejected candidates, so a replayed trace costs what a constant rate costs).
    if let (Pattern::Bins { bin_s, rates }, None) = (&schedule.pattern, &schedule.spikes) {
        let first = (t0 / bin_s).floor().max(0.0) as usize;
        let mut i = first;
        while i < rates.len() && (i as f64) * bin_s < t1 {
            let a = (i as f64 * bin_s).max(t0);
            let b = ((i + 1) as f64 * bin_s).min(t1);
            let r = rates[i] * schedule.scale;
            if r > 0.0 {
                let mut t = a;
                loop {
                    t += rng.exp(1.0 / r);
                    if t >= b {
                        break;
                    }
                    out.push((t * 1e6) as i64);
                }
            }
            i += 1;
        }
        return;
    }
    let mut t = t0;
    let flat = matches!(schedule.pattern, Pattern::Constant { .. }) && schedule.spikes.is_none();
    loop {
        t += rng.exp(1.0 / bound);
        if t >= t1 {
            break;
        }
        if flat || rng.unit() * bound < schedule.rate(t) {
            out.push((t * 1e6) as i64);
        }
    }
}

/// Closed-loop users: `users` clients, each sending a request, waiting for the answer, then
/// thinking for an exponential time of mean `think_s`; they start evenly over `ramp_up_s`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedLoop {
    pub users: u32,
    pub think_s: f64,
    #[serde(default)]
    pub ramp_up_s: f64,
}

/// `k` times as many requests: each request is kept `⌊acc⌋` times as `acc` grows by `k`
/// (thinned when `k < 1`, repeated when `k > 1`), with its attribute.
pub fn thin_or_repeat(
    times_s: &[f64],
    attrs: Option<&[f64]>,
    k: f64,
) -> (Vec<f64>, Option<Vec<f64>>) {
    let mut t = Vec::with_capacity((times_s.len() as f64 * k) as usize + 1);
    let mut a = attrs.map(|_| Vec::new());
    let mut acc = 0.0;
    for (i, x) in times_s.iter().enumerate() {
        acc += k;
        while acc >= 1.0 {
            t.push(*x);
            if let (Some(out), Some(src)) = (a.as_mut(), attrs) {
                out.push(src[i]);
            }
            acc -= 1.0;
        }
    }
    (t, a)
}

/// The workload of a run: `loop: open` (the default) with a rate schedule, or `loop: closed`
/// with users.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "loop", rename_all = "lowercase")]
pub enum Workload {
    /// Open loop: Poisson arrivals under a rate schedule.
    Open {
        #[serde(flatten)]
        schedule: RateSchedule,
    },
    /// Closed loop: users with think time.
    Closed {
        #[serde(flatten)]
        users: ClosedLoop,
    },
    /// Exact request times (seconds from the start) from a recorded per-request trace.
    #[serde(skip)]
    Replay {
        times_s: std::sync::Arc<Vec<f64>>,
        /// A per-request attribute (e.g. tokens), aligned with the times.
        attrs: Option<std::sync::Arc<Vec<f64>>>,
        /// When the attribute is categorical (a request type): the label of each code.
        labels: Option<std::sync::Arc<Vec<String>>>,
    },
}

impl<'de> Deserialize<'de> for Workload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(d)?;
        let kind = take(&mut v, "loop")
            .map(|l| l.as_str().map(str::to_string).unwrap_or_default())
            .unwrap_or_else(|| "open".into());
        match kind.as_str() {
            "open" => Ok(Workload::Open {
                schedule: serde_json::from_value(v).map_err(D::Error::custom)?,
            }),
            "closed" => Ok(Workload::Closed {
                users: serde_json::from_value(v).map_err(D::Error::custom)?,
            }),
            other => Err(D::Error::custom(format!(
                "loop: `{other}` is not open or closed"
            ))),
        }
    }
}

impl Workload {
    /// The same workload with `k` times the load: an open schedule's rate times `k`, a closed
    /// loop's users times `k` (rounded, at least 1), a replay's requests thinned or repeated
    /// deterministically (each request kept `⌊acc⌋` times as `acc` grows by `k`).
    pub fn scaled(&self, k: f64) -> Workload {
        match self {
            Workload::Open { schedule } => {
                let mut s = schedule.clone();
                s.scale *= k;
                Workload::Open { schedule: s }
            }
            Workload::Closed { users } => {
                let mut u = users.clone();
                u.users = ((u.users as f64 * k).round() as u32).max(1);
                Workload::Closed { users: u }
            }
            Workload::Replay {
                times_s,
                attrs,
                labels,
            } => {
                let (t, a) = thin_or_repeat(times_s, attrs.as_deref().map(|v| &v[..]), k);
                Workload::Replay {
                    times_s: std::sync::Arc::new(t),
                    attrs: a.map(std::sync::Arc::new),
                    labels: labels.clone(),
                }
            }
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            Workload::Open { schedule } => schedule.validate(),
            Workload::Closed { users } => {
                if users.users == 0 {
                    return Err("users must be > 0".into());
                }
                if !(users.think_s.is_finite() && users.think_s >= 0.0) {
                    return Err(format!("think_s must be >= 0 (found {})", users.think_s));
                }
                if !(users.ramp_up_s.is_finite() && users.ramp_up_s >= 0.0) {
                    return Err(format!(
                        "ramp_up_s must be >= 0 (found {})",
                        users.ramp_up_s
                    ));
                }
                Ok(())
            }
            Workload::Replay { times_s, attrs, .. } => {
                if attrs.as_ref().is_some_and(|a| a.len() != times_s.len()) {
                    return Err(
                        "replayed attributes must match the request times one to one".into(),
                    );
                }
                if times_s.windows(2).any(|w| w[1] < w[0])
                    || times_s.first().is_some_and(|t| *t < 0.0)
                {
                    return Err("replayed request times must be sorted and >= 0".into());
                }
                Ok(())
            }
        }
    }

    /// Spike start times, for recovery measurements.
    pub fn spike_starts(&self, until: f64) -> Vec<f64> {
        match self {
            Workload::Open { schedule } => schedule.spike_starts(until),
            Workload::Closed { .. } | Workload::Replay { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(s: &RateSchedule, from: u64, to: u64) -> usize {
        let mut v = Vec::new();
        (from..to)
            .map(|seg| {
                segment_arrivals(s, 9, seg, 1.0, &mut v);
                v.len()
            })
            .sum()
    }

    #[test]
    fn arrivals_follow_the_rate() {
        let c = RateSchedule::new(Pattern::Constant { rate: 50.0 });
        let n = count(&c, 0, 3600);
        assert!(
            (n as f64 - 180_000.0).abs() < 3.0 * 180_000f64.sqrt() * 1.5,
            "{n}"
        );
        let ramp = RateSchedule::new(Pattern::Ramp {
            from: 0.0,
            to: 100.0,
            duration_s: 3600.0,
        });
        let n = count(&ramp, 0, 3600);
        assert!((n as f64 - 180_000.0).abs() < 2_000.0, "{n}");
        let d = RateSchedule::new(Pattern::Diurnal {
            mean: 10.0,
            amplitude: 0.8,
            peak_hour: 14.0,
        });
        assert!((d.rate(14.0 * 3600.0) - 18.0).abs() < 1e-9);
        assert!((d.rate(2.0 * 3600.0) - 2.0).abs() < 1e-9);
        let n = count(&d, 0, 86_400);
        assert!((n as f64 - 864_000.0).abs() < 5_000.0, "{n}");
    }

    #[test]
    fn a_segment_holds_a_bounded_number_of_arrivals_at_any_rate() {
        let seg = |rate: f64| RateSchedule::new(Pattern::Constant { rate }).segment_s();
        assert_eq!(seg(0.0), 60.0);
        assert_eq!(seg(10.0), 60.0);
        assert_eq!(seg(100.0), 40.0);
        assert_eq!(seg(1_000_000.0), 1.0);
        assert_eq!(seg(2_000_000.0), 0.5);
        for rate in [3e6, 1e9, 1e12] {
            let s = seg(rate);
            assert!(
                s * rate <= 1_048_576.0 && s * rate > 524_288.0,
                "{rate}: {s}"
            );
        }
        let mut out = Vec::new();
        let big = RateSchedule::new(Pattern::Constant { rate: 1e9 });
        segment_arrivals(&big, 1, 3, big.segment_s(), &mut out);
        assert!(
            out.len() < 1_100_000 && out.len() > 900_000,
            "{}",
            out.len()
        );
    }

    #[test]
    fn bounds_hold_and_spikes_multiply() {
        let s = RateSchedule {
            pattern: Pattern::Diurnal {
                mean: 100.0,
                amplitude: 0.5,
                peak_hour: 3.0,
            },
            spikes: Some(Spikes {
                multiplier: 4.0,
                duration_s: 300.0,
                period_s: 3600.0,
                first_at_s: 1800.0,
            }),
            scale: 1.0,
        };
        for seg in 0..1440 {
            let t0 = seg as f64 * 60.0;
            let b = s.bound(t0, t0 + 60.0);
            for k in 0..60 {
                assert!(s.rate(t0 + k as f64) <= b + 1e-9, "t={}", t0 + k as f64);
            }
        }
        assert!((s.rate(1900.0) / s.base_rate(1900.0) - 4.0).abs() < 1e-9);
        assert_eq!(s.spike_starts(7200.0), vec![1800.0, 5400.0]);
        let st = RateSchedule::new(Pattern::Step {
            steps: vec![
                Step {
                    at_s: 0.0,
                    rate: 1.0,
                },
                Step {
                    at_s: 100.0,
                    rate: 9.0,
                },
            ],
        });
        assert_eq!(st.rate(99.0), 1.0);
        assert_eq!(st.rate(100.0), 9.0);
        assert_eq!(st.bound(60.0, 120.0), 9.0);
    }

    #[test]
    fn same_seed_same_arrivals() {
        let c = RateSchedule::new(Pattern::Constant { rate: 20.0 });
        let (mut a, mut b) = (Vec::new(), Vec::new());
        segment_arrivals(&c, 5, 3, 1.0, &mut a);
        segment_arrivals(&c, 5, 3, 1.0, &mut b);
        assert_eq!(a, b);
        segment_arrivals(&c, 6, 3, 1.0, &mut b);
        assert_ne!(a, b);
    }
}
