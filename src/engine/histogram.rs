//! A fixed-memory latency histogram (log-linear buckets of at most 0.8 % of their value;
//! quantiles placed within a bucket by rank).
//!
//! Values are microseconds. Memory is constant whatever the number of samples, so a 30-day
//! run records latencies in the same space as a 1-hour one.

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 7; // 128 sub-buckets per power of two
const SUB: u64 = 1 << SUB_BITS;
const MAX_EXP: u32 = 40; // up to 2^40 µs ≈ 12.7 days
const BUCKETS: usize = ((MAX_EXP - SUB_BITS + 2) as usize) * (SUB as usize / 2) + 1;

/// Log-linear histogram of microsecond values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    sum: f64,
    max: u64,
    /// Range of buckets touched since the last clear (so clearing is cheap).
    lo: usize,
    hi: usize,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            sum: 0.0,
            max: 0,
            lo: BUCKETS,
            hi: 0,
        }
    }
}

#[inline]
fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let v = v.min((1u64 << MAX_EXP) - 1);
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS + 1;
    ((shift as u64) * (SUB / 2) + (v >> shift)) as usize
}

/// The lowest value that maps to bucket `i`.
fn lower(i: usize) -> u64 {
    let i = i as u64;
    if i < SUB {
        return i;
    }
    let shift = (i - SUB / 2) / (SUB / 2);
    let m = i - shift * (SUB / 2);
    m << shift
}

impl Histogram {
    /// Record one value.
    #[inline]
    pub fn record(&mut self, micros: u64) {
        let i = index(micros);
        self.counts[i] += 1;
        self.lo = self.lo.min(i);
        self.hi = self.hi.max(i);
        self.total += 1;
        self.sum += micros as f64;
        self.max = self.max.max(micros);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// Mean of the recorded values (exact), 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.sum / self.total as f64
        }
    }

    /// Largest recorded value (exact).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The `q` quantile (0..=1); 0 when empty. Within its bucket the value is placed by its
    /// rank among the bucket's values (spread evenly across the bucket), so two runs whose
    /// quantiles fall in one bucket still differ as their ranks do: the estimate moves
    /// continuously instead of in steps of a bucket (0.8 % of the value).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            if seen + c >= rank {
                let lo = lower(i) as f64;
                let hi = lower(i + 1).max(lower(i) + 1) as f64;
                let within = ((rank - seen) as f64 - 0.5) / c as f64;
                return ((lo + within * (hi - lo)).floor() as u64).min(self.max);
            }
            seen += c;
        }
        self.max
    }

    /// Fraction of values at or below `micros`.
    pub fn fraction_at_or_below(&self, micros: u64) -> f64 {
        if self.total == 0 {
            return 1.0;
        }
        let idx = index(micros);
        let n: u64 = self.counts[..=idx].iter().sum();
        n as f64 / self.total as f64
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.lo = self.lo.min(o.lo);
        self.hi = self.hi.max(o.hi);
        self.total += o.total;
        self.sum += o.sum;
        self.max = self.max.max(o.max);
    }

    /// Forget everything (keeps the allocation).
    pub fn clear(&mut self) {
        if self.lo <= self.hi {
            self.counts[self.lo..=self.hi]
                .iter_mut()
                .for_each(|c| *c = 0);
        }
        self.lo = BUCKETS;
        self.hi = 0;
        self.total = 0;
        self.sum = 0.0;
        self.max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_resolve_differences_well_below_a_bucket() {
        // 100,000 values spread evenly over 400-500 ms: p95 within 0.1 % of 495 ms.
        let spread = |from_us: u64, n: u64| {
            let mut h = Histogram::default();
            for k in 0..n {
                h.record(from_us + k * 100_000 / n);
            }
            h
        };
        let p = spread(400_000, 100_000).quantile(0.95) as f64;
        assert!((p / 495_000.0 - 1.0).abs() < 1e-3, "{p}");
        // The same shape shifted by 0.2 % (far less than a 4 ms bucket at 490 ms): the p95
        // moves with it, as it would between seeds.
        let a = spread(400_000, 10_000).quantile(0.95) as f64;
        let b = spread(401_000, 10_000).quantile(0.95) as f64;
        assert!(b > a && ((b - a) / 1_000.0 - 1.0).abs() < 0.5, "{a} {b}");
    }

    #[test]
    fn buckets_are_monotone_and_tight() {
        let mut prev = 0;
        for v in [
            0u64,
            1,
            100,
            127,
            128,
            129,
            255,
            256,
            1000,
            12_345,
            1_000_000,
            3_600_000_000,
        ] {
            let i = index(v);
            assert!(i >= prev, "{v}");
            prev = i;
            assert!(
                lower(i) <= v && v < lower(i + 1).max(lower(i) + 1),
                "{v}: [{}, {})",
                lower(i),
                lower(i + 1)
            );
            let width = lower(i + 1) - lower(i);
            assert!(
                width as f64 <= (v as f64 / 60.0).max(1.0),
                "{v}: width {width}"
            );
        }
    }

    #[test]
    fn quantiles_within_one_percent() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        for (q, want) in [(0.5, 500_000.0), (0.95, 950_000.0), (0.99, 990_000.0)] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.count(), 100_000);
        assert!((h.mean() - 500_005.0).abs() < 1e-6);
        assert!((h.fraction_at_or_below(500_000) - 0.5).abs() < 0.01);
    }
}
