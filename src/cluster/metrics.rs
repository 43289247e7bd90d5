//! The metrics pipeline as Prometheus computes it from scrapes of a deployment's counters:
//! `rate()` over a window and `histogram_quantile()` of the latency buckets. The simulator and
//! the testbed scrape their own counters and read them through these.

use std::collections::VecDeque;

/// A Prometheus scrape of one deployment's counters.
#[derive(Clone, Debug)]
pub(crate) struct Scrape {
    pub(crate) t: i64,
    /// Successful answers (2xx).
    pub(crate) requests: f64,
    /// Every answer a pod gave: successes and the 503/504 failures it answered.
    pub(crate) answered: f64,
    pub(crate) tokens: f64,
    pub(crate) buckets: Vec<f64>,
    pub(crate) in_flight: f64,
}

impl Scrape {
    /// The request counter a request-rate signal reads.
    pub(crate) fn counted(&self, c: crate::engine::model::Counted) -> f64 {
        match c {
            crate::engine::model::Counted::All => self.answered,
            crate::engine::model::Counted::Ok => self.requests,
        }
    }
}

/// Keep a scrape of a deployment's counters, and those of the last `keep_us` before it
/// (what the longest `rate()` window needs).
pub(crate) fn keep_scrape(scrapes: &mut VecDeque<Scrape>, scrape: Scrape, keep_us: i64) {
    let from = scrape.t - keep_us;
    scrapes.push_back(scrape);
    while scrapes.front().is_some_and(|s| s.t < from) {
        scrapes.pop_front();
    }
}

/// `rate(counter[window])` from the scrapes in `(now - window, now]`, per second.
pub(crate) fn scrape_rate(
    s: &VecDeque<Scrape>,
    now: i64,
    window_us: i64,
    pick: impl Fn(&Scrape) -> f64,
) -> Option<f64> {
    let from = now - window_us;
    let first = s.iter().find(|x| x.t > from)?;
    let last = s.back()?;
    if last.t <= first.t {
        return None;
    }
    Some((pick(last) - pick(first)) / ((last.t - first.t) as f64 * 1e-6))
}

/// `histogram_quantile(q, rate(buckets[window]))` from the scrapes in `(now - window, now]`:
/// linear interpolation inside the bucket holding the rank, in the buckets' unit.
pub(crate) fn scrape_quantile(
    s: &VecDeque<Scrape>,
    now: i64,
    q: f64,
    window_us: i64,
    bounds: &[f64],
) -> Option<f64> {
    let from = now - window_us;
    let first = s.iter().find(|x| x.t > from)?;
    let last = s.back()?;
    let inc: Vec<f64> = last
        .buckets
        .iter()
        .zip(&first.buckets)
        .map(|(a, b)| a - b)
        .collect();
    bucket_quantile(&inc, bounds, q)
}

/// The `q` quantile of a histogram given as counts (or rates) per bucket, the last one above
/// the highest bound (+Inf): Prometheus' `histogram_quantile`, with linear interpolation
/// inside the bucket holding the rank (from 0 for the first), the highest bound when the
/// rank falls in +Inf, and `None` for an empty histogram.
pub fn bucket_quantile(inc: &[f64], bounds: &[f64], q: f64) -> Option<f64> {
    let total: f64 = inc.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut cum = 0.0;
    for (i, c) in inc.iter().enumerate() {
        if cum + c >= rank && *c > 0.0 {
            if i == bounds.len() {
                return bounds.last().copied();
            }
            let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
            let hi = bounds[i];
            return Some(lo + (hi - lo) * (rank - cum) / c);
        }
        cum += c;
    }
    bounds.last().copied()
}
