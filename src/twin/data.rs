//! Readings of a bundle's series that calibration and backtests share: series summed over
//! their labels on the recording's time grid, latency histograms by time, per-pod values.

use super::TwinError;
use super::bundle::Bundle;
use std::collections::BTreeMap;

/// Time key: milliseconds (samples of one range query share exact timestamps).
pub fn key(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// A query's series summed at each timestamp (non-finite samples skipped).
pub fn summed(b: &Bundle, dep: &str, k: &str) -> BTreeMap<i64, f64> {
    summed_where(b, dep, k, |_| true)
}

/// The series of a query that `keep` accepts, summed at each timestamp any series has a
/// finite sample at (0 where only rejected series have one).
pub fn summed_where(
    b: &Bundle,
    dep: &str,
    k: &str,
    keep: impl Fn(&crate::prom::Series) -> bool,
) -> BTreeMap<i64, f64> {
    let mut out = BTreeMap::new();
    for s in b.get(dep, k) {
        let kept = keep(s);
        for (t, v) in &s.samples {
            if v.is_finite() {
                let e = out.entry(key(*t)).or_insert(0.0);
                if kept {
                    *e += v;
                }
            }
        }
    }
    out
}

/// The latency histogram: its finite bucket bounds (seconds, ascending) and, per timestamp,
/// the rate in each bucket (non-cumulative; the last is above the highest bound).
pub struct Histograms {
    pub bounds: Vec<f64>,
    pub at: BTreeMap<i64, Vec<f64>>,
}

impl Histograms {
    /// Read a histogram query (`latency` or `job_latency`: `sum by (le) (rate(..._bucket[w]))`)
    /// of a deployment.
    pub fn read(b: &Bundle, dep: &str, which: &str) -> Result<Histograms, TwinError> {
        let series = b.get(dep, which);
        let q = || b.query(dep, which);
        if series.is_empty() {
            return Err(TwinError::Input(format!(
                "{dep}: no latency histogram in the bundle (`{}` found nothing); the service must export a latency histogram, or name its metric in --queries",
                q()
            )));
        }
        let mut les: Vec<(f64, &crate::prom::Series)> = Vec::new();
        for s in series {
            let Some(le) = s.labels.get("le") else {
                return Err(TwinError::Input(format!(
                    "{dep}: a latency series without an `le` label ({}); the query must keep `le` (sum by (le) (...))",
                    s.label_text()
                )));
            };
            let v = match le.as_str() {
                "+Inf" | "Inf" | "inf" => f64::INFINITY,
                x => x.parse().map_err(|_| {
                    TwinError::Input(format!("{dep}: latency bucket le=\"{x}\" is not a number"))
                })?,
            };
            if les.iter().any(|(l, _)| *l == v) {
                return Err(TwinError::Input(format!(
                    "{dep}: several latency series for le=\"{le}\" (`{}`); aggregate them with sum by (le)",
                    q()
                )));
            }
            les.push((v, s));
        }
        les.sort_by(|a, b| a.0.total_cmp(&b.0));
        if les.last().is_none_or(|l| l.0.is_finite()) {
            return Err(TwinError::Input(format!(
                "{dep}: the latency histogram has no +Inf bucket (`{}`)",
                q()
            )));
        }
        let bounds: Vec<f64> = les[..les.len() - 1].iter().map(|l| l.0).collect();
        // Cumulative rates per timestamp, then per bucket.
        let mut cum: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
        for (i, (_, s)) in les.iter().enumerate() {
            for (t, v) in &s.samples {
                let row = cum.entry(key(*t)).or_insert_with(|| vec![None; les.len()]);
                row[i] = v.is_finite().then_some(*v);
            }
        }
        let mut at = BTreeMap::new();
        for (t, row) in cum {
            let Some(row) = row.into_iter().collect::<Option<Vec<f64>>>() else {
                continue;
            };
            let mut inc = Vec::with_capacity(row.len());
            let mut prev = 0.0;
            for c in row {
                // Buckets scraped a moment apart can be a hair out of order.
                inc.push((c - prev).max(0.0));
                prev = c.max(prev);
            }
            at.insert(t, inc);
        }
        Ok(Histograms { bounds, at })
    }

    /// The rates of the buckets summed over the timestamps in `(from, to]`.
    pub fn sum_over(&self, from: i64, to: i64) -> Vec<f64> {
        let mut out = vec![0.0; self.bounds.len() + 1];
        for (_, inc) in self.at.range(from + 1..=to) {
            for (o, v) in out.iter_mut().zip(inc) {
                *o += v;
            }
        }
        out
    }
}

/// Per pod, the last finite value of a per-pod series (`pod` label).
pub fn per_pod_last(b: &Bundle, dep: &str, k: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for s in b.get(dep, k) {
        let Some(pod) = s.labels.get("pod") else {
            continue;
        };
        if let Some(v) = s
            .samples
            .iter()
            .rev()
            .map(|x| x.1)
            .find(|v| v.is_finite() && *v > 0.0)
        {
            out.insert(pod.clone(), v);
        }
    }
    out
}

/// Ordinary least squares of `y` on the columns of `x` (no intercept unless a column of
/// ones is given): coefficients, their standard errors and R² (about the mean of `y`).
pub fn ols(x: &[Vec<f64>], y: &[f64]) -> Option<(Vec<f64>, Vec<f64>, f64)> {
    let n = y.len();
    let k = x.first()?.len();
    if n <= k || x.len() != n {
        return None;
    }
    // Normal equations, solved by Gauss-Jordan with partial pivoting (k is 2 or 3 here).
    let mut a = vec![vec![0.0; 2 * k]; k];
    for (i, row) in a.iter_mut().enumerate() {
        for j in 0..k {
            row[j] = x.iter().map(|r| r[i] * r[j]).sum();
        }
        row[k + i] = 1.0;
    }
    for c in 0..k {
        let p = (c..k).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        let d = a[c][c];
        for v in a[c].iter_mut() {
            *v /= d;
        }
        for r in 0..k {
            if r != c {
                let f = a[r][c];
                let pivot = a[c].clone();
                for (v, pv) in a[r].iter_mut().zip(pivot) {
                    *v -= f * pv;
                }
            }
        }
    }
    let inv: Vec<Vec<f64>> = a.iter().map(|r| r[k..].to_vec()).collect();
    let xty: Vec<f64> = (0..k)
        .map(|i| x.iter().zip(y).map(|(r, yv)| r[i] * yv).sum())
        .collect();
    let beta: Vec<f64> = (0..k)
        .map(|i| (0..k).map(|j| inv[i][j] * xty[j]).sum())
        .collect();
    let resid: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(r, yv)| yv - r.iter().zip(&beta).map(|(a, b)| a * b).sum::<f64>())
        .collect();
    let sse: f64 = resid.iter().map(|r| r * r).sum();
    let mean = y.iter().sum::<f64>() / n as f64;
    let sst: f64 = y.iter().map(|v| (v - mean) * (v - mean)).sum();
    let s2 = sse / (n - k) as f64;
    let se = (0..k).map(|i| (s2 * inv[i][i]).max(0.0).sqrt()).collect();
    let r2 = if sst > 0.0 { 1.0 - sse / sst } else { 1.0 };
    Some((beta, se, r2))
}
