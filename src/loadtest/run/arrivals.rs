//! Open-loop arrivals: drawn lazily from the scenario's workload (the engine's own arrival
//! streams, so a load test sends exactly what the simulator replays), handed out in order
//! under the rate cap, and compressed by a time scale.

use super::*;

/// Open-loop arrival times, drawn lazily (seconds from the start).
pub(super) enum Source {
    Poisson {
        schedule: RateSchedule,
        seed: u64,
        segment: u64,
        segment_s: f64,
        buf: VecDeque<i64>,
        scratch: Vec<i64>,
    },
    Uniform {
        schedule: RateSchedule,
        t: f64,
    },
    Replay {
        times: Arc<Vec<f64>>,
        i: usize,
    },
}

impl Source {
    /// The open-loop arrivals of a workload (`None` for a closed loop).
    pub(super) fn for_workload(w: &Workload, s: &Scenario) -> Option<Source> {
        Some(match (w, s.arrivals) {
            (Workload::Closed { .. }, _) => return None,
            (Workload::Replay { times_s, .. }, _) => Source::Replay {
                times: times_s.clone(),
                i: 0,
            },
            (Workload::Open { schedule }, Arrivals::Poisson) => Source::Poisson {
                segment_s: schedule.segment_s(),
                schedule: schedule.clone(),
                seed: s.seed,
                segment: 0,
                buf: VecDeque::new(),
                scratch: Vec::new(),
            },
            (Workload::Open { schedule }, Arrivals::Uniform) => Source::Uniform {
                schedule: schedule.clone(),
                t: 0.0,
            },
        })
    }

    fn next(&mut self, end: f64) -> Option<f64> {
        match self {
            Source::Poisson {
                schedule,
                seed,
                segment,
                segment_s,
                buf,
                scratch,
            } => loop {
                if let Some(t) = buf.pop_front() {
                    return Some(t as f64 / 1e6);
                }
                if *segment as f64 * *segment_s >= end {
                    return None;
                }
                segment_arrivals(schedule, *seed, *segment, *segment_s, scratch);
                buf.extend(scratch.iter().copied());
                *segment += 1;
            },
            Source::Uniform { schedule, t } => {
                // Step to where one more request is due at the current rate; zero-rate
                // stretches are skipped a tenth of a second at a time. (Sums of 1/r drift
                // by rounding: a send due a nanosecond before the end is not one.)
                while *t < end - 1e-9 {
                    let r = schedule.rate(*t);
                    if r > 0.0 {
                        *t += 1.0 / r;
                        return Some(*t - 1.0 / r);
                    }
                    *t += 0.1;
                }
                None
            }
            Source::Replay { times, i } => {
                let t = times.get(*i).copied();
                *i += 1;
                t
            }
        }
    }
}

/// Hands out open-loop sends: sequence number and intended time.
pub(super) struct Cursor {
    source: Source,
    seq: u64,
    last: f64,
    min_gap: f64,
    end: f64,
    max_requests: u64,
}

impl Cursor {
    /// Arrivals from `source` before `end`, at most `max_requests`, at least `min_gap`
    /// seconds apart (the rate cap delays arrivals, it never drops them).
    pub(super) fn new(source: Source, min_gap: f64, end: f64, max_requests: u64) -> Cursor {
        Cursor {
            source,
            seq: 0,
            last: 0.0,
            min_gap,
            end,
            max_requests,
        }
    }

    pub(super) fn next(&mut self) -> Option<(u64, f64)> {
        if self.seq >= self.max_requests {
            return None;
        }
        let t = self.source.next(self.end)?;
        if t >= self.end {
            return None;
        }
        // The rate cap delays arrivals, it never drops them.
        let t = if self.seq == 0 {
            t
        } else {
            t.max(self.last + self.min_gap)
        };
        if t >= self.end {
            return None;
        }
        self.last = t;
        self.seq += 1;
        Some((self.seq - 1, t))
    }
}

/// Every open-loop arrival time of a scenario (seconds from the start, before any rate cap),
/// exactly as a run draws them; `None` for a closed loop.
pub fn arrival_times(s: &Scenario) -> Result<Option<Vec<f64>>, LoadError> {
    let w = s.workload().map_err(|e| LoadError::Input(e.to_string()))?;
    let Some(mut source) = Source::for_workload(&w, s) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    while let Some(t) = source.next(s.duration_s) {
        if t >= s.duration_s || out.len() as u64 >= s.limits.max_requests {
            break;
        }
        out.push(t);
    }
    Ok(Some(out))
}

/// The scenario sent `k` times faster: open-loop arrivals drawn on the model clock and sent
/// at `t / k`, closed-loop think and ramp-up times divided by `k`, the duration likewise.
pub fn compressed(s: &Scenario, k: f64) -> Result<Scenario, LoadError> {
    if !(k.is_finite() && k > 0.0) {
        return Err(LoadError::Input(format!(
            "--time-scale {k}: must be > 0 (model seconds per wall-clock second of the target)"
        )));
    }
    if (k - 1.0).abs() < 1e-12 {
        return Ok(s.clone());
    }
    let mut out = s.clone();
    let w = s.workload().map_err(|e| LoadError::Input(e.to_string()))?;
    match w {
        Workload::Closed { mut users } => {
            users.think_s /= k;
            users.ramp_up_s /= k;
            out.load = Some(Workload::Closed { users });
        }
        _ => {
            let times = arrival_times(s)?.unwrap_or_default();
            out.load = Some(Workload::Replay {
                times_s: Arc::new(times.into_iter().map(|t| t / k).collect()),
                attrs: None,
                labels: None,
            });
        }
    }
    out.trace = None;
    out.duration_s = s.duration_s / k;
    Ok(out)
}
