//! Distributions of durations and counts, as a service model states them.

use super::rng::KeyedRng;
use rand::distr::Distribution;
use serde::{Deserialize, Serialize};

/// A duration distribution, in seconds. The YAML form is tagged by `dist`:
/// `{dist: deterministic, value: 0.1}`, `{dist: exponential, mean: 0.1}`,
/// `{dist: lognormal, mean: 0.12, p95: 0.3}` (or `median` for `mean`, `p99` for `p95`: it
/// is kept as its mean and p95), `{dist: gamma, mean: 0.1, cv: 0.5}`,
/// `{dist: uniform, min: 0.05, max: 0.2}`, `{dist: empirical, file: samples.txt}` (one value
/// in seconds per line, sampled uniformly).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "dist",
    rename_all = "lowercase",
    deny_unknown_fields,
    try_from = "DistInput"
)]
pub enum DurationDist {
    Deterministic {
        value: f64,
    },
    Exponential {
        mean: f64,
    },
    Lognormal {
        mean: f64,
        p95: f64,
    },
    Gamma {
        mean: f64,
        cv: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Empirical {
        file: String,
        #[serde(skip)]
        samples: Vec<f64>,
    },
}

/// A duration distribution as written: a lognormal may be given by its median and its
/// p95 or p99, as measured latencies usually are.
#[derive(Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
enum DistInput {
    Deterministic {
        value: f64,
    },
    Exponential {
        mean: f64,
    },
    Lognormal {
        mean: Option<f64>,
        median: Option<f64>,
        p95: Option<f64>,
        p99: Option<f64>,
    },
    Gamma {
        mean: f64,
        cv: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    Empirical {
        file: String,
    },
}

/// z such that P(Z <= z) = 0.95 for a standard normal.
const Z95: f64 = 1.644_853_626_951_472_2;
/// z such that P(Z <= z) = 0.99 for a standard normal.
const Z99: f64 = 2.326_347_874_040_840_8;

impl TryFrom<DistInput> for DurationDist {
    type Error = String;
    fn try_from(d: DistInput) -> Result<Self, String> {
        Ok(match d {
            DistInput::Deterministic { value } => DurationDist::Deterministic { value },
            DistInput::Exponential { mean } => DurationDist::Exponential { mean },
            DistInput::Gamma { mean, cv } => DurationDist::Gamma { mean, cv },
            DistInput::Uniform { min, max } => DurationDist::Uniform { min, max },
            DistInput::Empirical { file } => DurationDist::Empirical {
                file,
                samples: Vec::new(),
            },
            DistInput::Lognormal {
                mean,
                median,
                p95,
                p99,
            } => {
                let tail = match (p95, p99) {
                    (Some(q), None) => (q, Z95),
                    (None, Some(q)) => (q, Z99),
                    _ => return Err("a lognormal takes one of p95 or p99".into()),
                };
                match (mean, median) {
                    (Some(mean), None) if tail.1 == Z95 => {
                        DurationDist::Lognormal { mean, p95: tail.0 }
                    }
                    (Some(_), None) => {
                        return Err(
                            "a lognormal given by its mean takes p95 (or give its median with p99)"
                                .into(),
                        );
                    }
                    (None, Some(m)) => {
                        let (q, z) = tail;
                        if !(m.is_finite() && m > 0.0 && q.is_finite() && q > m) {
                            return Err(format!(
                                "median ({m}) must be > 0 and below the percentile ({q})"
                            ));
                        }
                        // median = e^mu, q = e^(mu + z s).
                        let s = (q / m).ln() / z;
                        DurationDist::Lognormal {
                            mean: m * (s * s / 2.0).exp(),
                            p95: m * (Z95 * s).exp(),
                        }
                    }
                    _ => return Err("a lognormal takes one of mean or median".into()),
                }
            }
        })
    }
}

/// A ready-to-sample form of a [`DurationDist`].
#[derive(Clone, Debug)]
pub enum Sampler {
    Const(f64),
    Exp(f64),
    LogNormal(rand_distr::LogNormal<f64>),
    Gamma(rand_distr::Gamma<f64>),
    Uniform(f64, f64),
    Empirical(Vec<f64>),
}

impl DurationDist {
    /// The mean, in seconds.
    pub fn mean(&self) -> f64 {
        match self {
            DurationDist::Deterministic { value } => *value,
            DurationDist::Exponential { mean }
            | DurationDist::Lognormal { mean, .. }
            | DurationDist::Gamma { mean, .. } => *mean,
            DurationDist::Uniform { min, max } => (min + max) / 2.0,
            DurationDist::Empirical { samples, .. } => {
                if samples.is_empty() {
                    0.0
                } else {
                    samples.iter().sum::<f64>() / samples.len() as f64
                }
            }
        }
    }

    /// Check the parameters; the error says which one is wrong and why.
    pub fn validate(&self) -> Result<(), String> {
        let pos = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be > 0 (found {v})"))
            }
        };
        let nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(format!("{name} must be >= 0 (found {v})"))
            }
        };
        match self {
            DurationDist::Deterministic { value } => nonneg("value", *value),
            DurationDist::Exponential { mean } => pos("mean", *mean),
            DurationDist::Lognormal { mean, p95 } => {
                pos("mean", *mean)?;
                pos("p95", *p95)?;
                if p95 <= mean {
                    return Err(format!(
                        "p95 ({p95}) must be above the mean ({mean}) for a lognormal"
                    ));
                }
                self.sampler().map(|_| ())
            }
            DurationDist::Gamma { mean, cv } => {
                pos("mean", *mean)?;
                pos("cv", *cv)
            }
            DurationDist::Uniform { min, max } => {
                nonneg("min", *min)?;
                if max < min {
                    return Err(format!("max ({max}) must be >= min ({min})"));
                }
                Ok(())
            }
            DurationDist::Empirical { file, samples } => {
                if samples.is_empty() {
                    return Err(format!("no samples loaded from {file}"));
                }
                Ok(())
            }
        }
    }

    /// The lognormal's (mu, sigma) from its mean and 95th percentile:
    /// mean = exp(mu + s²/2), p95 = exp(mu + z·s) => s²/2 - z·s + ln(p95/mean) = 0.
    fn lognormal_params(mean: f64, p95: f64) -> Result<(f64, f64), String> {
        let c = (p95 / mean).ln();
        let disc = Z95 * Z95 - 2.0 * c;
        if disc < 0.0 {
            return Err(format!(
                "no lognormal has mean {mean} and p95 {p95}: p95/mean may be at most {:.3}",
                (Z95 * Z95 / 2.0).exp()
            ));
        }
        let s = Z95 - disc.sqrt();
        Ok((mean.ln() - s * s / 2.0, s))
    }

    /// Build the sampler.
    pub fn sampler(&self) -> Result<Sampler, String> {
        Ok(match self {
            DurationDist::Deterministic { value } => Sampler::Const(*value),
            DurationDist::Exponential { mean } => Sampler::Exp(*mean),
            DurationDist::Lognormal { mean, p95 } => {
                let (mu, s) = Self::lognormal_params(*mean, *p95)?;
                Sampler::LogNormal(rand_distr::LogNormal::new(mu, s).map_err(|e| e.to_string())?)
            }
            DurationDist::Gamma { mean, cv } => {
                let shape = 1.0 / (cv * cv);
                Sampler::Gamma(
                    rand_distr::Gamma::new(shape, mean / shape).map_err(|e| e.to_string())?,
                )
            }
            DurationDist::Uniform { min, max } => Sampler::Uniform(*min, *max),
            DurationDist::Empirical { samples, .. } => Sampler::Empirical(samples.clone()),
        })
    }

    /// Read the samples of an empirical distribution from `dir/file`.
    pub fn load(&mut self, dir: &std::path::Path) -> Result<(), String> {
        if let DurationDist::Empirical { file, samples } = self {
            let path = dir.join(&*file);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            samples.clear();
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let v: f64 = l.parse().map_err(|_| {
                    format!(
                        "{}:{}: `{l}` is not a number of seconds",
                        path.display(),
                        i + 1
                    )
                })?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(format!(
                        "{}:{}: a duration must be >= 0 (found {v})",
                        path.display(),
                        i + 1
                    ));
                }
                samples.push(v);
            }
        }
        Ok(())
    }
}

impl Sampler {
    /// One draw, in seconds.
    #[inline]
    pub fn sample(&self, rng: &mut KeyedRng) -> f64 {
        match self {
            Sampler::Const(v) => *v,
            Sampler::Exp(m) => rng.exp(*m),
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Gamma(d) => d.sample(rng),
            Sampler::Uniform(a, b) => a + (b - a) * rng.unit(),
            Sampler::Empirical(s) => s[rng.below(s.len() as u64) as usize],
        }
    }

    /// The mean, in seconds: exact for constant, exponential, uniform and empirical
    /// samplers, estimated from 4,096 fixed draws for the others (their parameters are not
    /// kept).
    pub fn mean(&self) -> f64 {
        match self {
            Sampler::Const(v) | Sampler::Exp(v) => *v,
            Sampler::Uniform(a, b) => (a + b) / 2.0,
            Sampler::Empirical(s) => s.iter().sum::<f64>() / s.len().max(1) as f64,
            Sampler::LogNormal(_) | Sampler::Gamma(_) => {
                let n = 4096;
                (0..n)
                    .map(|k| self.sample(&mut KeyedRng::new(0, super::rng::Stream::Work, k)))
                    .sum::<f64>()
                    / n as f64
            }
        }
    }

    /// One draw, in whole microseconds (at least 0).
    #[inline]
    pub fn sample_micros(&self, rng: &mut KeyedRng) -> i64 {
        (self.sample(rng) * 1e6 + 0.5).max(0.0) as i64
    }
}

/// A count distribution (fan-out jobs per request): `{dist: fixed, value: 2}`,
/// `{dist: poisson, mean: 1.5}`, `{dist: geometric, mean: 2}` (on 0, 1, 2, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum CountDist {
    Fixed { value: u32 },
    Poisson { mean: f64 },
    Geometric { mean: f64 },
}

impl CountDist {
    pub fn validate(&self) -> Result<(), String> {
        match self {
            CountDist::Fixed { .. } => Ok(()),
            CountDist::Poisson { mean } | CountDist::Geometric { mean } => {
                if mean.is_finite() && *mean >= 0.0 && *mean <= 1e6 {
                    Ok(())
                } else {
                    Err(format!("mean must be between 0 and 1e6 (found {mean})"))
                }
            }
        }
    }

    pub fn mean(&self) -> f64 {
        match self {
            CountDist::Fixed { value } => *value as f64,
            CountDist::Poisson { mean } | CountDist::Geometric { mean } => *mean,
        }
    }

    /// The sampler of this distribution, its constants computed once.
    pub fn sampler(&self) -> CountSampler {
        let mean = self.mean();
        let kind = match *self {
            CountDist::Fixed { value } => CountKind::Fixed(value),
            CountDist::Poisson { mean } if mean <= 0.0 => CountKind::Fixed(0),
            CountDist::Poisson { mean } if mean < 30.0 => CountKind::Knuth((-mean).exp()),
            CountDist::Poisson { mean } => match rand_distr::Poisson::new(mean) {
                Ok(d) => CountKind::Poisson(d),
                Err(_) => CountKind::Fixed(0),
            },
            CountDist::Geometric { mean } if mean <= 0.0 => CountKind::Fixed(0),
            CountDist::Geometric { mean } => CountKind::Geometric((1.0 - 1.0 / (1.0 + mean)).ln()),
        };
        CountSampler { kind, mean }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut KeyedRng) -> u32 {
        self.sampler().sample(rng)
    }
}

/// A [`CountDist`] ready to draw from (what a run keeps per fan-out).
#[derive(Clone, Debug)]
pub struct CountSampler {
    kind: CountKind,
    mean: f64,
}

#[derive(Clone, Debug)]
enum CountKind {
    Fixed(u32),
    /// Poisson with a small mean by Knuth's method: `exp(-mean)`.
    Knuth(f64),
    Poisson(rand_distr::Poisson<f64>),
    /// Geometric (failures before the first success): `ln(1 - p)`.
    Geometric(f64),
}

impl CountSampler {
    /// The distribution's mean.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, rng: &mut KeyedRng) -> u32 {
        match &self.kind {
            CountKind::Fixed(v) => *v,
            CountKind::Knuth(l) => {
                let mut k = 0;
                let mut p = 1.0;
                loop {
                    p *= rng.unit_open0();
                    if p <= *l {
                        return k;
                    }
                    k += 1;
                }
            }
            CountKind::Poisson(d) => d.sample(rng) as u32,
            CountKind::Geometric(ln_q) => (rng.unit_open0().ln() / ln_q).floor() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Stream;

    #[test]
    fn a_lognormal_is_given_by_its_mean_or_median_and_its_p95_or_p99() {
        let read = |y: &str| serde_saphyr::from_str::<DurationDist>(y).map_err(|e| e.to_string());
        // The (mu, s) the engine samples from must have the median and percentile given.
        let median_and = |d: &DurationDist, z: f64| {
            let DurationDist::Lognormal { mean, p95 } = d else {
                panic!("{d:?}")
            };
            let (mu, s) = DurationDist::lognormal_params(*mean, *p95).unwrap();
            (mu.exp(), (mu + z * s).exp())
        };
        let d = read("{dist: lognormal, median: 0.2, p95: 0.45}").unwrap();
        let (m, q) = median_and(&d, Z95);
        assert!((m - 0.2).abs() < 1e-9 && (q - 0.45).abs() < 1e-9, "{m} {q}");
        let d = read("{dist: lognormal, median: 0.2, p99: 0.9}").unwrap();
        let (m, q) = median_and(&d, Z99);
        assert!((m - 0.2).abs() < 1e-9 && (q - 0.9).abs() < 1e-9, "{m} {q}");
        assert_eq!(
            read("{dist: lognormal, mean: 0.25, p95: 0.6}").unwrap(),
            DurationDist::Lognormal {
                mean: 0.25,
                p95: 0.6
            }
        );
        for (bad, says) in [
            (
                "{dist: lognormal, mean: 1, median: 1, p95: 2}",
                "one of mean or median",
            ),
            (
                "{dist: lognormal, median: 1, p95: 2, p99: 3}",
                "one of p95 or p99",
            ),
            ("{dist: lognormal, median: 1}", "one of p95 or p99"),
            (
                "{dist: lognormal, median: 2, p95: 1}",
                "below the percentile",
            ),
            ("{dist: lognormal, mean: 1, p99: 3}", "takes p95"),
        ] {
            let e = read(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    fn stats(d: &DurationDist) -> (f64, f64) {
        let s = d.sampler().unwrap();
        let mut r = KeyedRng::new(3, Stream::Work, 0);
        let mut v: Vec<f64> = (0..200_000).map(|_| s.sample(&mut r)).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        (mean, v[(v.len() as f64 * 0.95) as usize])
    }

    #[test]
    fn lognormal_matches_mean_and_p95() {
        let (m, p95) = stats(&DurationDist::Lognormal {
            mean: 0.12,
            p95: 0.3,
        });
        assert!((m - 0.12).abs() / 0.12 < 0.02, "mean {m}");
        assert!((p95 - 0.3).abs() / 0.3 < 0.03, "p95 {p95}");
        assert!(
            DurationDist::Lognormal {
                mean: 1.0,
                p95: 100.0
            }
            .validate()
            .is_err()
        );
        assert!(
            DurationDist::Lognormal {
                mean: 1.0,
                p95: 0.5
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn gamma_and_counts() {
        let (m, _) = stats(&DurationDist::Gamma { mean: 2.0, cv: 0.5 });
        assert!((m - 2.0).abs() < 0.03, "{m}");
        let mut r = KeyedRng::new(3, Stream::FanOut, 0);
        for d in [
            CountDist::Poisson { mean: 1.5 },
            CountDist::Poisson { mean: 50.0 },
            CountDist::Geometric { mean: 2.0 },
        ] {
            let n = 100_000;
            let m: f64 = (0..n).map(|_| d.sample(&mut r) as f64).sum::<f64>() / n as f64;
            assert!((m - d.mean()).abs() / d.mean() < 0.03, "{d:?}: {m}");
        }
    }
}
