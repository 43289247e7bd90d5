//! `scaletwin calibrate --probe`: the service-time and concurrency estimates from a stepped
//! open-loop load against a running service, for services with little history.
//!
//! The user pins the service's replicas (`--pods`). Each step sends a constant rate for a
//! while with the load tester (its safety limits apply), the next step's rate is `factor`
//! times higher, and the probe stops at the knee: a step whose successes in its second half
//! fall short of the requests sent then (below 95 %), or with under 99 % success, or whose
//! p95 passes three times the first
//! step's, or at the maximum rate. Service time: the raw latencies of the steps at most a
//! third of the highest rate served, fitted as calibrate fits a histogram. Concurrency: at a
//! saturated knee, successes per second per pod in the step's second half times the mean
//! service time.

use super::TwinError;
use super::calibrate::{Calibration, Estimate, NotIdentified, written};
use super::fit::{PARAMETRIC_GAP, fit_service_within};
use super::structure::{Base, StructureOptions};
use crate::loadtest::Scenario;
use crate::loadtest::report::LoadReport;
use crate::loadtest::run::{RunOptions, compressed, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a probe needs.
#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The service's URL.
    pub target: String,
    /// Ready pods serving it during the probe (pinned by the user).
    pub pods: u32,
    /// First step's rate, requests/s.
    pub start_rps: f64,
    /// Each step's rate over the previous one's (> 1).
    pub factor: f64,
    /// Seconds per step.
    pub step_s: f64,
    /// No step above this rate.
    pub max_rps: f64,
    /// Model seconds per wall-clock second of the service (a testbed's --time-scale).
    pub time_scale: f64,
    /// The deployment probed (default: the model's entry).
    pub deployment: Option<String>,
    /// The structure the estimates fill in (a base model, or manifests).
    pub structure: StructureOptions,
    pub out: PathBuf,
}

/// One step: its rate (model time), the load tester's report, the time scale (the report's
/// per-second rows and samples are on the wall clock).
struct Step {
    rps: f64,
    report: LoadReport,
    k: f64,
}

impl Step {
    /// Successes per second in the second half of the step (after a queue has filled).
    fn served_rps(&self) -> f64 {
        let rows = &self.report.series;
        let half = &rows[rows.len() / 2..];
        if half.is_empty() {
            return self.report.ok as f64 / self.report.duration_s.max(1e-9) / self.k;
        }
        half.iter().map(|r| r.ok as f64).sum::<f64>() / half.len() as f64 / self.k
    }

    /// Successes over requests sent in the step's second half: near 1 while the service
    /// keeps up (both counts carry the same arrival noise), the capacity over the rate once
    /// it cannot.
    fn kept_up(&self) -> f64 {
        let rows = &self.report.series;
        let half = &rows[rows.len() / 2..];
        let sent: u64 = half.iter().map(|r| r.sent).sum();
        let ok: u64 = half.iter().map(|r| r.ok).sum();
        if sent == 0 {
            return 1.0;
        }
        ok as f64 / sent as f64
    }

    fn saturated(&self) -> bool {
        self.kept_up() < 0.95 || self.report.success_rate < 0.99
    }
}

impl ProbeOptions {
    fn check(&self) -> Result<(), TwinError> {
        let bad = |m: String| Err(TwinError::Input(m));
        let pos = |v: f64| v.is_finite() && v > 0.0;
        if self.pods == 0 {
            return bad("--pods: give the ready pods serving during the probe (>= 1)".into());
        }
        if !pos(self.start_rps) || !pos(self.max_rps) || self.start_rps > self.max_rps {
            return bad(format!(
                "--probe-start-rps {} and --probe-max-rps {}: both > 0, start <= max",
                self.start_rps, self.max_rps
            ));
        }
        if !(self.factor.is_finite() && self.factor > 1.0 && self.factor <= 10.0) {
            return bad(format!("--probe-factor {}: between 1 and 10", self.factor));
        }
        if !pos(self.step_s) || !pos(self.time_scale) {
            return bad(format!(
                "--probe-step {} s and --probe-time-scale {}: both > 0",
                self.step_s, self.time_scale
            ));
        }
        Ok(())
    }

    /// Send one step of `rps` (model time).
    fn step(&self, rps: f64, seed: u64) -> Result<Step, TwinError> {
        let text = format!(
            "format_version: 1\nname: probe-{rps:.3}\ntarget: {}\nduration_s: {}\nseed: {seed}\nload: {{loop: open, pattern: constant, rate: {rps}}}\n",
            self.target, self.step_s
        );
        let input = |e: &dyn std::fmt::Display| TwinError::Input(format!("--target: {e}"));
        let mut s = Scenario::parse(Path::new("probe.yaml"), &text).map_err(|e| input(&e))?;
        if self.time_scale != 1.0 {
            s = compressed(&s, self.time_scale).map_err(|e| input(&e))?;
        }
        let opts = RunOptions {
            record_samples: true,
            time_scale: Some(self.time_scale),
            ..RunOptions::default()
        };
        let report = run(&s, &opts).map_err(|e| TwinError::Runtime(format!("probe: {e}")))?;
        if report.ok == 0 {
            return Err(TwinError::Runtime(format!(
                "probe: no request to {} succeeded at {rps} req/s ({}); is the service up?",
                self.target,
                report
                    .summary()
                    .lines()
                    .find(|l| l.contains("failed"))
                    .unwrap_or("")
            )));
        }
        Ok(Step {
            rps,
            report,
            k: self.time_scale,
        })
    }
}

/// The histogram of raw latencies (s): 60 log-spaced bounds over their range.
fn histogram(lat: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let lo = lat.iter().copied().fold(f64::INFINITY, f64::min).max(1e-6);
    let hi = lat.iter().copied().fold(0.0, f64::max).max(lo * 1.01);
    let n = 60;
    let bounds: Vec<f64> = (1..=n)
        .map(|i| lo * (hi / lo).powf(i as f64 / n as f64))
        .collect();
    let mut counts = vec![0.0; n + 1];
    for x in lat {
        counts[bounds.partition_point(|b| b < x)] += 1.0;
    }
    (bounds, counts)
}

pub fn probe(o: &ProbeOptions, progress: &mut dyn FnMut(&str)) -> Result<Calibration, TwinError> {
    o.check()?;
    let name = o
        .out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "probed".into());
    let base = Base::read(&o.structure, &name, o.deployment.clone())?;
    let (loaded, mut svc) = (&base.loaded, base.svc.clone());
    let m = &loaded.model;
    let dep = o
        .deployment
        .clone()
        .unwrap_or_else(|| m.deployments[m.entry].name.clone());
    let Some(dm) = m.deployments.iter().find(|d| d.name == dep) else {
        return Err(TwinError::Input(format!(
            "--deployment {dep}: not a deployment of {}",
            base.origin
        )));
    };
    let mut steps: Vec<Step> = Vec::new();
    let mut rps = o.start_rps;
    while rps <= o.max_rps * (1.0 + 1e-9) {
        let s = o.step(rps, steps.len() as u64 + 1)?;
        let p95 = s.report.latency_ms.raw.p95;
        progress(&format!(
            "{rps:.2} req/s: {:.2} served/s, success {:.2} %, p95 {p95:.1} ms ({} requests)",
            s.served_rps(),
            s.report.success_rate * 100.0,
            s.report.sent
        ));
        let first = steps
            .first()
            .map_or(p95, |f: &Step| f.report.latency_ms.raw.p95);
        let knee = s.saturated() || p95 > 3.0 * first;
        steps.push(s);
        if knee {
            break;
        }
        rps *= o.factor;
    }
    let last = steps.last().expect("at least one step");
    let ceiling = steps.iter().map(Step::served_rps).fold(0.0, f64::max);
    // The light steps: latency is service time there.
    let lat: Vec<f64> = steps
        .iter()
        .filter(|s| s.rps <= ceiling / 3.0 || std::ptr::eq(*s, &steps[0]))
        .flat_map(|s| {
            s.report
                .samples
                .iter()
                .filter(|x| x.ok)
                .map(|x| x.raw_ms / 1e3 * s.k)
        })
        .collect();
    if lat.len() < 50 {
        return Err(TwinError::Input(format!(
            "probe: {} successful requests at light load, 50 needed; lower --probe-start-rps or lengthen --probe-step",
            lat.len()
        )));
    }
    let (bounds, counts) = histogram(&lat);
    let tolerance = PARAMETRIC_GAP.max(1.36 / (lat.len() as f64).sqrt());
    let (fitted, gap, tried) =
        fit_service_within(&bounds, &counts, tolerance).ok_or_else(|| {
            TwinError::Input("probe: the light-load latencies cannot be fitted".into())
        })?;
    let mean = lat.iter().sum::<f64>() / lat.len() as f64;
    let mut out = Calibration {
        format_version: super::estimate::CALIBRATION_FORMAT_VERSION,
        bundle: format!("probe of {}", o.target),
        base_model: base.origin.clone(),
        estimates: Vec::new(),
        not_identified: Vec::new(),
    };
    let source = vec![format!("probe of {} with {} pods", o.target, o.pods)];
    out.estimates.push(Estimate {
        deployment: dep.clone(),
        parameter: "work.service_time".into(),
        value: written(&fitted, &dep),
        figure: format!(
            "{}, mean {:.4} s, p95 {:.4} s (sample mean {mean:.4} s)",
            fitted.family(),
            fitted.mean(),
            fitted.p95()
        ),
        estimate: fitted.mean(),
        interval: None,
        interval_kind: String::new(),
        source: source.clone(),
        fit: format!(
            "largest gap between the fit and the light-load latencies ({}), {tolerance:.3} allowed",
            tried
                .iter()
                .map(|(f, g)| format!("{f} {g:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        fit_value: gap,
        n: lat.len(),
        summary: [
            ("mean".to_string(), fitted.mean()),
            ("p95".to_string(), fitted.p95()),
        ]
        .into(),
    });
    let mut files = Vec::new();
    if let Some(text) = fitted.file_text() {
        files.push((super::calibrate::empirical_file(&dep), text));
    }
    let spec = svc
        .deployments
        .get_mut(&dep)
        .ok_or_else(|| TwinError::Input(format!("{dep}: not in {}'s service.yaml", base.origin)))?;
    spec.work.service_time = serde_json::from_value(written(&fitted, &dep))
        .map_err(|e| TwinError::Input(e.to_string()))?;
    if last.saturated() {
        let per_pod = last.served_rps() / o.pods as f64;
        let k = per_pod * fitted.mean();
        let value = (k.round() as u32).max(1);
        spec.serving.concurrency = value;
        out.estimates.push(Estimate {
            deployment: dep.clone(),
            parameter: "serving.concurrency".into(),
            value: serde_json::json!(value),
            figure: format!(
                "{value} (throughput ceiling {per_pod:.2} req/s per pod at {:.2} req/s offered x mean service time: {k:.2})",
                last.rps
            ),
            estimate: k,
            interval: None,
            interval_kind: String::new(),
            source: source.clone(),
            fit: "distance from the nearest whole number".into(),
            fit_value: (k - value as f64).abs(),
            n: last.report.series.len() / 2,
            summary: BTreeMap::new(),
        });
    } else {
        out.not_identified.push(NotIdentified {
            deployment: dep.clone(),
            parameter: "serving.concurrency".into(),
            kept: dm.concurrency.to_string(),
            reason: format!(
                "the service kept up with every step up to {:.2} req/s; raise --probe-max-rps to find its ceiling",
                last.rps
            ),
        });
    }
    for p in ["work.cpu_seconds_per_request", "lifecycle.startup"] {
        out.not_identified.push(NotIdentified {
            deployment: dep.clone(),
            parameter: p.into(),
            kept: "(the model's)".into(),
            reason: "a probe measures latency and throughput only; calibrate from a recording for CPU and start-up".into(),
        });
    }
    base.report_assumed(&mut out);
    let base = Base { svc, ..base };
    base.write(&o.out, &format!("a probe of {}", o.target), &files, &out)?;
    Ok(out)
}
