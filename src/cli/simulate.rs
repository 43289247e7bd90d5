//! `scaletwin simulate`: a model under its autoscalers, through the engine or the fluid
//! approximation.

use super::trace::{TraceRead, TraceTransform, load_trace};
use super::{open_model, usage};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Simulate only these deployments (the entry among them); default: all. Fan-out into
    /// queues of dropped deployments is dropped with them.
    #[arg(long = "deployment")]
    pub deployments: Vec<String>,
    /// A workload file (YAML, e.g. `{loop: open, pattern: constant, rate: 50}`) replacing
    /// the model's scenario workload.
    #[arg(long)]
    pub workload: Option<PathBuf>,
    /// Shortcut for a constant open-loop workload of this many requests per second.
    #[arg(long, conflicts_with = "workload")]
    pub rate: Option<f64>,
    /// Replay a recorded trace (see `scaletwin trace info`) instead of the scenario's workload.
    #[arg(long, conflicts_with_all = ["workload", "rate"])]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub trace_read: TraceRead,
    #[command(flatten)]
    pub trace_transform: TraceTransform,
    /// Simulated time: 3600, 90s, 15m, 24h, 2d (default: the scenario's).
    #[arg(long)]
    pub duration: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// p95 latency SLO in ms (default: the scenario's).
    #[arg(long)]
    pub slo_p95_ms: Option<f64>,
    /// Success-rate SLO as a fraction, e.g. 0.99 (default: the scenario's).
    #[arg(long)]
    pub slo_success: Option<f64>,
    /// Override any field for this run: `model.<path>`, `workload.<path>`, `slo.<path>`,
    /// `manifest.<object>.<path>`. Repeatable.
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// Run the fluid approximation (the sweep's cheap fidelity) instead of the engine and
    /// print its figures; writes nothing.
    #[arg(long)]
    pub fluid: bool,
    /// Output folder (default: output/simulate-<model>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

pub fn run(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::engine::{self, output};
    // A bad trace is reported before the model is read.
    let trace = match &a.trace {
        Some(p) => match load_trace(p, &a.trace_read, &a.trace_transform) {
            Ok(t) => Some(t),
            Err(e) => return usage(e),
        },
        None => None,
    };
    let loaded = match open_model(a.model.as_deref(), None, &a.sets) {
        Ok(l) => l,
        Err(e) => return usage(e),
    };
    let mut scenario = loaded.scenario.clone();
    if let Some(path) = &a.workload {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => return usage(format!("{}: cannot read: {e}", path.display())),
        };
        scenario.workload = match serde_saphyr::from_str::<engine::Workload>(&text) {
            Ok(w) => w,
            Err(e) => {
                return usage(format!(
                    "{}: {}",
                    path.display(),
                    e.to_string().lines().take(8).collect::<Vec<_>>().join("\n")
                ));
            }
        };
        if let Err(e) = scenario.workload.validate() {
            return usage(format!("{}: {e}", path.display()));
        }
    }
    let mut trace_span = None;
    if let Some((t, interp)) = &trace {
        scenario.workload = t.to_workload(*interp);
        trace_span = Some(t.span_s());
        if t.report.bad_lines > 0 {
            eprintln!(
                "warning: {}: {} malformed lines skipped",
                t.source, t.report.bad_lines
            );
        }
    }
    if let Some(r) = a.rate {
        if !(r.is_finite() && r >= 0.0) {
            return usage(format!("--rate {r}: must be >= 0"));
        }
        scenario.workload = engine::Workload::Open {
            schedule: engine::RateSchedule::new(engine::Pattern::Constant { rate: r }),
        };
    }
    if let (Some(span), None) = (trace_span, &a.duration) {
        scenario.duration_s = span;
    }
    if let Some(d) = &a.duration {
        scenario.duration_s = match output::parse_duration(d) {
            Ok(v) => v,
            Err(e) => return usage(format!("--duration: {e}")),
        };
    }
    if let Some(p) = a.slo_p95_ms {
        scenario.slo.p95_ms = p;
    }
    if let Some(s) = a.slo_success {
        if !(0.0..=1.0).contains(&s) {
            return usage(format!("--slo-success {s}: a fraction between 0 and 1"));
        }
        scenario.slo.success_rate = s;
    }
    let mut model = loaded.model.clone();
    if let Err(e) = model.restrict(&a.deployments) {
        return usage(format!("--deployment: {e}"));
    }
    let cfg = scenario.run_config(a.seed);
    if let Err(e) = engine::check_run(&model, &scenario.workload, &cfg) {
        return usage(format!(
            "model {} ({}): {e}",
            model.name,
            loaded.dir.display()
        ));
    }
    if a.fluid {
        let started = std::time::Instant::now();
        let o = engine::fluid::run(&model, &scenario.workload, &cfg);
        println!(
            "fluid approximation of {} ({} s simulated, {:.3} s):\n  entry p95 {:.0} ms  success {:.3}%  windows met {}/{} ({:.2}%)\n  pod-hours {:.2}  cost {:.2}  scaling events {} (reversals {})",
            model.name,
            cfg.duration_s,
            started.elapsed().as_secs_f64(),
            o.p95_ms,
            o.success_rate * 100.0,
            o.windows_attained,
            o.windows,
            o.window_attainment * 100.0,
            o.pod_hours,
            o.cost,
            o.scaling_events,
            o.oscillations
        );
        return Ok(ExitCode::SUCCESS);
    }
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("output/simulate-{}", model.name)));
    let mut sink =
        output::FileSink::create(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let started = std::time::Instant::now();
    let outcome = engine::sim::run_with_sink(&model, &scenario.workload, cfg, &mut sink);
    let elapsed = started.elapsed();
    let mut written = output::write_outcome(&dir, &outcome)
        .with_context(|| format!("writing results to {}", dir.display()))?;
    written.extend(
        sink.finish()
            .with_context(|| format!("writing results to {}", dir.display()))?,
    );
    let findings = scaletwin::report::run_findings(
        &model,
        &loaded.manifests,
        &dir,
        &scaletwin::lint::run::RunLimits::default(),
    )
    .map_err(anyhow::Error::msg)?;
    written.push(
        scaletwin::report::write_lint(&dir, &loaded.manifests, Some(&findings))
            .with_context(|| format!("writing results to {}", dir.display()))?,
    );
    written.extend(
        scaletwin::report::write(&dir, scaletwin::report::Options::default())
            .map_err(anyhow::Error::msg)?,
    );
    print!("{}", outcome.summary());
    println!(
        "\n{} events in {:.2} s; results: {}",
        outcome.events_processed,
        elapsed.as_secs_f64(),
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
