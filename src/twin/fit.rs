//! Service-time distributions fitted to a latency histogram's buckets: a lognormal, a gamma,
//! and, when neither follows the buckets closely (a mix of request types, say), the empirical
//! distribution the buckets themselves describe.

use super::data::ols;
use statrs::distribution::{ContinuousCDF, Gamma, Normal};

/// The lognormal whose CDF best matches cumulative bucket fractions: `(mu, sigma, max gap)`.
/// Buckets whose fraction is within (0.2 %, 99.8 %) are used; at least two are needed.
pub fn fit_lognormal_buckets(bounds: &[f64], counts: &[f64]) -> Option<(f64, f64, f64)> {
    if counts.iter().sum::<f64>() <= 0.0 {
        return None;
    }
    let n01 = Normal::new(0.0, 1.0).ok()?;
    let obs = fractions(bounds, counts);
    let pts: Vec<(f64, f64)> = obs
        .iter()
        .filter(|(b, f)| *f > 0.002 && *f < 0.998 && *b > 0.0)
        .map(|(b, f)| (n01.inverse_cdf(*f), b.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let x: Vec<Vec<f64>> = pts.iter().map(|p| vec![1.0, p.0]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let (beta, _, _) = ols(&x, &y)?;
    let (mu, sigma) = (beta[0], beta[1]);
    if !(sigma.is_finite() && sigma > 0.0) {
        return None;
    }
    let gap = obs
        .iter()
        .filter(|(b, _)| *b > 0.0)
        .map(|(b, f)| (n01.cdf((b.ln() - mu) / sigma) - f).abs())
        .fold(0.0, f64::max);
    Some((mu, sigma, gap))
}

/// Cumulative bucket fractions `(bound, fraction)` of the finite buckets.
fn fractions(bounds: &[f64], counts: &[f64]) -> Vec<(f64, f64)> {
    let total: f64 = counts.iter().sum();
    let mut cum = 0.0;
    bounds
        .iter()
        .zip(counts)
        .map(|(b, c)| {
            cum += c;
            (*b, cum / total.max(f64::MIN_POSITIVE))
        })
        .collect()
}

pub fn gamma_of(mean: f64, cv: f64) -> Option<Gamma> {
    let shape = 1.0 / (cv * cv);
    Gamma::new(shape, shape / mean).ok()
}

/// The gamma (mean, cv) whose CDF best matches the cumulative bucket fractions (least
/// squares, by a grid refined around its best point: two parameters and a dozen buckets
/// need no optimiser crate), and its largest gap.
pub fn fit_gamma_buckets(bounds: &[f64], counts: &[f64]) -> Option<(f64, f64, f64)> {
    let obs = fractions(bounds, counts);
    let informative = obs.iter().filter(|(_, f)| *f > 0.002 && *f < 0.998).count();
    if counts.iter().sum::<f64>() <= 0.0 || informative < 2 {
        return None;
    }
    let err = |m: f64, c: f64, worst: bool| -> f64 {
        let Some(g) = gamma_of(m, c) else {
            return f64::INFINITY;
        };
        let d = obs.iter().map(|(b, f)| g.cdf(*b) - f);
        if worst {
            d.map(f64::abs).fold(0.0, f64::max)
        } else {
            d.map(|x| x * x).sum()
        }
    };
    let hi = bounds.iter().copied().fold(0.0, f64::max).max(1e-6);
    let lo = bounds
        .iter()
        .copied()
        .filter(|b| *b > 0.0)
        .fold(hi, f64::min);
    // log-mean and log-cv grids, zoomed four times around the best point.
    let (mut lm, mut lc) = (((lo * hi).sqrt()).ln(), 0.0f64);
    let (mut span_m, mut span_c) = ((hi / lo).ln().max(1.0), 2.5f64);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let (cm, cc) = (lm, lc);
        for i in 0..=40 {
            for j in 0..=40 {
                let m = cm + span_m * (i as f64 / 20.0 - 1.0);
                let c = cc + span_c * (j as f64 / 20.0 - 1.0);
                let e = err(m.exp(), c.exp(), false);
                if e < best {
                    (best, lm, lc) = (e, m, c);
                }
            }
        }
        span_m /= 8.0;
        span_c /= 8.0;
    }
    let (m, c) = (lm.exp(), lc.exp());
    Some((m, c, err(m, c, true)))
}

pub fn gamma_p95(mean: f64, cv: f64) -> f64 {
    gamma_of(mean, cv)
        .map(|g| g.inverse_cdf(0.95))
        .unwrap_or(f64::NAN)
}

pub fn lognormal_mean_p95(mu: f64, sigma: f64) -> (f64, f64) {
    (
        (mu + sigma * sigma / 2.0).exp(),
        (mu + 1.644_853_6 * sigma).exp(),
    )
}

/// Largest gap between a parametric fit's CDF and the bucket fractions above which the
/// buckets themselves are the better description (a two-type mix, a multimodal service).
pub const PARAMETRIC_GAP: f64 = 0.03;

/// Quantiles in an empirical fit (the service-time file holds one per line).
const EMPIRICAL_POINTS: usize = 1000;

/// The parametric families tried and their largest gaps.
pub type Gaps = Vec<(&'static str, f64)>;

/// A service-time distribution fitted to histogram buckets.
#[derive(Clone, Debug, PartialEq)]
pub enum Fitted {
    Lognormal {
        mu: f64,
        sigma: f64,
    },
    Gamma {
        mean: f64,
        cv: f64,
    },
    /// Equally spaced quantiles, linear within each bucket; `above` is the share of requests
    /// above the highest finite bound, placed at that bound (so the mean is then a floor).
    Empirical {
        quantiles: Vec<f64>,
        above: f64,
    },
}

impl Fitted {
    pub fn family(&self) -> &'static str {
        match self {
            Fitted::Lognormal { .. } => "lognormal",
            Fitted::Gamma { .. } => "gamma",
            Fitted::Empirical { .. } => "empirical",
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            Fitted::Lognormal { mu, sigma } => lognormal_mean_p95(*mu, *sigma).0,
            Fitted::Gamma { mean, .. } => *mean,
            Fitted::Empirical { quantiles, .. } => {
                quantiles.iter().sum::<f64>() / quantiles.len().max(1) as f64
            }
        }
    }

    pub fn p95(&self) -> f64 {
        self.quantile(0.95)
    }

    /// An empirical fit as its service-time file reads it (one value in seconds per line);
    /// None for a parametric one.
    pub fn file_text(&self) -> Option<String> {
        match self {
            Fitted::Empirical { quantiles, .. } => {
                Some(quantiles.iter().map(|q| format!("{q:.6}\n")).collect())
            }
            _ => None,
        }
    }

    /// The quantile `q` (0 < q < 1), s.
    pub fn quantile(&self, q: f64) -> f64 {
        match self {
            Fitted::Lognormal { mu, sigma } => {
                let z = Normal::new(0.0, 1.0).map_or(f64::NAN, |n| n.inverse_cdf(q));
                (mu + z * sigma).exp()
            }
            Fitted::Gamma { mean, cv } => {
                gamma_of(*mean, *cv).map_or(f64::NAN, |g| g.inverse_cdf(q))
            }
            Fitted::Empirical { quantiles, .. } => {
                let i = (q * quantiles.len() as f64) as usize;
                quantiles[i.min(quantiles.len().saturating_sub(1))]
            }
        }
    }
}

/// The empirical distribution the buckets describe: `n` quantiles at `(i + 0.5) / n`, each
/// interpolated linearly between its bucket's bounds (the first bucket starts at 0). None
/// without requests.
pub fn empirical_buckets(bounds: &[f64], counts: &[f64], n: usize) -> Option<Fitted> {
    let total: f64 = counts.iter().sum();
    if total.is_nan() || total <= 0.0 || bounds.is_empty() || n == 0 {
        return None;
    }
    let above = counts.get(bounds.len()).copied().unwrap_or(0.0) / total;
    let top = bounds[bounds.len() - 1];
    let mut quantiles = Vec::with_capacity(n);
    let (mut i, mut below) = (0usize, 0.0f64);
    for k in 0..n {
        let q = (k as f64 + 0.5) / n as f64 * total;
        while i < bounds.len() && below + counts[i] < q {
            below += counts[i];
            i += 1;
        }
        if i >= bounds.len() {
            quantiles.push(top);
            continue;
        }
        let lo = if i == 0 { 0.0 } else { bounds[i - 1] };
        let share = if counts[i] > 0.0 {
            ((q - below) / counts[i]).clamp(0.0, 1.0)
        } else {
            0.0
        };
        quantiles.push(lo + share * (bounds[i] - lo));
    }
    Some(Fitted::Empirical { quantiles, above })
}

/// The fit of one family (`lognormal`, `gamma`, `empirical`) to the buckets, and its largest
/// gap (0 for the empirical, which matches every bucket by construction).
pub fn fit_as(family: &str, bounds: &[f64], counts: &[f64]) -> Option<(Fitted, f64)> {
    match family {
        "lognormal" => fit_lognormal_buckets(bounds, counts)
            .map(|(mu, sigma, g)| (Fitted::Lognormal { mu, sigma }, g)),
        "gamma" => {
            fit_gamma_buckets(bounds, counts).map(|(mean, cv, g)| (Fitted::Gamma { mean, cv }, g))
        }
        _ => empirical_buckets(bounds, counts, EMPIRICAL_POINTS).map(|f| (f, 0.0)),
    }
}

/// The service time the buckets show: the lognormal or the gamma, whichever is closer, when
/// its largest gap is at most `tolerance` (at least [`PARAMETRIC_GAP`]; a sample of n
/// latencies wanders about 1.36 / sqrt(n) from its own distribution's CDF); else the
/// empirical distribution. Also the parametric gaps found, `(family, gap)`, for the report.
pub fn fit_service_within(
    bounds: &[f64],
    counts: &[f64],
    tolerance: f64,
) -> Option<(Fitted, f64, Gaps)> {
    let mut tried = Vec::new();
    let mut best: Option<(Fitted, f64)> = None;
    for family in ["lognormal", "gamma"] {
        if let Some((f, g)) = fit_as(family, bounds, counts) {
            tried.push((family, g));
            if best.as_ref().is_none_or(|b| g < b.1) {
                best = Some((f, g));
            }
        }
    }
    match best {
        Some((f, g)) if g <= tolerance => Some((f, g, tried)),
        _ => {
            let (f, g) = fit_as("empirical", bounds, counts)?;
            Some((f, g, tried))
        }
    }
}
