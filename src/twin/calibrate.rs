//! `scaletwin calibrate`: estimate a model's parameters from a recording bundle.
//!
//! Starting from a model folder (its structure: deployments, queues, bindings, SLOs), each
//! parameter the data can measure is replaced by its estimate, and `calibration.json` lists
//! every estimate with its interval, the query it came from and a goodness-of-fit figure:
//!
//! - **service time**, per deployment with a latency histogram: the buckets summed over the
//!   steps where the load per ready pod was low (at most half the busiest step's) throughout
//!   the rate window before them (so queueing is small and latency is service time),
//!   fitted by a lognormal whose CDF matches the bucket fractions (least squares of `ln le`
//!   on the normal quantile of each bucket's fraction), or by a gamma (least squares of the
//!   CDF over a refined grid of mean and cv) when that is closer; when neither comes within
//!   3 points of every bucket, or the 95 % Kolmogorov-Smirnov bound 1.36/sqrt(n) for the n
//!   requests fitted when that is wider (a mix of request types), the buckets themselves (an empirical
//!   distribution, linear within each bucket, written next to service.yaml). Fit: the
//!   largest gap between fitted and observed bucket fractions. Interval: the fits of the two
//!   halves of the steps.
//! - **CPU** seconds per request and idle CPU: least squares of the deployment's CPU rate on
//!   its running pods (those with a CPU sample: starting and terminating pods burn idle CPU
//!   too; the ready pods when the series are not per pod) and its successful request rate.
//!   Fit: R².
//! - **memory** base and per request in flight (in flight by Little's law): least squares on
//!   per-pod memory. Fit: R².
//! - **queue consumers** are read from their own series: jobs processed per second (`jobs`)
//!   for load and CPU, their processing-time histogram (`job_latency`) for the service time.
//! - **fan-out** ratios: a queue's consumer's jobs per success of its producer over the
//!   range (one producer, one consumer that consumes only that queue, both recorded).
//! - **start-up**: created -> ready of every pod created within the range, less the model's
//!   readiness initial delay; a lognormal by the moments of the logs.
//! - **concurrency** is identified only where saturation was observed (steps where most
//!   successful requests were slower than the service time's p90, throughout the rate
//!   window): there the successes per ready pod per second times the mean service time is
//!   the number of slots. Otherwise the model's value is kept and the lower bound the data
//!   gives (Little's law) is reported.

use super::TwinError;
use super::bundle::Bundle;
use super::data::{Histograms, key, ols, per_pod_last, summed};
pub use super::estimate::{
    CALIBRATION_FORMAT_VERSION, Calibration, Estimate, NotIdentified, ok_rate, round,
};
use super::fit::{
    Fitted, PARAMETRIC_GAP, fit_as, fit_lognormal_buckets, fit_service_within, lognormal_mean_p95,
};
use super::structure::{Base, StructureOptions};
use crate::engine::dist::DurationDist;
use crate::scenario::ServiceFile;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What calibrate needs.
#[derive(Clone, Debug)]
pub struct CalibrateOptions {
    pub bundle: PathBuf,
    /// The structure whose parameters are estimated: a base model, or manifests (default:
    /// the bundle's, when it has some).
    pub structure: StructureOptions,
    pub out: PathBuf,
}

/// Share of the busiest per-pod load below which steps count as quiet for the service-time
/// fit.
const QUIET: f64 = 0.5;

struct Ctx<'a> {
    b: &'a Bundle,
    dep: &'a str,
    /// The deployment's load and latency series: `requests` and `latency` for a service,
    /// `jobs` and `job_latency` (processing time) for a queue consumer.
    load: &'static str,
    lat: &'static str,
    /// Per step: (time key, request rate, ready pods), where both are known and pods > 0.
    steps: Vec<(i64, f64, f64)>,
}

impl Ctx<'_> {
    fn q(&self, k: &str) -> String {
        self.b.query(self.dep, k)
    }
}

/// Per step: (time key, successful requests per second, ready pods), where both are known
/// and pods > 0 (a refusal costs no service time and no CPU).
fn load_per_step(b: &Bundle, dep: &str, load: &str) -> Vec<(i64, f64, f64)> {
    let rate = ok_rate(b, dep, load);
    let ready = summed(b, dep, "ready_replicas");
    rate.iter()
        .filter_map(|(t, r)| ready.get(t).filter(|p| **p > 0.0).map(|p| (*t, *r, *p)))
        .collect()
}

fn service_time(c: &Ctx, out: &mut Calibration) -> Result<(Fitted, Histograms), TwinError> {
    let h = Histograms::read(c.b, c.dep, c.lat)?;
    let steps = &c.steps;
    let busiest = steps.iter().map(|s| s.1 / s.2).fold(0.0, f64::max);
    if busiest <= 0.0 {
        return Err(TwinError::Input(format!(
            "{}: no requests recorded in the range (`{}`); record a period with load",
            c.dep,
            c.q(c.load)
        )));
    }
    let step_ms = key(c.b.info.step_s);
    // A histogram sample at t covers the rate window before it: a step is quiet when every
    // step of that window was (a spike's queueing stays in the window after the spike).
    let window_ms = crate::engine::output::parse_duration(&c.b.info.rate_window)
        .map(key)
        .unwrap_or(step_ms);
    let busy: Vec<i64> = steps
        .iter()
        .filter(|s| s.1 / s.2 > QUIET * busiest)
        .map(|s| s.0)
        .collect();
    let quiet: Vec<i64> = steps
        .iter()
        .filter(|s| s.1 > 0.0)
        .map(|s| s.0)
        .filter(|t| {
            let from = busy.partition_point(|b| *b < t - window_ms - step_ms);
            busy.get(from).is_none_or(|b| *b > *t)
        })
        .collect();
    let pick = |ts: &[i64]| {
        let mut acc = vec![0.0; h.bounds.len() + 1];
        for t in ts {
            for (a, v) in acc.iter_mut().zip(h.sum_over(t - step_ms, *t)) {
                *a += v;
            }
        }
        acc
    };
    let used = if quiet.len() >= 4 {
        quiet
    } else {
        steps.iter().filter(|s| s.1 > 0.0).map(|s| s.0).collect()
    };
    let all = pick(&used);
    if fit_lognormal_buckets(&h.bounds, &all).is_none() {
        return Err(TwinError::Input(format!(
            "{}: the latency histogram (`{}`) has fewer than two buckets between 0.2 % and 99.8 % of the requests; its buckets cannot locate the service time (add buckets around the typical latency)",
            c.dep,
            c.q(c.lat)
        )));
    }
    // A sample of n requests wanders about 1.36 / sqrt(n) from its own distribution's CDF
    // (the 95 % Kolmogorov-Smirnov bound): a family within that is not refuted by the data.
    let requests = all.iter().sum::<f64>() * c.b.info.step_s;
    let tolerance = PARAMETRIC_GAP.max(1.36 / requests.max(1.0).sqrt());
    let Some((fitted, fit_gap, tried)) = fit_service_within(&h.bounds, &all, tolerance) else {
        return Err(TwinError::Input(format!(
            "{}: no requests in the latency histogram (`{}`)",
            c.dep,
            c.q(c.lat)
        )));
    };
    let family = fitted.family();
    let (mean, p95) = (fitted.mean(), fitted.p95());
    let value = written(&fitted, c.dep);
    let half = used.len() / 2;
    let interval = [&used[..half], &used[half..]]
        .iter()
        .filter_map(|ts| fit_as(family, &h.bounds, &pick(ts)).map(|f| f.0.mean()))
        .fold(None, |acc: Option<(f64, f64)>, v| {
            Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
        });
    let gaps = tried
        .iter()
        .map(|(f, g)| format!("{f} {g:.3}"))
        .collect::<Vec<_>>()
        .join(", ");
    let fit = match &fitted {
        Fitted::Empirical { above, .. } => format!(
            "no parametric family within {tolerance:.3} of the bucket fractions ({gaps}; the larger of 0.03 and 1.36/sqrt({requests:.0} requests)): the buckets themselves, linear within each{}",
            if *above > 0.0 {
                format!(
                    "; {:.2} % of requests above the highest bucket are placed at it (the mean is a floor)",
                    above * 100.0
                )
            } else {
                String::new()
            }
        ),
        _ => format!("largest gap between fitted and observed bucket fractions ({gaps})"),
    };
    out.estimates.push(Estimate {
        deployment: c.dep.into(),
        parameter: "work.service_time".into(),
        value,
        figure: format!("{family}, mean {mean:.4} s, p95 {p95:.4} s"),
        estimate: mean,
        interval,
        interval_kind: "mean of each half of the steps".into(),
        source: vec![c.q(c.lat), c.q(c.load), c.q("ready_replicas")],
        fit,
        fit_value: fit_gap,
        n: used.len(),
        summary: [("mean".to_string(), mean), ("p95".to_string(), p95)].into(),
    });
    Ok((fitted, h))
}

/// A fitted service time as service.yaml writes it (an empirical one names its file).
pub(super) fn written(fitted: &Fitted, dep: &str) -> serde_json::Value {
    match fitted {
        Fitted::Gamma { mean, cv } => {
            serde_json::json!({"dist": "gamma", "mean": round(*mean, 4), "cv": round(*cv, 4)})
        }
        Fitted::Lognormal { .. } => serde_json::json!({
            "dist": "lognormal",
            "mean": round(fitted.mean(), 4),
            "p95": round(fitted.p95(), 4)
        }),
        Fitted::Empirical { .. } => {
            serde_json::json!({"dist": "empirical", "file": empirical_file(dep)})
        }
    }
}

/// The service-time file an empirical fit writes next to service.yaml.
pub(super) fn empirical_file(dep: &str) -> String {
    format!("service_time-{dep}.txt")
}

/// Share of a step's successful requests slower than the service time's p90 at which the step
/// counts as saturated: unloaded, a tenth are; when every slot is busy and requests queue,
/// most are.
const SATURATED: f64 = 0.5;

/// Which steps were saturated (every slot of every ready pod busy), how that was read, and
/// the query it came from.
struct Saturation {
    at: BTreeMap<i64, bool>,
    what: &'static str,
    source: String,
}

impl Saturation {
    /// A service: most successes were slower than the service time's p90 (they queued).
    fn of_latency(c: &Ctx, h: &Histograms, fitted: &Fitted) -> Saturation {
        let cut = h.bounds.partition_point(|b| *b < fitted.quantile(0.9));
        let ok = ok_rate(c.b, c.dep, c.load);
        let at =
            h.at.iter()
                .filter_map(|(t, hist)| {
                    let served = *ok.get(t)?;
                    let total: f64 = hist.iter().sum();
                    let slow: f64 = hist.iter().skip(cut + 1).sum();
                    // Fast refusals land in the lowest bucket: judge the successes' latency.
                    let answered = total.min(served).max(f64::MIN_POSITIVE);
                    Some((*t, cut < h.bounds.len() && slow / answered >= SATURATED))
                })
                .collect();
        Saturation {
            at,
            what: "most requests queued",
            source: c.q(c.lat),
        }
    }

    /// A queue consumer: its queue held at least one waiting job per ready pod (the value its
    /// KEDA list or stream trigger read), so no pod waited for work. `None` when the bundle
    /// has no such trigger value.
    fn of_backlog(c: &Ctx) -> Option<Saturation> {
        let waiting = super::data::summed_where(c.b, c.dep, "keda_metric", |series| {
            series
                .labels
                .get("scaler")
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("redis"))
        });
        if waiting.is_empty() {
            return None;
        }
        let at = c
            .steps
            .iter()
            .filter_map(|(t, _, pods)| waiting.get(t).map(|w| (*t, *w >= *pods)))
            .collect();
        Some(Saturation {
            at,
            what: "the queue held a job per ready pod",
            source: c.q("keda_metric"),
        })
    }
}

/// Per-pod concurrency from the throughput ceiling: at a saturated step every slot of every
/// ready pod is busy, so the successes per pod per second times the mean service time is the
/// concurrency. Identified from at least four steps saturated throughout the rate window
/// before them (per pod: over the window's mean ready pods); else kept, with Little's law's
/// lower bound.
fn concurrency(
    c: &Ctx,
    saturation: &Saturation,
    fitted: &Fitted,
    kept: u32,
    out: &mut Calibration,
) -> Option<u32> {
    let mean = fitted.mean();
    let ok = ok_rate(c.b, c.dep, c.load);
    let step_ms = key(c.b.info.step_s);
    let window_ms = crate::engine::output::parse_duration(&c.b.info.rate_window)
        .map(key)
        .unwrap_or(step_ms);
    // Per step: (saturated, ready pods, successes per second).
    let per: BTreeMap<i64, (bool, f64, f64)> = c
        .steps
        .iter()
        .filter_map(|(t, _, pods)| {
            let saturated = *saturation.at.get(t)?;
            let served = *ok.get(t)?;
            Some((*t, (saturated && served > 0.0, *pods, served)))
        })
        .collect();
    // Per step with a full rate window: whether every step of the window was saturated, and
    // the successes per second over the window's mean ready pods (a rate is the window's
    // mean; pods that came or went within it served for part of it).
    let steady: Vec<(bool, f64)> = per
        .iter()
        .filter_map(|(t, (_, _, served))| {
            let w = per.range(*t - window_ms - step_ms + 1..=*t);
            let n = w.clone().count();
            let pods = w.clone().map(|(_, (_, p, _))| *p).sum::<f64>() / n.max(1) as f64;
            let all = w.clone().all(|(_, (s, _, _))| *s);
            (n as i64 * step_ms > window_ms && pods > 0.0).then_some((all, served / pods))
        })
        .collect();
    let mut samples: Vec<f64> = steady
        .iter()
        .filter(|(saturated, _)| *saturated)
        .map(|(_, x)| x * mean)
        .collect();
    let busiest = steady.iter().map(|(_, x)| *x).fold(0.0, f64::max);
    if samples.len() < 4 {
        // The busiest per-pod load times the mean service time is the work in service per
        // pod (Little's law): at least that many requests were served at once.
        let lower = busiest * mean;
        if (kept as f64) < lower.floor() {
            // The value kept is below what the data shows served at once: at least the bound.
            let value = lower.ceil() as u32;
            out.estimates.push(Estimate {
                deployment: c.dep.into(),
                parameter: "serving.concurrency".into(),
                value: serde_json::json!(value),
                figure: format!(
                    "{value}: no saturation observed, but {lower:.2} requests were in service per pod at the busiest step (Little's law), more than the {kept} given; a lower bound, raise it with --concurrency DEPLOYMENT=N"
                ),
                estimate: lower,
                interval: None,
                interval_kind: "a lower bound (Little's law at the busiest step)".into(),
                source: vec![c.q(c.load), c.q(c.lat), c.q("ready_replicas")],
                fit: "none (a bound)".into(),
                fit_value: 0.0,
                n: c.steps.len(),
                summary: BTreeMap::new(),
            });
            return Some(value);
        }
        out.not_identified.push(NotIdentified {
            deployment: c.dep.into(),
            parameter: "serving.concurrency".into(),
            kept: kept.to_string(),
            reason: format!(
                "no saturation observed ({} steps where {}, 4 needed): the data shows at least {lower:.2} requests in service per pod at the busiest step (Little's law); the model keeps {kept} (set it with --concurrency DEPLOYMENT=N, the Deployment's scaletwin.dev/concurrency annotation or the base model)",
                samples.len(),
                saturation.what
            ),
        });
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let median = at(0.5);
    let value = (median.round() as u32).max(1);
    out.estimates.push(Estimate {
        deployment: c.dep.into(),
        parameter: "serving.concurrency".into(),
        value: serde_json::json!(value),
        figure: format!("{value} (throughput ceiling x mean service time: {median:.2})"),
        estimate: median,
        interval: Some((at(0.25), at(0.75))),
        interval_kind: format!("quartiles over the saturated steps ({})", saturation.what),
        source: vec![
            c.q(c.load),
            saturation.source.clone(),
            c.q("ready_replicas"),
        ],
        fit: "distance of the median from the nearest whole number".into(),
        fit_value: (median - value as f64).abs(),
        n: samples.len(),
        summary: BTreeMap::new(),
    });
    Some(value)
}

/// Per step, the pods with a CPU sample: every running container burns its idle CPU, the
/// starting and the terminating as well as the ready. None when the series are not per pod.
fn pods_burning(b: &Bundle, dep: &str) -> Option<BTreeMap<i64, f64>> {
    let series = b.get(dep, "cpu");
    if series.is_empty() || series.iter().any(|s| !s.labels.contains_key("pod")) {
        return None;
    }
    let mut out = BTreeMap::new();
    for s in series {
        for (t, v) in &s.samples {
            if v.is_finite() {
                *out.entry(key(*t)).or_insert(0.0) += 1.0;
            }
        }
    }
    Some(out)
}

fn cpu(c: &Ctx, out: &mut Calibration) -> Option<(f64, f64)> {
    let cpu = summed(c.b, c.dep, "cpu");
    let burning = pods_burning(c.b, c.dep);
    let rows: Vec<(f64, f64, f64)> = c
        .steps
        .iter()
        .filter_map(|(t, r, p)| {
            let pods = burning.as_ref().map_or(Some(*p), |b| b.get(t).copied())?;
            cpu.get(t).map(|u| (pods, *r, *u))
        })
        .collect();
    let x: Vec<Vec<f64>> = rows.iter().map(|r| vec![r.0, r.1]).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.2).collect();
    let Some((beta, se, r2)) = ols(&x, &y) else {
        out.not_identified.push(NotIdentified {
            deployment: c.dep.into(),
            parameter: "work.cpu_seconds_per_request".into(),
            kept: "(the model's)".into(),
            reason: format!(
                "too few steps with CPU, request rate and ready pods, or no variation in them (`{}`)",
                c.q("cpu")
            ),
        });
        return None;
    };
    let (idle, per) = (beta[0].max(0.0), beta[1].max(0.0));
    let src = vec![c.q("cpu"), c.q(c.load), c.q("ready_replicas")];
    out.estimates.push(Estimate {
        deployment: c.dep.into(),
        parameter: "work.cpu_seconds_per_request".into(),
        value: serde_json::json!(round(per, 4)),
        figure: format!("{per:.4} CPU s per request"),
        estimate: per,
        interval: Some((per - 1.96 * se[1], per + 1.96 * se[1])),
        interval_kind: "95 % (standard error)".into(),
        source: src.clone(),
        fit: "R² of CPU rate on running pods and request rate".into(),
        fit_value: r2,
        n: rows.len(),
        summary: BTreeMap::new(),
    });
    out.estimates.push(Estimate {
        deployment: c.dep.into(),
        parameter: "work.idle_cpu_millicores".into(),
        value: serde_json::json!(round(idle * 1000.0, 4)),
        figure: format!("{:.1} millicores idle per pod", idle * 1000.0),
        estimate: idle * 1000.0,
        interval: Some((
            (beta[0] - 1.96 * se[0]) * 1000.0,
            (beta[0] + 1.96 * se[0]) * 1000.0,
        )),
        interval_kind: "95 % (standard error)".into(),
        source: src,
        fit: "R² of CPU rate on running pods and request rate".into(),
        fit_value: r2,
        n: rows.len(),
        summary: BTreeMap::new(),
    });
    Some((idle, per))
}

fn memory(c: &Ctx, mean_latency: f64, out: &mut Calibration) {
    let mem = summed(c.b, c.dep, "memory");
    // Per pod: memory and requests in flight (rate x latency / pods).
    let rows: Vec<(f64, f64)> = c
        .steps
        .iter()
        .filter_map(|(t, r, p)| mem.get(t).map(|m| (r * mean_latency / p, m / p)))
        .collect();
    let x: Vec<Vec<f64>> = rows.iter().map(|r| vec![1.0, r.0]).collect();
    let y: Vec<f64> = rows.iter().map(|r| r.1 / 1_048_576.0).collect();
    let Some((beta, se, r2)) = ols(&x, &y) else {
        return;
    };
    let src = vec![c.q("memory"), c.q(c.load), c.q("ready_replicas")];
    for (i, (param, what)) in [
        ("work.memory_base_mib", "MiB per pod"),
        ("work.memory_per_inflight_mib", "MiB per request in flight"),
    ]
    .iter()
    .enumerate()
    {
        let v = beta[i].max(0.0);
        out.estimates.push(Estimate {
            deployment: c.dep.into(),
            parameter: param.to_string(),
            value: serde_json::json!(round(v, 4)),
            figure: format!("{v:.2} {what}"),
            estimate: v,
            interval: Some((beta[i] - 1.96 * se[i], beta[i] + 1.96 * se[i])),
            interval_kind: "95 % (standard error)".into(),
            source: src.clone(),
            fit: "R² of memory per pod on requests in flight per pod".into(),
            fit_value: r2,
            n: rows.len(),
            summary: BTreeMap::new(),
        });
    }
}

fn startup(c: &Ctx, readiness_delay_s: f64, out: &mut Calibration) -> Option<DurationDist> {
    let created = per_pod_last(c.b, c.dep, "pod_created");
    let ready = per_pod_last(c.b, c.dep, "pod_ready_time");
    let start = c.b.info.start_unix_s;
    let d: Vec<f64> = created
        .iter()
        .filter(|(_, t)| **t >= start)
        .filter_map(|(pod, t)| ready.get(pod).map(|r| r - t - readiness_delay_s))
        .filter(|d| *d > 0.0)
        .collect();
    if d.len() < 2 {
        out.not_identified.push(NotIdentified {
            deployment: c.dep.into(),
            parameter: "lifecycle.startup".into(),
            kept: "(the model's)".into(),
            reason: format!(
                "{} pod(s) created and ready within the range (`{}`, `{}`); at least 2 are needed",
                d.len(),
                c.q("pod_created"),
                c.q("pod_ready_time")
            ),
        });
        return None;
    }
    let n = d.len() as f64;
    let logs: Vec<f64> = d.iter().map(|v| v.ln()).collect();
    let mu = logs.iter().sum::<f64>() / n;
    let sigma = (logs.iter().map(|l| (l - mu) * (l - mu)).sum::<f64>() / (n - 1.0))
        .sqrt()
        .max(1e-3);
    let (mean, p95) = lognormal_mean_p95(mu, sigma);
    let sample_mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|v| (v - sample_mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    out.estimates.push(Estimate {
        deployment: c.dep.into(),
        parameter: "lifecycle.startup".into(),
        value: serde_json::json!({"dist": "lognormal", "mean": round(mean, 4), "p95": round(p95, 4)}),
        figure: format!("mean {mean:.2} s, p95 {p95:.2} s (created -> ready less the readiness delay {readiness_delay_s} s)"),
        estimate: mean,
        interval: Some((
            sample_mean - 1.96 * sd / n.sqrt(),
            sample_mean + 1.96 * sd / n.sqrt(),
        )),
        interval_kind: "95 % of the sample mean".into(),
        source: vec![c.q("pod_created"), c.q("pod_ready_time")],
        fit: "sample mean of created -> ready less the delay, s".into(),
        fit_value: sample_mean,
        n: d.len(),
        summary: [("mean".to_string(), mean), ("p95".to_string(), p95)].into(),
    });
    Some(DurationDist::Lognormal {
        mean: round(mean, 4),
        p95: round(p95, 4),
    })
}

/// Calibrate: read the bundle and the structure (a base model or the manifests), estimate,
/// write the new model folder (`service.yaml`, the manifests, `calibration.json`).
pub fn calibrate(o: &CalibrateOptions) -> Result<Calibration, TwinError> {
    let b = Bundle::read(&o.bundle)?;
    let bundled = o.bundle.join("manifests");
    let mut structure = o.structure.clone();
    if structure.manifests.is_none() && !b.info.manifests.is_empty() {
        structure.manifests = Some(bundled);
    }
    // Without a base model, the entry is the one recorded deployment that serves requests.
    let serving: Vec<&String> = b
        .info
        .deployments
        .iter()
        .filter(|d| !b.get(d, "requests").is_empty())
        .collect();
    let entry = match serving.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    };
    let name = o
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calibrated".into());
    let base = Base::read(&structure, &name, entry)?;
    let (loaded, mut svc) = (&base.loaded, base.svc.clone());
    let mut out = Calibration {
        format_version: CALIBRATION_FORMAT_VERSION,
        bundle: o.bundle.display().to_string(),
        base_model: base.origin.clone(),
        estimates: Vec::new(),
        not_identified: Vec::new(),
    };
    let mut calibrated = 0;
    // Files written next to service.yaml (empirical service times): name, text.
    let mut files: Vec<(String, String)> = Vec::new();
    for dm in &loaded.model.deployments {
        let name = dm.name.clone();
        if !b.info.deployments.contains(&name) {
            continue;
        }
        calibrated += 1;
        let consumer = !dm.consumes.is_empty();
        let (load, lat) = if consumer {
            ("jobs", "job_latency")
        } else {
            ("requests", "latency")
        };
        let c = Ctx {
            b: &b,
            dep: &name,
            load,
            lat,
            steps: load_per_step(&b, &name, load),
        };
        let Some(spec) = svc.deployments.get_mut(&name) else {
            continue;
        };
        if name == loaded.model.deployments[loaded.model.entry].name
            || !b.get(&name, lat).is_empty()
        {
            let (fitted, h) = service_time(&c, &mut out)?;
            if let Some(text) = fitted.file_text() {
                files.push((empirical_file(&name), text));
            }
            let saturation = if consumer {
                Saturation::of_backlog(&c)
            } else {
                Some(Saturation::of_latency(&c, &h, &fitted))
            };
            match saturation {
                Some(sat) => {
                    if let Some(k) = concurrency(&c, &sat, &fitted, dm.concurrency, &mut out) {
                        spec.serving.concurrency = k;
                    }
                }
                None => out.not_identified.push(NotIdentified {
                    deployment: name.clone(),
                    parameter: "serving.concurrency".into(),
                    kept: dm.concurrency.to_string(),
                    reason: format!(
                        "a consumer's processing time does not show its queue, and the bundle has no queue length for it (`{}` found nothing: KEDA's exporter gives it); the model's value is kept",
                        c.q("keda_metric")
                    ),
                }),
            }
            if let Some(e) = out
                .estimates
                .iter()
                .rfind(|e| e.deployment == name && e.parameter == "work.service_time")
            {
                spec.work.service_time = serde_json::from_value(e.value.clone())
                    .map_err(|x| TwinError::Input(x.to_string()))?;
            }
        }
        let mean = out
            .estimates
            .iter()
            .rfind(|e| e.deployment == name && e.parameter == "work.service_time")
            .map(|e| e.estimate)
            .unwrap_or(0.0);
        if let Some((idle, per)) = cpu(&c, &mut out) {
            spec.work.cpu_seconds_per_request = round(per, 4);
            spec.work.idle_cpu_millicores = round(idle * 1000.0, 4);
        }
        if mean > 0.0 {
            memory(&c, mean, &mut out);
            for e in out.estimates.iter().filter(|e| e.deployment == name) {
                match e.parameter.as_str() {
                    "work.memory_base_mib" => spec.work.memory_base_mib = e.estimate,
                    "work.memory_per_inflight_mib" => {
                        spec.work.memory_per_inflight_mib = e.estimate
                    }
                    _ => {}
                }
            }
        }
        let delay = dm.readiness_initial_delay_us as f64 * 1e-6;
        if let Some(d) = startup(&c, delay, &mut out) {
            spec.lifecycle.startup = d;
        }
    }
    super::links::fan_out(&b, &loaded.model, &mut svc, &mut out);
    super::links::counted_answers(&loaded.model, &mut svc, &mut out);
    if calibrated == 0 {
        return Err(TwinError::Input(format!(
            "the bundle records {} and {} has {}: no deployment in common",
            b.info.deployments.join(", "),
            base.origin,
            loaded
                .model
                .deployments
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if structure.model.is_none() {
        from_the_range(&b, &mut svc, &mut out);
    }
    base.report_assumed(&mut out);
    let base = Base { svc, ..base };
    base.write(
        &o.out,
        &format!("the bundle {}", o.bundle.display()),
        &files,
        &out,
    )?;
    Ok(out)
}

/// A model read from manifests alone takes from the range what the manifests cannot say:
/// the entry's mean request rate as a constant workload over the range's length, and the
/// entry's latency buckets (so simulated quantiles interpolate as the recorded ones do).
fn from_the_range(b: &Bundle, svc: &mut ServiceFile, out: &mut Calibration) {
    let entry = svc.entry.clone();
    let rate = ok_rate(b, &entry, "requests");
    if !rate.is_empty() {
        let mean = rate.values().sum::<f64>() / rate.len() as f64;
        let span = b.info.end_unix_s - b.info.start_unix_s;
        svc.scenario.duration_s = round(span.max(60.0), 4);
        let workload =
            serde_json::json!({"loop": "open", "pattern": "constant", "rate": round(mean, 4)});
        if let Ok(w) = serde_json::from_value(workload.clone()) {
            svc.scenario.workload = w;
        }
        out.estimates.push(Estimate {
            deployment: entry.clone(),
            parameter: "scenario.workload".into(),
            value: workload,
            figure: format!("{mean:.4} successful requests/s on average over {span:.0} s (replace it with your traffic or a recorded trace)"),
            estimate: mean,
            interval: None,
            interval_kind: "none (the range's mean)".into(),
            source: vec![b.query(&entry, "requests")],
            fit: "none".into(),
            fit_value: 0.0,
            n: rate.len(),
            summary: BTreeMap::new(),
        });
    }
    if let Ok(h) = Histograms::read(b, &entry, "latency")
        && !h.bounds.is_empty()
    {
        svc.metrics.latency_buckets_s = h.bounds.clone();
    }
}
