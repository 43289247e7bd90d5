//! `scaletwin backtest`: replay a recorded period's request rate through a model with the
//! manifests that were in effect, and measure how far the simulated replicas and latencies
//! are from what really happened.
//!
//! - **Load**: the entry deployment's recorded request rate (all status codes, as a real
//!   counter counts them), one piecewise-constant bin per step. A `rate(...[w])` sample at
//!   `t` averages `(t - w, t]`, so the bin `[a, a + step)` takes the sample nearest to
//!   `a + step / 2 + w / 2`.
//! - **Start**: the recorded `spec.replicas` at the start of the range.
//! - **Replicas**: at every HPA sync tick, the simulated count and the recorded
//!   `kube_deployment_spec_replicas`, both read half a period after the tick; agreement within
//!   one pod, mean and largest absolute error, and the lag (the shift of the recorded series
//!   that fits the simulated one best).
//! - **p95 per SLO window**: the recorded histogram's quantile (Prometheus'
//!   `histogram_quantile` of the bucket rates summed over the window) against the simulated
//!   window's p95.
//!
//! Agreement thresholds are `validate`'s (`--min-tick-agreement`, `--p95-tolerance`,
//! `--min-window-agreement`).

use super::TwinError;
use super::bundle::Bundle;
use super::data::{Histograms, key, summed};
use crate::engine::{Pattern, RateSchedule, Workload};
use crate::validate::{
    Thresholds, Tick, WindowP95, agreement_failures, judge_window, replica_steps, step_at,
    sync_ticks, window_agreement,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const BACKTEST_FORMAT_VERSION: u32 = 1;

/// What to backtest.
#[derive(Clone, Debug)]
pub struct BacktestOptions {
    pub bundle: PathBuf,
    pub model: PathBuf,
    /// Laid over the model's manifests (the ones in effect during the range).
    pub manifests: Option<PathBuf>,
    /// The deployment compared (default: the model's entry).
    pub deployment: Option<String>,
    pub thresholds: Thresholds,
    pub seed: u64,
}

/// `backtest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub format_version: u32,
    pub bundle: String,
    pub model: String,
    pub deployment: String,
    pub start_unix_s: f64,
    pub duration_s: f64,
    /// Requests replayed (the recorded rate integrated over the range).
    pub requests: f64,
    /// Steps without a recorded rate (taken as the previous step's).
    pub rate_gaps: usize,
    pub sync_period_s: f64,
    pub window_s: f64,
    pub thresholds: Thresholds,
    pub ticks: Vec<Tick>,
    pub tick_agreement: f64,
    pub replicas_mean_abs_error: f64,
    pub replicas_max_error: f64,
    /// Seconds the recorded replicas trail (+) or lead (-) the simulated ones.
    pub lag_s: f64,
    pub scaling_events_recorded: u32,
    pub scaling_events_simulated: u32,
    pub windows: Vec<WindowP95>,
    pub window_agreement: Option<f64>,
    pub recorded_failure_share: Option<f64>,
    pub simulated_failure_share: f64,
    pub passed: bool,
    pub failures: Vec<String>,
    /// The recorded replica series `(model seconds, replicas)`.
    #[serde(skip)]
    pub recorded_replicas: Vec<(f64, f64)>,
    #[serde(skip)]
    pub slo_p95_ms: f64,
    /// The model's `calibration.json`, when it has one (its estimates go on the report page).
    #[serde(skip)]
    pub calibration: Option<super::estimate::Calibration>,
}

fn changes(series: &[(f64, f64)]) -> u32 {
    series.windows(2).filter(|w| w[0].1 != w[1].1).count() as u32
}

/// Run the backtest.
pub fn backtest(o: &BacktestOptions) -> Result<Backtest, TwinError> {
    o.thresholds
        .check()
        .map_err(|e| TwinError::Input(e.to_string()))?;
    let b = Bundle::read(&o.bundle)?;
    let input = |e: crate::scenario::ModelError| TwinError::Input(e.to_string());
    let mut sources = crate::scenario::ModelSources::read_dir(&o.model).map_err(input)?;
    if let Some(dir) = &o.manifests {
        sources = sources.with_manifests(dir).map_err(input)?;
    }
    let mut loaded = sources.load().map_err(input)?;
    let dep = crate::validate::deployment_index(&loaded, o.deployment.as_deref())
        .map_err(|e| TwinError::Input(e.to_string()))?;
    let m = &loaded.model;
    let entry = m.deployments[m.entry].name.clone();
    let dname = m.deployments[dep].name.clone();
    for d in [&entry, &dname] {
        if !b.info.deployments.contains(d) {
            return Err(TwinError::Input(format!(
                "the bundle records {} but not {d}, which the model needs (record it with --deployment {d})",
                b.info.deployments.join(", ")
            )));
        }
    }
    let (start, end, step) = (b.info.start_unix_s, b.info.end_unix_s, b.info.step_s);
    let duration = end - start;
    let w = crate::engine::output::parse_duration(&b.info.rate_window).unwrap_or(step);
    // The load: the entry's recorded rate.
    let rate = summed(&b, &entry, "requests");
    if rate.values().all(|v| *v <= 0.0) {
        return Err(TwinError::Input(format!(
            "{entry}: no load recorded in the range (`{}`); record a period with requests",
            b.query(&entry, "requests")
        )));
    }
    let nbins = (duration / step).ceil().max(1.0) as usize;
    let mut rates = Vec::with_capacity(nbins);
    let mut gaps = 0;
    let mut last = 0.0;
    for i in 0..nbins {
        let t = start + (i as f64 + 0.5) * step + w / 2.0;
        let k = key(t);
        let near = rate
            .range(k - key(step / 2.0)..=k + key(step / 2.0))
            .min_by_key(|(x, _)| (**x - k).abs())
            .map(|(_, v)| *v);
        match near {
            Some(v) if v.is_finite() && v >= 0.0 => last = v,
            // Past the recording's end (the rate window's shift) the last rate holds.
            _ if t > end => {}
            _ => gaps += 1,
        }
        rates.push(last);
    }
    if gaps * 10 > nbins {
        return Err(TwinError::Input(format!(
            "{entry}: the request rate has no sample in {gaps} of {nbins} steps (`{}`); record a range without gaps, or a coarser --step",
            b.query(&entry, "requests")
        )));
    }
    let requests: f64 = rates.iter().map(|r| r * step).sum();
    // Start from the recorded replicas.
    let spec = summed(&b, &dname, "spec_replicas");
    let recorded: Vec<(f64, f64)> = spec
        .iter()
        .map(|(t, v)| (*t as f64 / 1000.0 - start, *v))
        .collect();
    let Some(first) = recorded.first().map(|r| r.1) else {
        return Err(TwinError::Input(format!(
            "{dname}: no replica series in the bundle (`{}`); backtests compare with it",
            b.query(&dname, "spec_replicas")
        )));
    };
    loaded.model.deployments[dep].initial_replicas = first.round().max(0.0) as u32;
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Bins { bin_s: step, rates }),
    };
    let cfg = crate::engine::RunConfig {
        duration_s: duration,
        ..loaded.scenario.run_config(o.seed)
    };
    crate::engine::check_run(&loaded.model, &wl, &cfg)
        .map_err(|e| TwinError::Input(format!("model {}: {e}", o.model.display())))?;
    let window = cfg.window_s;
    let outcome = crate::engine::sim::run(&loaded.model, &wl, cfg);
    let m = &loaded.model;
    let steps = replica_steps(m, dep, &outcome.decisions);
    let sync = m.controller.sync_period.as_secs_f64();
    let (ticks, tick_agreement) = sync_ticks(&steps, &recorded, sync, duration);
    let judged_ticks: Vec<(f64, f64)> = ticks
        .iter()
        .filter_map(|t| t.observed.map(|r| (r, t.simulated as f64)))
        .collect();
    let errs: Vec<f64> = judged_ticks.iter().map(|(r, s)| (r - s).abs()).collect();
    let mae = errs.iter().sum::<f64>() / errs.len().max(1) as f64;
    let max_err = errs.iter().copied().fold(0.0, f64::max);
    // Lag: the shift (whole sync periods, up to 8) of the recorded series that fits best.
    let mut lag_s = 0.0;
    let mut best = f64::INFINITY;
    for k in -8i32..=8 {
        let shift = k as f64 * sync;
        let e: Vec<f64> = ticks
            .iter()
            .filter_map(|t| {
                step_at(&recorded, t.t_s + sync / 2.0 + shift)
                    .map(|r| (r - t.simulated as f64).abs())
            })
            .collect();
        if e.len() * 2 < ticks.len() {
            continue;
        }
        let v = e.iter().sum::<f64>() / e.len() as f64;
        if v < best - 1e-9 {
            best = v;
            lag_s = shift;
        }
    }
    // Windows.
    let hist = Histograms::read(&b, &dname, "latency")?;
    let dep_rate = summed(&b, &dname, "requests");
    let nwin = (duration / window).floor().max(1.0) as usize;
    let mut windows = Vec::new();
    for i in 0..nwin {
        let wend = (i + 1) as f64 * window;
        let (from, to) = (key(start + wend - window), key(start + wend));
        let counts = hist.sum_over(from, to);
        let rec_p95 = crate::cluster::metrics::bucket_quantile(&counts, &hist.bounds, 0.95)
            .map(|s| s * 1000.0);
        let n: f64 = dep_rate.range(from + 1..=to).map(|(_, v)| v * step).sum();
        windows.push(judge_window(
            &outcome,
            &dname,
            wend,
            window,
            n.round() as u64,
            rec_p95,
            &o.thresholds,
        ));
    }
    let window_agreement = window_agreement(&windows, &o.thresholds);
    // Failures: the share of non-2xx answers, both sides.
    let mut total = 0.0;
    let mut bad = 0.0;
    for s in b.get(&dname, "requests") {
        let code = s.labels.get("code").map(String::as_str).unwrap_or("");
        let sum: f64 = s
            .samples
            .iter()
            .filter(|x| x.1.is_finite())
            .map(|x| x.1)
            .sum();
        total += sum;
        if !code.starts_with('2') && !code.is_empty() {
            bad += sum;
        }
    }
    let d_out = outcome.deployment(&dname);
    let th = o.thresholds;
    let mut failures = agreement_failures(tick_agreement, window_agreement, &th);
    if window_agreement.is_none() {
        failures.push(format!(
            "no window had {} recorded requests and a p95 on both sides: nothing to judge latency on",
            th.min_window_requests
        ));
    }
    Ok(Backtest {
        format_version: BACKTEST_FORMAT_VERSION,
        bundle: o.bundle.display().to_string(),
        model: o.model.display().to_string(),
        deployment: dname,
        start_unix_s: start,
        duration_s: duration,
        requests,
        rate_gaps: gaps,
        sync_period_s: sync,
        window_s: window,
        thresholds: th,
        tick_agreement,
        ticks,
        replicas_mean_abs_error: mae,
        replicas_max_error: max_err,
        lag_s,
        scaling_events_recorded: changes(&recorded),
        scaling_events_simulated: changes(
            &steps
                .iter()
                .map(|(t, n)| (*t, *n as f64))
                .collect::<Vec<_>>(),
        ),
        windows,
        window_agreement,
        recorded_failure_share: (total > 0.0).then(|| bad / total),
        simulated_failure_share: d_out.map(|d| 1.0 - d.success_rate).unwrap_or(0.0),
        passed: failures.is_empty(),
        failures,
        recorded_replicas: recorded,
        slo_p95_ms: loaded.scenario.slo.p95_ms,
        calibration: std::fs::read_to_string(o.model.join("calibration.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

impl Backtest {
    /// The human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "scaletwin backtest: model {} on {} ({} over {:.0} s, {:.0} requests replayed{})\n",
            self.model,
            self.bundle,
            self.deployment,
            self.duration_s,
            self.requests,
            if self.rate_gaps > 0 {
                format!(", {} steps without a rate filled", self.rate_gaps)
            } else {
                String::new()
            }
        );
        s += &format!(
            "replicas: within ±1 pod at {}/{} sync ticks ({:.1} %; needs {:.1} %); mean abs error {:.2}, largest {:.0}, lag {:+.0} s; scaling events recorded {}, simulated {}\n",
            self.ticks.iter().filter(|t| t.within_one).count(),
            self.ticks.len(),
            self.tick_agreement * 100.0,
            self.thresholds.ticks_within_one * 100.0,
            self.replicas_mean_abs_error,
            self.replicas_max_error,
            self.lag_s,
            self.scaling_events_recorded,
            self.scaling_events_simulated
        );
        let judged = self.windows.iter().filter(|w| w.judged).count();
        s += &format!(
            "p95 per {:.0}-s window: {} judged, {} within ±{:.0} %{}\n",
            self.window_s,
            judged,
            self.window_agreement
                .map(|a| format!("{:.1} %", a * 100.0))
                .unwrap_or_else(|| "n/a".into()),
            self.thresholds.p95_tolerance * 100.0,
            format_args!(" (needs {:.1} %)", self.thresholds.windows_within * 100.0)
        );
        s += &format!(
            "failures: recorded {}, simulated {:.2} %\n",
            self.recorded_failure_share
                .map(|f| format!("{:.2} %", f * 100.0))
                .unwrap_or_else(|| "n/a".into()),
            self.simulated_failure_share * 100.0
        );
        if self.passed {
            s += "BACKTEST PASSED: the model reproduces the recorded period\n";
        } else {
            s += "BACKTEST FAILED:\n";
            for f in &self.failures {
                s += &format!("  - {f}\n");
            }
        }
        s
    }

    /// Write `backtest.json`, `summary.txt`, `ticks.csv`, `windows.csv`,
    /// `charts/backtest.svg` and `report.html`.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, TwinError> {
        let werr = |p: &Path, e: &dyn std::fmt::Display| {
            TwinError::Runtime(format!("writing {}: {e}", p.display()))
        };
        std::fs::create_dir_all(dir.join("charts")).map_err(|e| werr(dir, &e))?;
        let ticks = crate::validate::ticks_csv(&self.ticks, "recorded");
        let wins = crate::validate::windows_csv(&self.windows, "recorded");
        let run_rec = {
            let mut v: Vec<f64> = self
                .windows
                .iter()
                .filter_map(|w| w.observed_p95_ms)
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let run_sim = {
            let mut v: Vec<f64> = self
                .windows
                .iter()
                .filter_map(|w| w.simulated_p95_ms)
                .collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let svg = crate::validate::chart::overlay(&crate::validate::chart::Overlay {
            title: format!("Backtest: {} / {}", self.model, self.deployment),
            reference: "recorded",
            duration_s: self.duration_s,
            sync_period_s: self.sync_period_s,
            tick_agreement: self.tick_agreement,
            ticks: &self.ticks,
            replicas: &self.recorded_replicas,
            window_s: self.window_s,
            windows: &self.windows,
            slo_p95_ms: self.slo_p95_ms,
            run_reference_p95_ms: run_rec,
            run_simulated_p95_ms: run_sim,
        })
        .map_err(|e| werr(dir, &e))?;
        let json = serde_json::to_string_pretty(self).unwrap_or_default() + "\n";
        let mut files = Vec::new();
        for (name, text) in [
            ("backtest.json", json),
            ("summary.txt", self.summary()),
            ("ticks.csv", ticks),
            ("windows.csv", wins),
            ("charts/backtest.svg", svg.clone()),
            (
                "report.html",
                crate::validate::agreement_page(&crate::validate::AgreementPage {
                    kind: "Backtest",
                    title: format!("{} / {}", self.model, self.deployment),
                    passed: self.passed,
                    passed_text: "<b>Passed.</b> The model reproduces the recorded period.",
                    failed_text: "<b>Failed.</b> The model does not reproduce the recorded period:",
                    failures: &self.failures,
                    svg: &svg,
                    caption: "Replicas at each HPA sync tick and p95 per window: simulated on the recorded load, and recorded.",
                    summary: self.summary(),
                    reference: "recorded",
                    windows: &self.windows,
                    data: "backtest.json, ticks.csv, windows.csv",
                    extra: self
                        .calibration
                        .as_ref()
                        .map(|c| c.html())
                        .unwrap_or_default(),
                }),
            ),
        ] {
            let p = dir.join(name);
            crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| werr(&p, &e))?;
            files.push(p);
        }
        Ok(files)
    }
}
