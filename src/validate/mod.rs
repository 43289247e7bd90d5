//! `scaletwin validate`: load-test the live service running some settings, watch what its
//! autoscaler really does, simulate the same settings on exactly the arrival times that were
//! delivered, and say how far prediction and reality are apart.
//!
//! The comparison is with what the load generator actually delivered: the simulator
//! replays the times requests went out on a connection, and observed latencies are taken
//! from those times. An open loop that falls behind (its connection pool at the limit)
//! thus cannot make the service look slower or faster than it was; the requests it sent late
//! or dropped are reported.
//!
//! Agreement is judged on the model's clock. With a time scale `k` (a testbed running `k`
//! times faster than life) every observed time and latency is multiplied by `k`.
//!
//! - Replicas: at every HPA sync tick of the run, the replica count the simulator holds and
//!   the one observed, both read half a sync period after the tick (when the tick's write
//!   has been applied and scraped); a tick agrees when they differ by at most one pod.
//! - Latency: the p95 of each SLO window, observed (client side, from the actual send,
//!   grouped by completion time) and simulated; and the run's p95 against the simulated one.
//! - SLO verdicts: availability and p95 of the run, observed and simulated.

pub mod chart;
pub mod kube_observer;
mod observe;

pub use observe::{Observe, Observed, PromObserver, Watching};

use crate::engine::{DecisionRecord, Outcome, RunConfig, Workload};
use crate::loadtest::Scenario;
use crate::loadtest::report::LoadReport;
use crate::report::page::esc;
use crate::scenario::LoadedModel;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const VALIDATE_FORMAT_VERSION: u32 = 1;

/// A validation that could not run, with what to do.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// A flag, the scenario or what the observer was asked for is wrong (a query that
    /// returns no series or several): the command line exits 2.
    #[error("{0}")]
    Input(String),
    /// The observer could not be reached or stopped answering: the command line exits 3.
    #[error("{0}")]
    Observer(String),
    /// The load test could not run (its own kinds: bad scenario, unreachable target).
    #[error("{0}")]
    Load(#[from] crate::loadtest::run::LoadError),
}

impl ValidateError {
    /// The exit code the command line ends with: 2 bad input, 3 a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            ValidateError::Input(_) => 2,
            ValidateError::Observer(_) => 3,
            ValidateError::Load(e) => e.exit_code(),
        }
    }
}

/// When a run counts as validated.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    /// Share of HPA sync ticks whose simulated and observed replicas differ by at most one.
    pub ticks_within_one: f64,
    /// Relative p95 error allowed (0.25: ±25 %), for the run and for the share of windows
    /// below.
    pub p95_tolerance: f64,
    /// Share of SLO windows (with at least `min_window_requests`) whose p95 is within the
    /// tolerance.
    pub windows_within: f64,
    pub min_window_requests: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            ticks_within_one: 0.9,
            p95_tolerance: 0.25,
            windows_within: 0.75,
            min_window_requests: 20,
        }
    }
}

impl Thresholds {
    pub fn check(&self) -> Result<(), ValidateError> {
        let frac = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ValidateError::Input(format!(
                    "{name} {v}: must be a fraction between 0 and 1"
                )))
            }
        };
        frac("--min-tick-agreement", self.ticks_within_one)?;
        frac("--min-window-agreement", self.windows_within)?;
        if !(self.p95_tolerance.is_finite() && self.p95_tolerance > 0.0) {
            return Err(ValidateError::Input(format!(
                "--p95-tolerance {}: must be > 0 (0.25 means ±25 %)",
                self.p95_tolerance
            )));
        }
        Ok(())
    }
}

/// How to validate.
#[derive(Clone, Debug)]
pub struct Options {
    /// Model seconds per wall-clock second of the target (1 for a real service).
    pub time_scale: f64,
    /// The deployment compared (default: the model's entry).
    pub deployment: Option<String>,
    pub thresholds: Thresholds,
    pub seed: u64,
    /// Wall seconds to wait after the load before reading the observer (its last scrape).
    pub settle_s: f64,
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            time_scale: 1.0,
            deployment: None,
            thresholds: Thresholds::default(),
            seed: 1,
            settle_s: 3.0,
            progress: false,
        }
    }
}

/// One HPA sync tick.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    /// Model seconds from the start of the load (the tick; read half a period later).
    pub t_s: f64,
    pub simulated: u32,
    /// `None` when the observer had no sample yet.
    pub observed: Option<f64>,
    pub within_one: bool,
}

/// One SLO window.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WindowP95 {
    /// End of the window, model seconds.
    pub t_s: f64,
    pub observed_requests: u64,
    pub observed_p95_ms: Option<f64>,
    pub simulated_p95_ms: Option<f64>,
    /// `(simulated - observed) / observed`.
    pub error: Option<f64>,
    /// Counted in the agreement (enough requests on both sides).
    pub judged: bool,
}

/// An SLO verdict on both sides.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub name: String,
    pub bound: f64,
    pub observed: f64,
    pub simulated: f64,
    pub observed_pass: bool,
    pub simulated_pass: bool,
    pub agree: bool,
}

/// The comparison, as written to `validation.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub format_version: u32,
    pub model: String,
    pub deployment: String,
    pub scenario: String,
    pub target: String,
    pub observer: String,
    pub time_scale: f64,
    pub duration_s: f64,
    pub requests: u64,
    /// Requests the load generator sent late (every connection busy), the largest delay
    /// (model ms), and arrivals it never sent: the simulation replays what was delivered.
    #[serde(default)]
    pub late: u64,
    #[serde(default)]
    pub max_lag_ms: f64,
    #[serde(default)]
    pub dropped: u64,
    pub sync_period_s: f64,
    pub window_s: f64,
    pub thresholds: Thresholds,
    pub ticks: Vec<Tick>,
    pub tick_agreement: f64,
    pub windows: Vec<WindowP95>,
    pub window_agreement: Option<f64>,
    pub observed_p95_ms: f64,
    pub simulated_p95_ms: f64,
    pub p95_error: f64,
    pub verdicts: Vec<Verdict>,
    pub verdicts_agree: bool,
    pub observed_max_replicas: f64,
    pub simulated_max_replicas: u32,
    pub validated: bool,
    /// Why not (empty when validated).
    pub failures: Vec<String>,
    /// The load test stopped early; the comparison covers what was sent.
    pub partial: bool,
}

/// Everything a validation produced.
pub struct Run {
    pub validation: Validation,
    pub load: LoadReport,
    pub outcome: Outcome,
    pub observed: Observed,
}

/// At every HPA sync tick whose reading (half a period later) falls within `duration`, the
/// simulated replicas and the reference's (observed or recorded), and the share of ticks
/// within one pod.
pub fn sync_ticks(
    simulated: &[(f64, u32)],
    reference: &[(f64, f64)],
    sync: f64,
    duration: f64,
) -> (Vec<Tick>, f64) {
    let mut ticks = Vec::new();
    let mut t = sync;
    while t + sync / 2.0 <= duration + 1e-9 {
        let at = t + sync / 2.0;
        let sim = step_at(simulated, at).unwrap_or(0);
        let obs = step_at(reference, at);
        ticks.push(Tick {
            t_s: t,
            simulated: sim,
            observed: obs,
            within_one: obs.is_some_and(|o| (o - sim as f64).abs() <= 1.0 + 1e-9),
        });
        t += sync;
    }
    let agreement = if ticks.is_empty() {
        0.0
    } else {
        ticks.iter().filter(|t| t.within_one).count() as f64 / ticks.len() as f64
    };
    (ticks, agreement)
}

/// One SLO window ending at `end`: the reference's p95 (observed or recorded, from `n`
/// requests) against the simulated window's, judged when both exist and `n` is enough.
pub fn judge_window(
    outcome: &Outcome,
    deployment: &str,
    end: f64,
    window: f64,
    n: u64,
    reference_p95_ms: Option<f64>,
    th: &Thresholds,
) -> WindowP95 {
    let sim = outcome
        .series
        .iter()
        .filter(|r| r.deployment == deployment)
        .find(|r| (r.t_s - end).abs() < window / 2.0)
        .map(|r| r.p95_ms)
        .filter(|v| *v > 0.0);
    let error = match (reference_p95_ms, sim) {
        (Some(o), Some(s)) if o > 0.0 => Some((s - o) / o),
        _ => None,
    };
    WindowP95 {
        t_s: end,
        observed_requests: n,
        observed_p95_ms: reference_p95_ms,
        simulated_p95_ms: sim,
        error,
        judged: n >= th.min_window_requests && error.is_some(),
    }
}

/// The share of judged windows whose p95 is within the tolerance (`None`: none judged).
pub fn window_agreement(windows: &[WindowP95], th: &Thresholds) -> Option<f64> {
    let judged: Vec<&WindowP95> = windows.iter().filter(|w| w.judged).collect();
    (!judged.is_empty()).then(|| {
        judged
            .iter()
            .filter(|w| w.error.is_some_and(|e| e.abs() <= th.p95_tolerance))
            .count() as f64
            / judged.len() as f64
    })
}

/// Why replicas or windows disagree beyond the thresholds (empty: they agree).
pub fn agreement_failures(
    tick_agreement: f64,
    window_agreement: Option<f64>,
    th: &Thresholds,
) -> Vec<String> {
    let mut failures = Vec::new();
    if tick_agreement < th.ticks_within_one {
        failures.push(format!(
            "replicas within ±1 pod at {:.1} % of HPA sync ticks (needs {:.1} %)",
            tick_agreement * 100.0,
            th.ticks_within_one * 100.0
        ));
    }
    if let Some(w) = window_agreement
        && w < th.windows_within
    {
        failures.push(format!(
            "window p95 within ±{:.0} % in {:.1} % of windows (needs {:.1} %)",
            th.p95_tolerance * 100.0,
            w * 100.0,
            th.windows_within * 100.0
        ));
    }
    failures
}

fn p95(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

/// The simulated replica count of the deployment over time: `(time, replicas)` steps from the
/// decisions of its autoscalers (the HPA's writes and KEDA's activations).
pub fn replica_steps(
    model: &crate::engine::Model,
    dep: usize,
    decisions: &[DecisionRecord],
) -> Vec<(f64, u32)> {
    let mut names = Vec::new();
    for a in model.autoscalers.iter().filter(|a| a.deployment == dep) {
        names.push(a.name.clone());
        if let crate::engine::model::AutoscalerKind::Keda { spec, .. } = &a.kind {
            names.push(spec.name.clone());
        }
    }
    let mut steps = vec![(0.0, model.deployments[dep].initial_replicas)];
    for d in decisions {
        if d.changed && names.contains(&d.object) {
            steps.push((d.t_s, d.desired.max(0) as u32));
        }
    }
    steps
}

pub fn step_at<T: Copy>(steps: &[(f64, T)], t: f64) -> Option<T> {
    let i = steps.partition_point(|s| s.0 <= t);
    (i > 0).then(|| steps[i - 1].1)
}

/// Compare a finished load test and its observations with the simulation of the same arrivals.
pub fn compare(
    loaded: &LoadedModel,
    dep: usize,
    scenario: &Scenario,
    load: &LoadReport,
    observed: &Observed,
    outcome: &Outcome,
    opts: &Options,
) -> Validation {
    let m = &loaded.model;
    let k = opts.time_scale;
    let th = opts.thresholds;
    let dname = m.deployments[dep].name.clone();
    let duration = load.duration_s * k;
    let sync = m.controller.sync_period.as_micros() as f64 * 1e-6;
    let window = outcome.window_s;
    let steps = replica_steps(m, dep, &outcome.decisions);
    let (ticks, tick_agreement) = sync_ticks(&steps, &observed.replicas, sync, duration);
    // Windows: observed latencies grouped by completion, on the model clock.
    // Whole windows, as the simulator closes them (a run a little longer than planned does
    // not open a window of its own).
    let nwin = (duration / window).round().max(1.0) as usize;
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); nwin];
    for s in &load.samples {
        let done = (s.delivered_s + s.raw_ms / 1000.0) * k;
        let i = ((done / window) as usize).min(nwin - 1);
        per[i].push(s.raw_ms * k);
    }
    let mut windows = Vec::new();
    for (i, mut lat) in per.into_iter().enumerate() {
        let end = (i + 1) as f64 * window;
        let n = lat.len() as u64;
        let obs = p95(&mut lat);
        let mut w = judge_window(outcome, &dname, end, window, n, obs, &th);
        w.t_s = end.min(duration.max(window));
        windows.push(w);
    }
    let window_agreement = window_agreement(&windows, &th);
    // The run.
    let observed_p95 = load.latency_ms.raw.p95 * k;
    let d_out = outcome.deployment(&dname);
    let simulated_p95 = d_out.map(|d| d.latency_ms.p95).unwrap_or(0.0);
    let p95_error = if observed_p95 > 0.0 {
        (simulated_p95 - observed_p95) / observed_p95
    } else {
        f64::INFINITY
    };
    // SLO verdicts: the load test's bounds, else the model scenario's.
    let slo_p95 = scenario.slo.p95_ms.unwrap_or(loaded.scenario.slo.p95_ms);
    let slo_ok = scenario
        .slo
        .success_rate
        .unwrap_or(loaded.scenario.slo.success_rate);
    let sim_success = d_out.map(|d| d.success_rate).unwrap_or(0.0);
    let verdict = |name: &str, bound: f64, o: f64, s: f64, upper: bool| {
        let pass = |v: f64| if upper { v <= bound } else { v >= bound };
        Verdict {
            name: name.into(),
            bound,
            observed: o,
            simulated: s,
            observed_pass: pass(o),
            simulated_pass: pass(s),
            agree: pass(o) == pass(s),
        }
    };
    let verdicts = vec![
        verdict(
            "availability",
            slo_ok,
            load.success_rate,
            sim_success,
            false,
        ),
        verdict("p95_ms", slo_p95, observed_p95, simulated_p95, true),
    ];
    let verdicts_agree = verdicts.iter().all(|v| v.agree);
    let mut failures = agreement_failures(tick_agreement, None, &th);
    if p95_error.abs() > th.p95_tolerance {
        failures.push(format!(
            "run p95 simulated {simulated_p95:.0} ms vs observed {observed_p95:.0} ms: {:+.1} % (allowed ±{:.0} %)",
            p95_error * 100.0,
            th.p95_tolerance * 100.0
        ));
    }
    failures.extend(agreement_failures(1.0, window_agreement, &th));
    if observed.replicas.is_empty() {
        failures.push("the observer returned no replica samples for the run".into());
    }
    Validation {
        format_version: VALIDATE_FORMAT_VERSION,
        model: m.name.clone(),
        deployment: dname,
        scenario: scenario.name.clone(),
        target: format!("{}{}", load.target, load.path),
        observer: observed.source.clone(),
        time_scale: k,
        duration_s: duration,
        requests: load.sent,
        late: load.late,
        max_lag_ms: load.max_lag_ms * k,
        dropped: load.dropped,
        sync_period_s: sync,
        window_s: window,
        thresholds: th,
        tick_agreement,
        ticks,
        window_agreement,
        windows,
        observed_p95_ms: observed_p95,
        simulated_p95_ms: simulated_p95,
        p95_error,
        verdicts,
        verdicts_agree,
        observed_max_replicas: observed.replicas.iter().map(|r| r.1).fold(0.0, f64::max),
        simulated_max_replicas: steps.iter().map(|s| s.1).max().unwrap_or(0),
        validated: failures.is_empty(),
        failures,
        partial: load.partial,
    }
}

/// Simulate the model on the arrival times the load test sent (model clock).
pub fn simulate_sent(
    loaded: &LoadedModel,
    load: &LoadReport,
    opts: &Options,
) -> Result<Outcome, ValidateError> {
    let k = opts.time_scale;
    let mut times: Vec<f64> = load.samples.iter().map(|s| s.delivered_s * k).collect();
    times.sort_by(f64::total_cmp);
    let duration = (load.duration_s * k).max(1.0);
    let wl = Workload::Replay {
        times_s: Arc::new(times),
        attrs: None,
        labels: None,
    };
    let cfg = RunConfig {
        duration_s: duration,
        ..loaded.scenario.run_config(opts.seed)
    };
    crate::engine::check_run(&loaded.model, &wl, &cfg)
        .map_err(|e| ValidateError::Input(format!("model {}: {e}", loaded.model.name)))?;
    Ok(crate::engine::sim::run(&loaded.model, &wl, cfg))
}

/// The deployment compared.
pub fn deployment_index(loaded: &LoadedModel, name: Option<&str>) -> Result<usize, ValidateError> {
    let m = &loaded.model;
    match name {
        None => Ok(m.entry),
        Some(n) => m
            .deployments
            .iter()
            .position(|d| d.name == n)
            .ok_or_else(|| {
                ValidateError::Input(format!(
                    "--deployment {n}: not in model {} (it has {})",
                    m.name,
                    m.deployments
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }),
    }
}

/// Run the whole validation: observer check, load test, observation, simulation, comparison.
pub fn run(
    loaded: &LoadedModel,
    scenario: &Scenario,
    observer: &dyn Observe,
    opts: &Options,
) -> Result<Run, ValidateError> {
    opts.thresholds.check()?;
    if !(opts.time_scale.is_finite() && opts.time_scale > 0.0) {
        return Err(ValidateError::Input(format!(
            "--time-scale {}: must be > 0 (model seconds per wall-clock second of the target)",
            opts.time_scale
        )));
    }
    let dep = deployment_index(loaded, opts.deployment.as_deref())?;
    let dname = loaded.model.deployments[dep].name.clone();
    // Before any load: can the observer see the deployment?
    let watch = observer.watch(&dname)?;
    let load = crate::loadtest::run::run(
        scenario,
        &crate::loadtest::run::RunOptions {
            metrics_listen: None,
            progress: opts.progress,
            on_metrics: None,
            record_samples: true,
            stop_on_ctrl_c: true,
            time_scale: None,
        },
    )?;
    std::thread::sleep(std::time::Duration::from_secs_f64(opts.settle_s.max(0.0)));
    let observed = watch.finish(load.started_unix_s, load.duration_s, opts.time_scale)?;
    let outcome = simulate_sent(loaded, &load, opts)?;
    let validation = compare(loaded, dep, scenario, &load, &observed, &outcome, opts);
    Ok(Run {
        validation,
        load,
        outcome,
        observed,
    })
}

impl Validation {
    /// The human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "scaletwin validate: {} (model {}, deployment {}) against {}\nobserver: {}\n{} requests over {:.0} s of model time (time scale {}){}\n\n",
            self.scenario,
            self.model,
            self.deployment,
            self.target,
            self.observer,
            self.requests,
            self.duration_s,
            self.time_scale,
            if self.partial {
                "  PARTIAL: the load test stopped early"
            } else {
                ""
            }
        );
        if self.late + self.dropped > 0 {
            s += &format!(
                "load generator: {} requests sent late (at most {:.0} ms of model time) and {} never sent, every connection busy; simulated and observed both use the times requests were delivered\n",
                self.late, self.max_lag_ms, self.dropped
            );
        }
        s += &format!(
            "replicas: within ±1 pod at {}/{} HPA sync ticks ({:.1} %; needs {:.1} %); max observed {:.0}, simulated {}\n",
            self.ticks.iter().filter(|t| t.within_one).count(),
            self.ticks.len(),
            self.tick_agreement * 100.0,
            self.thresholds.ticks_within_one * 100.0,
            self.observed_max_replicas,
            self.simulated_max_replicas
        );
        s += &format!(
            "p95: observed {:.0} ms, simulated {:.0} ms ({:+.1} %; allowed ±{:.0} %)\n",
            self.observed_p95_ms,
            self.simulated_p95_ms,
            self.p95_error * 100.0,
            self.thresholds.p95_tolerance * 100.0
        );
        match self.window_agreement {
            Some(w) => {
                s += &format!(
                    "p95 per {:.0}-s window: within ±{:.0} % in {:.1} % of {} windows (needs {:.1} %)\n",
                    self.window_s,
                    self.thresholds.p95_tolerance * 100.0,
                    w * 100.0,
                    self.windows.iter().filter(|w| w.judged).count(),
                    self.thresholds.windows_within * 100.0
                )
            }
            None => {
                s += "p95 per window: no window had enough requests to judge\n";
            }
        }
        for v in &self.verdicts {
            let pf = |b: bool| if b { "PASS" } else { "FAIL" };
            s += &format!(
                "SLO {}: observed {} ({:.4}), simulated {} ({:.4}), bound {}: {}\n",
                v.name,
                pf(v.observed_pass),
                v.observed,
                pf(v.simulated_pass),
                v.simulated,
                v.bound,
                if v.agree { "agree" } else { "DISAGREE" }
            );
        }
        if self.validated {
            s += "\nVALIDATED: the simulator's prediction matches what the service did.\n";
        } else {
            s += "\nNOT VALIDATED:\n";
            for f in &self.failures {
                s += &format!("  - {f}\n");
            }
        }
        s
    }
}

/// Ticks as CSV, the reference column named after what it is (`observed`, `recorded`).
pub fn ticks_csv(ticks: &[Tick], reference: &str) -> String {
    let mut s = format!("t_s,simulated_replicas,{reference}_replicas,within_one\n");
    for t in ticks {
        s += &format!(
            "{},{},{},{}\n",
            t.t_s,
            t.simulated,
            t.observed.map(|v| v.to_string()).unwrap_or_default(),
            t.within_one
        );
    }
    s
}

/// Windows as CSV, the reference columns named after what it is.
pub fn windows_csv(windows: &[WindowP95], reference: &str) -> String {
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.3}")).unwrap_or_default();
    let mut s =
        format!("t_s,{reference}_requests,{reference}_p95_ms,simulated_p95_ms,error,judged\n");
    for w in windows {
        s += &format!(
            "{},{},{},{},{},{}\n",
            w.t_s,
            w.observed_requests,
            opt(w.observed_p95_ms),
            opt(w.simulated_p95_ms),
            opt(w.error),
            w.judged
        );
    }
    s
}

impl Run {
    /// Write the results folder: `validation.json`, `summary.txt`, `ticks.csv`,
    /// `windows.csv`, `observed.csv`, the load test's report (`load/`), the simulation
    /// (`simulation/`), the overlaid timelines (`charts/validation.svg`) and `report.html`.
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        use crate::io::write_atomic;
        std::fs::create_dir_all(dir)?;
        let v = &self.validation;
        let mut files = Vec::new();
        let mut put = |name: &str, text: String| -> std::io::Result<()> {
            let p = dir.join(name);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            write_atomic(&p, text.as_bytes())?;
            files.push(p);
            Ok(())
        };
        put(
            "validation.json",
            serde_json::to_string_pretty(v).map_err(std::io::Error::other)? + "\n",
        )?;
        put("summary.txt", v.summary())?;
        put("ticks.csv", ticks_csv(&v.ticks, "observed"))?;
        put("windows.csv", windows_csv(&v.windows, "observed"))?;
        put("observed.csv", self.observed.csv())?;
        let svg = chart::validation(v, &self.observed.replicas).map_err(std::io::Error::other)?;
        put("charts/validation.svg", svg.clone())?;
        put("report.html", page(v, &svg))?;
        files.extend(self.load.write(&dir.join("load"))?);
        files.extend(crate::engine::output::write_outputs(
            &dir.join("simulation"),
            &self.outcome,
        )?);
        Ok(files)
    }
}

/// A self-contained page: the verdict, the overlaid timelines and the figures.
fn page(v: &Validation, svg: &str) -> String {
    agreement_page(&AgreementPage {
        kind: "Validation",
        title: format!("{} / {}", v.model, v.deployment),
        passed: v.validated,
        passed_text: "<b>Validated.</b> The simulator's prediction matches what the service did.",
        failed_text: "<b>Not validated.</b>",
        failures: &v.failures,
        svg,
        caption: "Replicas at each HPA sync tick and p95 per window: simulated on the arrivals that were sent, and observed.",
        summary: v.summary(),
        reference: "observed",
        windows: &v.windows,
        data: "validation.json, ticks.csv, windows.csv, observed.csv, load/report.json, simulation/outcome.json",
        extra: String::new(),
    })
}

/// What a page comparing a simulation with a reference shows.
pub struct AgreementPage<'a> {
    /// `Validation`, `Backtest`.
    pub kind: &'a str,
    pub title: String,
    pub passed: bool,
    /// HTML (trusted) of the verdict either way.
    pub passed_text: &'a str,
    pub failed_text: &'a str,
    pub failures: &'a [String],
    pub svg: &'a str,
    pub caption: &'a str,
    pub summary: String,
    /// What the reference is (`observed`, `recorded`).
    pub reference: &'a str,
    pub windows: &'a [WindowP95],
    /// The data files beside the page.
    pub data: &'a str,
    /// Sections (trusted HTML) after the windows: a backtest's calibration.
    pub extra: String,
}

/// The HTML page of a validation or a backtest: verdict, overlay chart, figures, windows.
pub fn agreement_page(p: &AgreementPage) -> String {
    let verdict = if p.passed {
        format!("<p class=\"ok\">{}</p>", p.passed_text)
    } else {
        format!(
            "<p class=\"bad\">{}</p><ul>{}</ul>",
            p.failed_text,
            p.failures
                .iter()
                .map(|f| format!("<li>{}</li>", esc(f)))
                .collect::<String>()
        )
    };
    let rows: String = p
        .windows
        .iter()
        .map(|w| {
            let o = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or("–".into());
            format!(
                "<tr><td>{:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                w.t_s,
                w.observed_requests,
                o(w.observed_p95_ms),
                o(w.simulated_p95_ms),
                w.error
                    .map(|e| format!("{:+.1} %", e * 100.0))
                    .unwrap_or("–".into())
            )
        })
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{kind}: {title}</title>\n<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}.ok{{color:#006b4f}}.bad{{color:#a33b00}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}pre{{background:#f6f6f6;padding:1em}}</style></head>\n<body><h1>{kind}: {title}</h1>\n{verdict}\n<figure>{svg}<figcaption>{caption}</figcaption></figure>\n<h2>Figures</h2><pre>{summary}</pre>\n<h2>p95 per window (model time)</h2><table><tr><th>window end (s)</th><th>requests</th><th>{reference} p95 (ms)</th><th>simulated p95 (ms)</th><th>error</th></tr>{rows}</table>\n{extra}<p>Data: {data}.</p></body></html>\n",
        kind = p.kind,
        title = esc(&p.title),
        svg = p.svg,
        caption = esc(p.caption),
        summary = esc(&p.summary),
        reference = p.reference,
        data = p.data,
        extra = p.extra,
    )
}
