#![allow(clippy::result_large_err)]
//! The `scaletwin` command line: parse arguments, call the library, map the result to an
//! exit code (0 success, 1 findings/failed checks, 2 unreadable input or bad usage).

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scaletwin::lint::{self, Severity};
use scaletwin::manifest::{self, ManifestError, Patch, PatchValue};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scaletwin",
    version,
    about = "Simulate and tune Kubernetes autoscaling (HPA v2 + KEDA) before production does it for you"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// How to read a trace file (shared by `trace` and `simulate --trace`).
#[derive(clap::Args, Clone, Debug, Default)]
struct TraceRead {
    /// Time column of a CSV/Parquet trace (default: unix_s, timestamp, time, period, offset_s, or the first).
    #[arg(long)]
    time_col: Option<String>,
    /// Count column of a binned CSV trace (default: requests, count or events).
    #[arg(long)]
    count_col: Option<String>,
    /// Unit of numeric timestamps: s, ms or us.
    #[arg(long, default_value = "s")]
    time_unit: String,
    /// Zone of datetimes written without one: UTC, +02:00, -0400.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Bin width in seconds for binned inputs (default: inferred; 1 for plain counts).
    #[arg(long)]
    bin: Option<f64>,
    /// Malformed lines tolerated (counted and reported) before the read fails.
    #[arg(long, default_value_t = 10)]
    max_bad_lines: u64,
    /// Reject out-of-order timestamps instead of sorting them.
    #[arg(long)]
    reject_unsorted: bool,
    /// Keep a per-request attribute: a CSV column (e.g. GeneratedTokens) or an access log's
    /// `status` / `bytes`; the service model maps it to work (work.per_unit_s,
    /// work.tokens_per_unit).
    #[arg(long)]
    trace_attr: Option<String>,
}

/// Transforms applied to a trace before use.
#[derive(clap::Args, Clone, Debug, Default)]
struct TraceTransform {
    /// Keep from this many seconds after the trace start.
    #[arg(long)]
    trace_from: Option<f64>,
    /// Keep until this many seconds after the trace start.
    #[arg(long)]
    trace_to: Option<f64>,
    /// Multiply the load by this factor.
    #[arg(long)]
    trace_scale: Option<f64>,
    /// Scale so the peak rate is this many req/s.
    #[arg(long, conflicts_with = "trace_scale")]
    trace_peak: Option<f64>,
    /// Play this many times faster.
    #[arg(long)]
    trace_compress: Option<f64>,
    /// Delay the trace by this many seconds.
    #[arg(long)]
    trace_shift: Option<f64>,
    /// Append another trace after this one.
    #[arg(long)]
    trace_splice: Option<PathBuf>,
    /// Arrivals within a bin: constant (piecewise-constant rate) or linear (between bin centres).
    #[arg(long, default_value = "constant")]
    interpolate: String,
}

#[derive(Subcommand)]
enum TraceCommand {
    /// Summarise a trace: span, count, mean and peak rates, burstiness, busiest hour.
    Info {
        file: PathBuf,
        #[command(flatten)]
        read: TraceRead,
        #[command(flatten)]
        transform: TraceTransform,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read a trace (any supported format) and write scaletwin's canonical trace
    /// (Parquet with format_version; a `.csv` output name writes CSV).
    Import {
        /// The trace file (omit with --prometheus).
        #[arg(required_unless_present = "prometheus")]
        file: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
        /// Import live from this Prometheus server (http://host:9090) with a range query.
        #[arg(long, requires_all = ["query", "start", "end"])]
        prometheus: Option<String>,
        /// PromQL returning one series of per-second rates, e.g. 'sum(rate(http_requests_total[1m]))'.
        #[arg(long)]
        query: Option<String>,
        /// Range start: UTC epoch seconds or a datetime (2026-11-28T10:00:00Z).
        #[arg(long, allow_hyphen_values = true)]
        start: Option<String>,
        /// Range end.
        #[arg(long, allow_hyphen_values = true)]
        end: Option<String>,
        /// Resolution step in seconds.
        #[arg(long, default_value_t = 15.0)]
        step: f64,
        #[command(flatten)]
        read: TraceRead,
        #[command(flatten)]
        transform: TraceTransform,
    },
}

const DEFAULT_EXPERIMENT: &str = "experiments/amas.yaml";

#[derive(clap::Args)]
struct TuneArgs {
    /// The experiment file.
    #[arg(default_value = DEFAULT_EXPERIMENT)]
    experiment: PathBuf,
    /// Results folder (default: output/<experiment name>).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Continue the checkpoint in the results folder (the default whenever one of the same
    /// experiment is there; with --resume a missing checkpoint is an error).
    #[arg(long, conflicts_with = "fresh")]
    resume: bool,
    /// Discard the results folder's checkpoint and start over.
    #[arg(long)]
    fresh: bool,
    /// Evaluate only slice I of N (0-based), e.g. 3/8; combine the slices with `scaletwin merge`.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Print a Kubernetes Indexed Job that runs this sweep as N shards, and exit.
    #[arg(long, value_name = "N")]
    k8s_job: Option<usize>,
    /// Container image for --k8s-job.
    #[arg(long, default_value = "ghcr.io/scaletwin/scaletwin:latest")]
    image: String,
    /// PersistentVolumeClaim the shards write their results to (--k8s-job).
    #[arg(long, default_value = "scaletwin-results")]
    results_pvc: String,
    /// ConfigMap holding the experiment file (--k8s-job).
    #[arg(long, default_value = "scaletwin-experiment")]
    experiment_configmap: String,
}

#[derive(clap::Args)]
struct TestbedArgs {
    /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Run these manifests instead of the model's own (e.g. a recommendation's
    /// `output/amas/manifests`).
    #[arg(long)]
    manifests: Option<PathBuf>,
    /// Serve only these deployments (the entry among them); default: all.
    #[arg(long = "deployment")]
    deployments: Vec<String>,
    /// Override any model or manifest field (`model.<path>`, `manifest.<object>.<path>`).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// Address to serve on (the entry deployment on every path, plus /metrics, /status,
    /// /healthz).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Model seconds per wall-clock second (10: a 10-minute scenario in one minute).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Prometheus server that prometheus triggers query, as KEDA's scaler does (time scale 1
    /// only); without it they read the testbed's own signals.
    #[arg(long)]
    prometheus: Option<String>,
    /// `namespace` label of the kube-state-metrics series.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Stop after this long on the wall clock (90s, 15m); default: until Ctrl-C.
    #[arg(long)]
    duration: Option<String>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Start the model clock and the autoscalers at the first request.
    #[arg(long)]
    clock_from_first_request: bool,
    /// Do not print scaling decisions.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    #[command(flatten)]
    sc: ScenarioArgs,
    /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The manifests to validate (e.g. a recommendation's `output/amas/manifests`); default:
    /// the model's own.
    #[arg(long)]
    manifests: Option<PathBuf>,
    /// Override any model or manifest field (`model.<path>`, `manifest.<object>.<path>`).
    #[arg(long = "set")]
    sets: Vec<String>,
    /// The deployment whose replicas and latency are compared (default: the model's entry).
    #[arg(long)]
    deployment: Option<String>,
    /// Model seconds per wall-clock second of the target (a testbed's --time-scale; 1 for a
    /// real service). The load is given in model time and sent this much faster.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Observe through this Prometheus server (e.g. http://127.0.0.1:9090).
    #[arg(long, conflicts_with = "kubeconfig")]
    prometheus: Option<String>,
    /// The replica series in Prometheus (`{deployment}`, `{namespace}` are filled in).
    /// Default: kube_deployment_spec_replicas of the deployment.
    #[arg(long, requires = "prometheus")]
    replicas_query: Option<String>,
    /// Observe through the Kubernetes API with this kubeconfig (read-only).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, requires = "kubeconfig")]
    context: Option<String>,
    /// Also check read access to this HPA (KEDA's is keda-hpa-<name>).
    #[arg(long, requires = "kubeconfig")]
    hpa: Option<String>,
    /// Namespace of the deployment (a label matcher for Prometheus; the namespace read
    /// through the API).
    #[arg(long)]
    k8s_namespace: Option<String>,
    /// Validated when at least this share of HPA sync ticks have simulated and observed
    /// replicas within one pod.
    #[arg(long, default_value_t = 0.9)]
    min_tick_agreement: f64,
    /// Allowed relative p95 error (0.25: ±25 %), for the run and per window.
    #[arg(long, default_value_t = 0.25)]
    p95_tolerance: f64,
    /// Share of SLO windows whose p95 must be within the tolerance.
    #[arg(long, default_value_t = 0.75)]
    min_window_agreement: f64,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Wait this long after the load before reading the observer (its last scrape).
    #[arg(long, default_value = "3s")]
    settle: String,
    /// Results folder (default: output/validate-<model>).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// No per-second progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ScenarioArgs {
    /// https targets: also trust the CA certificates in this PEM file.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// A scenario file or the name of a built-in scenario (see --list); without one, the
    /// flags describe the test (--target and a load are then needed).
    scenario: Option<String>,
    /// Base URL of the service (overrides the scenario's).
    #[arg(long)]
    target: Option<String>,
    /// Path and query of every request (overrides the scenario's).
    #[arg(long)]
    path: Option<String>,
    /// Test length: 90, 90s, 15m, 2h.
    #[arg(long)]
    duration: Option<String>,
    /// Open loop at a constant rate (requests per second).
    #[arg(long, conflicts_with_all = ["users", "load"])]
    rate: Option<f64>,
    /// Closed loop with this many users.
    #[arg(long, conflicts_with = "load")]
    users: Option<u32>,
    /// Closed loop: mean think time in seconds (exponential).
    #[arg(long, requires = "users", default_value_t = 1.0)]
    think: f64,
    /// Closed loop: seconds over which the users start.
    #[arg(long, requires = "users", default_value_t = 0.0)]
    ramp_up: f64,
    /// The load model in the engine's workload syntax, e.g.
    /// `{loop: open, pattern: spike, base: 10, multiplier: 4, duration_s: 45, period_s: 300}`.
    #[arg(long)]
    load: Option<String>,
    /// Replay a recorded trace open-loop instead (see `scaletwin trace info`).
    #[arg(long, conflicts_with_all = ["rate", "users", "load"])]
    trace: Option<PathBuf>,
    /// Time compression of the trace (10: ten times faster).
    #[arg(long, requires = "trace")]
    compress: Option<f64>,
    /// Never send more than this many requests.
    #[arg(long)]
    max_requests: Option<u64>,
    /// Cap on the sending rate (requests per second).
    #[arg(long)]
    max_rps: Option<f64>,
    /// Stop when the error rate over the last 10 s exceeds this (0..1).
    #[arg(long)]
    abort_on_error_rate: Option<f64>,
    /// Per-request timeout in seconds.
    #[arg(long)]
    timeout: Option<f64>,
    /// Open loop: connections (requests in flight at most).
    #[arg(long)]
    connections: Option<u32>,
    /// SLO: minimum success rate (0..1).
    #[arg(long)]
    slo_success: Option<f64>,
    /// SLO: p95 bound in ms.
    #[arg(long)]
    slo_p95_ms: Option<f64>,
    /// Metric name prefix (`<ns>_load_test_requests_total`, ...).
    #[arg(long)]
    namespace: Option<String>,
}

#[derive(clap::Args)]
struct LoadtestArgs {
    #[command(flatten)]
    sc: ScenarioArgs,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Write a Grafana dashboard (JSON model) over the load-test and scaling metrics to
    /// PATH (`-`: stdout) and exit.
    #[arg(long, value_name = "PATH")]
    grafana_dashboard: Option<String>,
    /// Serve live Prometheus metrics at http://ADDR/metrics during the run (`off`: none).
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics_listen: String,
    /// Compare with a stored report.json and fail on a regression.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Regression tolerance: relative throughput drop.
    #[arg(long, default_value_t = 0.10)]
    tolerance_throughput: f64,
    /// Regression tolerance: success-rate drop (absolute, 0.005 = half a point).
    #[arg(long, default_value_t = 0.005)]
    tolerance_success: f64,
    /// Regression tolerance: relative rise of p50/p95/p99.
    #[arg(long, default_value_t = 0.20)]
    tolerance_latency: f64,
    /// Results folder (default: output/loadtest-<scenario>).
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// No per-second progress lines.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Load-test a service over HTTP: closed or open loop, SLO verdicts, live metrics,
    /// regression check against a stored run (exit 1 when an SLO fails or a figure regressed).
    Loadtest(Box<LoadtestArgs>),
    /// Serve a model as a live HTTP service on loopback: real workers, queues and delays,
    /// replicas changed by the real HPA/KEDA code, Prometheus metrics (kube-state-metrics
    /// names); a time scale runs it faster than life.
    Testbed(Box<TestbedArgs>),
    /// Load-test a live service running some settings, observe its replicas (Prometheus or
    /// the Kubernetes API), simulate the same arrivals and compare (exit 1 when not validated).
    Validate(Box<ValidateArgs>),
    /// Sweep autoscaler settings and recommend the cheapest that meets the constraints
    /// (default: experiments/amas.yaml, results in output/<experiment name>).
    Tune(TuneArgs),
    /// Combine the results folders of a sharded sweep (`tune --shard i/N`) into the result
    /// of the whole sweep, finishing what needs every shard (later halving rungs, the
    /// extra-load check).
    Merge {
        /// The experiment the shards ran.
        experiment: PathBuf,
        /// The shards' results folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Results folder of the merged sweep (default: output/<experiment name>).
        #[arg(short, long)]
        out: Option<PathBuf>,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Regenerate a results folder's report (report.html with its charts, summary.md,
    /// summary.json) from the folder alone.
    Report {
        /// A `tune` or `simulate` results folder.
        dir: PathBuf,
        /// Also write every chart as PNG (charts/*.png), rasterised with the system's fonts.
        #[arg(long)]
        png: bool,
    },
    /// Read, summarise and convert recorded traces.
    Trace {
        #[command(subcommand)]
        command: TraceCommand,
    },
    /// Simulate a service under its autoscalers (default: the AMAS model's day with spikes).
    Simulate {
        /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Simulate only these deployments (the entry among them); default: all. Fan-out into
        /// queues of dropped deployments is dropped with them.
        #[arg(long = "deployment")]
        deployments: Vec<String>,
        /// A workload file (YAML, e.g. `{loop: open, pattern: constant, rate: 50}`) replacing
        /// the model's scenario workload.
        #[arg(long)]
        workload: Option<PathBuf>,
        /// Shortcut for a constant open-loop workload of this many requests per second.
        #[arg(long, conflicts_with = "workload")]
        rate: Option<f64>,
        /// Replay a recorded trace (see `scaletwin trace info`) instead of the scenario's workload.
        #[arg(long, conflicts_with_all = ["workload", "rate"])]
        trace: Option<PathBuf>,
        #[command(flatten)]
        trace_read: TraceRead,
        #[command(flatten)]
        trace_transform: TraceTransform,
        /// Simulated time: 3600, 90s, 15m, 24h, 2d (default: the scenario's).
        #[arg(long)]
        duration: Option<String>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// p95 latency SLO in ms (default: the scenario's).
        #[arg(long)]
        slo_p95_ms: Option<f64>,
        /// Success-rate SLO as a fraction, e.g. 0.99 (default: the scenario's).
        #[arg(long)]
        slo_success: Option<f64>,
        /// Override any field for this run: `model.<path>`, `workload.<path>`, `slo.<path>`,
        /// `manifest.<object>.<path>`. Repeatable.
        #[arg(long = "set")]
        sets: Vec<String>,
        /// Run the fluid approximation (the sweep's cheap fidelity) instead of the engine and
        /// print its figures; writes nothing.
        #[arg(long)]
        fluid: bool,
        /// Output folder (default: output/simulate-<model>).
        #[arg(short, long)]
        out: Option<PathBuf>,
    },
    /// Find autoscaling pitfalls in manifests (default: the embedded AMAS model).
    Lint {
        /// Manifest files or folders (read recursively). Empty: the embedded AMAS model.
        paths: Vec<PathBuf>,
        /// Warnings fail the lint too (exit 1).
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// List the rules and exit.
        #[arg(long)]
        list: bool,
    },
    /// Set fields of a manifest, keeping everything else byte for byte, and show the diff.
    Patch {
        /// The manifest file.
        file: PathBuf,
        /// `FIELD=VALUE`, e.g. `spec.cooldownPeriod=300` or
        /// `spec.triggers[name=agent_queue].metadata.listLength=30`. Repeatable.
        #[arg(long = "set", required = true)]
        sets: Vec<String>,
        /// The object to patch, by metadata.name (default: the only ScaledObject/HPA in the file).
        #[arg(long)]
        object: Option<String>,
        /// Write the result to this file (atomically); `-` for standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Rewrite FILE itself (atomically).
        #[arg(long, conflicts_with = "output")]
        in_place: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Tune(a) => tune(a),
        Command::Loadtest(a) => loadtest(*a),
        Command::Testbed(a) => testbed(*a),
        Command::Validate(a) => validate(*a),
        Command::Report { dir, png } => {
            match scaletwin::report::write(&dir, scaletwin::report::Options { png }) {
                Ok(files) => {
                    for f in files {
                        println!("{}", f.display());
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => usage(e.to_string()),
            }
        }
        Command::Merge {
            experiment,
            shards,
            out,
            threads,
        } => merge(&experiment, &shards, out, threads),
        Command::Simulate {
            model,
            deployments,
            workload,
            rate,
            trace,
            trace_read,
            trace_transform,
            duration,
            seed,
            slo_p95_ms,
            slo_success,
            sets,
            fluid,
            out,
        } => {
            let trace = match trace {
                Some(p) => match load_trace(&p, &trace_read, &trace_transform) {
                    Ok(t) => Some(t),
                    Err(e) => return usage(e),
                },
                None => None,
            };
            simulate(SimulateArgs {
                fluid,
                model,
                deployments,
                workload,
                rate,
                trace,
                duration,
                seed,
                slo_p95_ms,
                slo_success,
                sets,
                out,
            })
        }
        Command::Trace { command } => match command {
            TraceCommand::Info {
                file,
                read,
                transform,
                json,
            } => {
                let t = match load_trace(&file, &read, &transform) {
                    Ok(t) => t,
                    Err(e) => return usage(e),
                };
                for (line, why) in &t.0.report.bad_examples {
                    eprintln!("warning: {}:{line}: {why}", file.display());
                }
                if t.0.report.out_of_order > 0 {
                    eprintln!(
                        "warning: {}: {} timestamps were out of order and have been sorted (--reject-unsorted refuses them)",
                        file.display(),
                        t.0.report.out_of_order
                    );
                }
                let info = t.0.info();
                if json {
                    println!("{}", serde_json::to_string_pretty(&info)?);
                } else {
                    print!("{info}");
                }
                Ok(ExitCode::SUCCESS)
            }
            TraceCommand::Import {
                file,
                output,
                prometheus,
                query,
                start,
                end,
                step,
                read,
                transform,
            } => {
                let t = match (&prometheus, &file) {
                    (Some(url), _) => {
                        let (Some(q), Some(a), Some(b)) = (&query, &start, &end) else {
                            return usage("--prometheus needs --query, --start and --end".into());
                        };
                        let times = (
                            scaletwin::trace::prometheus::parse_time(a),
                            scaletwin::trace::prometheus::parse_time(b),
                        );
                        let (Ok(a), Ok(b)) = times else {
                            return usage(format!(
                                "--start/--end: {a} / {b}: write UTC epoch seconds or a datetime like 2026-11-28T10:00:00Z"
                            ));
                        };
                        let rq = scaletwin::trace::prometheus::RangeQuery {
                            url: url.clone(),
                            query: q.clone(),
                            start: a,
                            end: b,
                            step,
                            timeout_s: 60.0,
                        };
                        match scaletwin::trace::prometheus::import(&rq) {
                            Ok(t) => t,
                            Err(e) => return usage(e.to_string()),
                        }
                    }
                    (None, Some(f)) => match load_trace(f, &read, &transform) {
                        Ok((t, _)) => t,
                        Err(e) => return usage(e),
                    },
                    (None, None) => return usage("name a trace file or --prometheus URL".into()),
                };
                let file = file
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(prometheus.clone().unwrap_or_default()));
                if let Err(e) = scaletwin::trace::read::write(&t, &output) {
                    return usage(e.to_string());
                }
                println!(
                    "{}: {} rows read ({} malformed, {} out of order, {} missing bins) -> {}",
                    file.display(),
                    t.report.rows,
                    t.report.bad_lines,
                    t.report.out_of_order,
                    t.report.missing_bins,
                    output.display()
                );
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Lint {
            paths,
            strict,
            format,
            list,
        } => {
            if list {
                for (id, name, what) in lint::RULES {
                    println!("{id}  {name:<30} {what}");
                }
                return Ok(ExitCode::SUCCESS);
            }
            let set = if paths.is_empty() {
                scaletwin::models::default_manifests()
            } else {
                manifest::load_paths(&paths)
            };
            let set = match set {
                Ok(s) => s,
                Err(e) => return Ok(input_error(&e)),
            };
            let findings = lint::lint(&set);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
                Format::Text => {
                    for f in &findings {
                        println!("{f}");
                    }
                    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
                    println!(
                        "lint: {} file(s), {} ScaledObject(s), {} HPA(s), {} Deployment(s): {} error(s), {} warning(s), {} info",
                        set.files.len(),
                        set.scaled_objects.len(),
                        set.hpas.len(),
                        set.deployments.len(),
                        count(Severity::Error),
                        count(Severity::Warning),
                        count(Severity::Info)
                    );
                }
            }
            let threshold = if strict {
                Severity::Warning
            } else {
                Severity::Error
            };
            Ok(if findings.iter().any(|f| f.severity >= threshold) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Patch {
            file,
            sets,
            object,
            output,
            in_place,
        } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {}: cannot read: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let mut set = manifest::ManifestSet::default();
            if let Err(e) = manifest::load_str(&file, &text, &mut set) {
                return Ok(input_error(&e));
            }
            let doc = match pick_document(&set, object.as_deref()) {
                Ok(d) => d,
                Err(msg) => {
                    eprintln!("error: {}: {msg}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let mut patches = Vec::new();
            for s in &sets {
                let Some((path, value)) = split_assignment(s) else {
                    eprintln!(
                        "error: --set {s}: expected FIELD=VALUE, e.g. spec.cooldownPeriod=300"
                    );
                    return Ok(ExitCode::from(2));
                };
                patches.push(Patch {
                    doc,
                    path: path.trim().to_string(),
                    value: PatchValue::scalar(value.trim()),
                });
            }
            let new = match manifest::apply_patches(&file, &text, &patches) {
                Ok(n) => n,
                Err(e) => return Ok(input_error(&e)),
            };
            // The result must still read as valid manifests.
            let mut check = manifest::ManifestSet::default();
            if let Err(e) = manifest::load_str(&file, &new, &mut check) {
                eprintln!("error: the patched file would be invalid: {e}");
                return Ok(ExitCode::from(2));
            }
            let name = file.display().to_string();
            print!("{}", manifest::unified_diff(&name, &name, &text, &new));
            let target = if in_place { Some(file.clone()) } else { output };
            match target {
                Some(p) if p.as_os_str() == "-" => print!("{new}"),
                Some(p) => {
                    write_atomic(&p, &new).with_context(|| format!("writing {}", p.display()))?
                }
                None => {}
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Split `FIELD=VALUE` at the first `=` outside `[...]` (selectors like `[name=x]` hold one).
fn split_assignment(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '=' if depth == 0 => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

struct SimulateArgs {
    fluid: bool,
    model: Option<PathBuf>,
    deployments: Vec<String>,
    workload: Option<PathBuf>,
    rate: Option<f64>,
    trace: Option<LoadedTrace>,
    duration: Option<String>,
    seed: u64,
    slo_p95_ms: Option<f64>,
    slo_success: Option<f64>,
    sets: Vec<String>,
    out: Option<PathBuf>,
}

/// A progress bar on standard error (hidden when it is not a terminal).
fn progress_bar() -> impl Fn(&str, u64, u64) + Sync {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>28} [{bar:30}] {pos}/{len} evaluations, {elapsed} elapsed, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::sync::Mutex::new(std::time::Instant::now());
    move |phase: &str, done: u64, total: u64| {
        if done == 0 {
            bar.reset();
            bar.set_length(total);
            bar.set_message(phase.to_string());
            if let Ok(mut s) = started.lock() {
                *s = std::time::Instant::now();
            }
        }
        bar.set_position(done);
        if done == total {
            bar.finish_and_clear();
            let secs = started
                .lock()
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0);
            eprintln!("{phase}: {total} evaluations in {secs:.1} s");
        }
    }
}

/// Read the experiment, its model and workloads; errors are usage errors (exit 2).
fn open_experiment(
    path: &std::path::Path,
) -> Result<
    (
        scaletwin::tune::Experiment,
        scaletwin::engine::service::ModelSources,
        Vec<scaletwin::tune::ResolvedWorkload>,
    ),
    String,
> {
    use scaletwin::tune;
    // Outside a clone, the default experiment is the copy built into the binary.
    let x = if path == std::path::Path::new(DEFAULT_EXPERIMENT) && !path.exists() {
        tune::Experiment::parse(
            "experiments/amas.yaml (built in)",
            include_str!("../experiments/amas.yaml"),
        )
    } else {
        tune::Experiment::load(path)
    }
    .map_err(|e| e.to_string())?;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let base = tune::experiment_model(&x, dir).map_err(|e| e.to_string())?;
    let w = tune::resolve_workloads(&x, dir).map_err(|e| e.to_string())?;
    Ok((x, base, w))
}

fn tune(a: TuneArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let (x, base, workloads) = match open_experiment(&a.experiment) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    if let Some(n) = a.k8s_job {
        if n == 0 {
            return usage("--k8s-job 0: give the number of shards, e.g. --k8s-job 8".into());
        }
        print!(
            "{}",
            k8s_job(
                &x.name,
                &a.experiment,
                n,
                &a.image,
                &a.results_pvc,
                &a.experiment_configmap
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let shard = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let dir = a.out.unwrap_or_else(|| {
        let d = PathBuf::from("output").join(&x.name);
        match shard {
            Some((i, _)) => d.join(format!("shard-{i}")),
            None => d,
        }
    });
    if a.resume && !dir.join("checkpoint.jsonl").exists() {
        return usage(format!(
            "--resume: {} has no checkpoint to continue (run without --resume to start)",
            dir.display()
        ));
    }
    let opts = tune::RunOptions {
        threads: a.threads,
        shard,
        fresh: a.fresh,
    };
    run_sweep(&x, &base, workloads, &dir, opts)
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s}: write I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

/// An Indexed Job that runs the sweep as `n` shards on a cluster.
fn k8s_job(
    name: &str,
    experiment: &std::path::Path,
    n: usize,
    image: &str,
    pvc: &str,
    configmap: &str,
) -> String {
    let file = experiment
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_else(|| "experiment.yaml".into());
    let job = format!(
        "scaletwin-tune-{}",
        name.to_ascii_lowercase().replace(['_', '.', ' '], "-")
    );
    format!(
        r#"# A sharded sweep of `{name}`: {n} pods, each evaluating one slice.
# 1. kubectl create configmap {configmap} --from-file={file}={path}
# 2. a PersistentVolumeClaim named {pvc} (ReadWriteMany) for the results
# 3. kubectl apply -f this file; when the Job completes, copy /results and run
#    scaletwin merge {path} results/shard-* -o output/{name}
apiVersion: batch/v1
kind: Job
metadata:
  name: {job}
spec:
  completionMode: Indexed
  completions: {n}
  parallelism: {n}
  backoffLimitPerIndex: 2
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: tune
          image: {image}
          command: ["sh", "-c"]
          args:
            - >-
              exec scaletwin tune /experiment/{file}
              --shard "${{JOB_COMPLETION_INDEX}}/{n}"
              -o "/results/shard-${{JOB_COMPLETION_INDEX}}"
          resources:
            requests: {{cpu: "2", memory: 1Gi}}
          volumeMounts:
            - {{name: experiment, mountPath: /experiment, readOnly: true}}
            - {{name: results, mountPath: /results}}
      volumes:
        - name: experiment
          configMap: {{name: {configmap}}}
        - name: results
          persistentVolumeClaim: {{claimName: {pvc}}}
"#,
        path = experiment.display()
    )
}

fn merge(
    experiment: &std::path::Path,
    shards: &[PathBuf],
    out: Option<PathBuf>,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let (x, base, workloads) = match open_experiment(experiment) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let dir = out.unwrap_or_else(|| PathBuf::from("output").join(&x.name));
    match tune::merge_checkpoints(shards, &dir) {
        Ok(n) => eprintln!("merged {n} evaluations from {} shards", shards.len()),
        Err(e) => return usage(e.to_string()),
    }
    let opts = tune::RunOptions {
        threads,
        shard: None,
        fresh: false,
    };
    run_sweep(&x, &base, workloads, &dir, opts)
}

fn run_sweep(
    x: &scaletwin::tune::Experiment,
    base: &scaletwin::engine::service::ModelSources,
    workloads: Vec<scaletwin::tune::ResolvedWorkload>,
    dir: &std::path::Path,
    opts: scaletwin::tune::RunOptions,
) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let started = std::time::Instant::now();
    let cands = tune::search::candidates(x).len();
    eprintln!(
        "tune {}: {cands} configurations ({:?} search) x {} workloads x {} seeds -> {}",
        x.name,
        x.search.strategy,
        workloads.len(),
        x.seeds.len(),
        dir.display()
    );
    let bar = progress_bar();
    let shard = opts.shard;
    let kept = workloads.clone();
    let sweep = match tune::Sweep::open(x, base, workloads, dir, opts, Some(&bar)) {
        Ok(s) => s,
        Err(e) => return usage(e.to_string()),
    };
    if sweep.resumed() > 0 {
        eprintln!(
            "resuming: {} evaluations already in the checkpoint",
            sweep.resumed()
        );
    }
    let r = match sweep.run() {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    for e in r.evaluations.iter().filter(|e| e.error.is_some()) {
        eprintln!(
            "warning: configuration {} ({}, seed {}): {}",
            e.config,
            e.workload,
            e.seed,
            e.error.clone().unwrap_or_default()
        );
    }
    let elapsed = started.elapsed().as_secs_f64();
    let Some(a) = r.analysis else {
        let (i, n) = shard.unwrap_or((0, 1));
        let t = tune::output::evaluations_table(&r.evaluations, x);
        if let Err(e) = tune::output::write_table(dir, "evaluations", &t) {
            return usage(e.to_string());
        }
        println!(
            "shard {i}/{n}: {} evaluations ({} run now) in {elapsed:.1} s -> {}; combine the shards with `scaletwin merge`",
            r.evaluations.len(),
            r.ran,
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mut files = match tune::output::write_all(dir, x, base, &r.evaluations, &a) {
        Ok(f) => f,
        Err(e) => return usage(e.to_string()),
    };
    eprintln!("recording the current settings and the recommendation for the report");
    match tune::record_timelines(base, x, &kept, &a, dir) {
        Ok(f) => files.extend(f),
        Err(e) => return usage(e.to_string()),
    }
    match base.load() {
        Ok(m) => files.push(
            scaletwin::report::write_lint(dir, &m.manifests)
                .with_context(|| format!("writing {}", dir.join("lint.json").display()))?,
        ),
        Err(e) => return usage(e.to_string()),
    }
    match scaletwin::report::write(dir, scaletwin::report::Options::default()) {
        Ok(f) => files.extend(f),
        Err(e) => return usage(e.to_string()),
    }
    print_analysis(x, &a);
    println!(
        "\n{} evaluations ({} run now) in {elapsed:.1} s; results in {}:",
        r.evaluations.len(),
        r.ran,
        dir.display()
    );
    for f in files {
        println!("  {}", f.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_analysis(x: &scaletwin::tune::Experiment, a: &scaletwin::tune::Analysis) {
    use scaletwin::tune::short;
    let mut head = format!(
        "{:>4}  {:>6}  {:>10}  {:>16}  {:>8}  {:>8}  {:>6}  {:>8}",
        "rank", "config", "pod-hours", "p95 ms (95% CI)", "success", "windows", "events", "meets"
    );
    for ax in &x.axes {
        head.push_str(&format!("  {}", short(&ax.path)));
    }
    println!("{head}");
    let line = |rank: String, r: &scaletwin::tune::Row| {
        let mut l = format!(
            "{rank:>4}  {:>6}  {:>10.2}  {:>16}  {:>7.3}%  {:>7.2}%  {:>6.0}  {:>8}",
            if r.baseline {
                "base".to_string()
            } else {
                r.config.to_string()
            },
            r.pod_hours.mean,
            format!(
                "{:.0} ({:.0}-{:.0})",
                r.p95_ms.mean, r.p95_ms.lo, r.p95_ms.hi
            ),
            r.success_rate.mean * 100.0,
            r.window_attainment.mean * 100.0,
            r.scaling_events,
            if r.feasible { "yes" } else { "no" },
        );
        for (_, v) in &r.values {
            l.push_str(&format!("  {v}"));
        }
        println!("{l}");
    };
    let shown = 15;
    for (i, r) in a.rows.iter().take(shown).enumerate() {
        line((i + 1).to_string(), r);
    }
    if a.rows.len() > shown {
        println!("  … {} more in configs.csv", a.rows.len() - shown);
    }
    if let Some(b) = &a.baseline {
        line("-".into(), b);
    }
    println!("\n{}", a.verdict);
    if let Some(r) = &a.recommendation {
        for (p, v) in &r.values {
            println!("  {p} = {v}");
        }
    }
    for c in &a.closest {
        println!(
            "  closest: configuration {} misses by {:.1}%: {}",
            c.config,
            c.violation * 100.0,
            c.binding
        );
    }
    if !a.pareto.is_empty() {
        let shown: Vec<String> = a.pareto.iter().take(12).map(|c| c.to_string()).collect();
        println!(
            "Pareto front (cost, windows met, scaling events), cheapest first: configurations {}{}",
            shown.join(", "),
            if a.pareto.len() > shown.len() {
                format!(" and {} more (analysis.json)", a.pareto.len() - shown.len())
            } else {
                String::new()
            }
        );
    }
    if !a.sensitivity.is_empty() {
        println!("Sensitivity (share of variance explained: cost / windows met):");
        for s in &a.sensitivity {
            println!(
                "  {:>5.1}% / {:>5.1}%  {}",
                s.cost_share * 100.0,
                s.attainment_share * 100.0,
                s.path
            );
        }
    }
    if let Some(g) = &a.agreement {
        println!(
            "Fluid vs engine on {} configurations: rank correlation cost {:.2}, p95 {:.2}; verdicts agree {:.0}%; winner {}",
            g.configurations,
            g.cost_rank_correlation,
            g.p95_rank_correlation,
            g.verdict_agreement * 100.0,
            if g.winner_changed {
                format!(
                    "changed ({} by the fluid approximation, {} by the engine)",
                    g.fluid_winner.map_or("none".into(), |c| c.to_string()),
                    g.engine_winner.map_or("none".into(), |c| c.to_string())
                )
            } else {
                "unchanged".into()
            }
        );
    }
}

type LoadedTrace = (scaletwin::trace::Trace, scaletwin::trace::Interpolation);

/// Read a trace and apply the transforms; the error names the file and says what to do.
fn load_trace(
    path: &std::path::Path,
    r: &TraceRead,
    t: &TraceTransform,
) -> Result<LoadedTrace, String> {
    let spec = scaletwin::trace::TraceSpec {
        path: path.to_path_buf(),
        time_col: r.time_col.clone(),
        count_col: r.count_col.clone(),
        time_unit: Some(r.time_unit.clone()),
        tz: Some(r.tz.clone()),
        bin_s: r.bin,
        max_bad_lines: Some(r.max_bad_lines),
        reject_unsorted: r.reject_unsorted,
        attr: r.trace_attr.clone(),
        splice: t.trace_splice.clone(),
        from_s: t.trace_from,
        to_s: t.trace_to,
        compress: t.trace_compress,
        scale: t.trace_scale,
        peak_rps: t.trace_peak,
        mean_rps: None,
        shift_s: t.trace_shift,
        interpolate: Some(t.interpolate.clone()),
    };
    // Name the flags as the user wrote them.
    spec.load(std::path::Path::new("")).map_err(|e| {
        const FLAGS: [(&str, &str); 8] = [
            ("tz: ", "--tz: "),
            ("time_unit ", "--time-unit "),
            ("bin_s ", "--bin "),
            ("interpolate ", "--interpolate "),
            ("peak_rps ", "--trace-peak "),
            ("scale ", "--trace-scale "),
            ("compress ", "--trace-compress "),
            ("shift_s ", "--trace-shift "),
        ];
        match FLAGS.iter().find(|(f, _)| e.starts_with(f)) {
            Some((f, flag)) => format!("{flag}{}", &e[f.len()..]),
            None => e,
        }
    })
}

/// The load test the arguments describe: a scenario (file or built-in) or the flags alone,
/// with the flags' overrides, validated (unless only a dashboard is wanted).
fn build_scenario(
    a: &ScenarioArgs,
    dashboard_only: bool,
) -> Result<scaletwin::loadtest::Scenario, String> {
    use scaletwin::loadtest::{self, Scenario};
    let mut s = match &a.scenario {
        Some(n) => match Scenario::open(n) {
            Ok(s) => s,
            Err(e) => return Err(e.to_string()),
        },
        None => Scenario {
            format_version: loadtest::LOADTEST_FORMAT_VERSION,
            name: "adhoc".into(),
            description: "load test from the command line".into(),
            target: None,
            path: "/".into(),
            method: "GET".into(),
            headers: Default::default(),
            body: None,
            load: None,
            trace: None,
            arrivals: Default::default(),
            duration_s: 60.0,
            seed: 1,
            slo: Default::default(),
            limits: Default::default(),
            expect: Default::default(),
            namespace: "scaletwin".into(),
            ca_cert: None,
            source: PathBuf::from("(command line)"),
        },
    };
    if let Some(t) = a.target.clone() {
        s.target = Some(t);
    }
    if let Some(c) = a.ca_cert.clone() {
        s.ca_cert = Some(c);
    }
    if let Some(p) = a.path.clone() {
        s.path = p;
    }
    if let Some(d) = &a.duration {
        match scaletwin::engine::output::parse_duration(d) {
            Ok(v) => s.duration_s = v,
            Err(e) => return Err(format!("--duration: {e}")),
        }
    }
    if let Some(r) = a.rate {
        s.trace = None;
        s.load = Some(scaletwin::engine::Workload::Open {
            schedule: scaletwin::engine::RateSchedule::new(scaletwin::engine::Pattern::Constant {
                rate: r,
            }),
        });
    }
    if let Some(u) = a.users {
        s.trace = None;
        s.load = Some(scaletwin::engine::Workload::Closed {
            users: scaletwin::engine::ClosedLoop {
                users: u,
                think_s: a.think,
                ramp_up_s: a.ramp_up,
            },
        });
    }
    if let Some(l) = &a.load {
        match serde_saphyr::from_str(l) {
            Ok(w) => {
                s.trace = None;
                s.load = Some(w);
            }
            Err(e) => return Err(format!("--load: {e}")),
        }
    }
    if let Some(t) = &a.trace {
        s.load = None;
        s.trace = Some(scaletwin::trace::spec::TraceSpec {
            path: t.clone(),
            compress: a.compress,
            ..Default::default()
        });
    }
    let l = &mut s.limits;
    if let Some(v) = a.max_requests {
        l.max_requests = v;
    }
    if a.max_rps.is_some() {
        l.max_rps = a.max_rps;
    }
    if a.abort_on_error_rate.is_some() {
        l.abort_on_error_rate = a.abort_on_error_rate;
    }
    if let Some(v) = a.timeout {
        l.timeout_s = v;
    }
    if let Some(v) = a.connections {
        l.connections = v;
    }
    if a.slo_success.is_some() {
        s.slo.success_rate = a.slo_success;
    }
    if a.slo_p95_ms.is_some() {
        s.slo.p95_ms = a.slo_p95_ms;
    }
    if let Some(ns) = a.namespace.clone() {
        s.namespace = ns;
    }
    if !dashboard_only {
        s.validate().map_err(|e| e.to_string())?;
    }
    Ok(s)
}

fn validate(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::validate::{self, Observer, PromObserver, Thresholds, kube_observer};
    let loaded = match open_model(a.model.as_deref(), a.manifests.as_deref(), &a.sets) {
        Ok(l) => l,
        Err(e) => return usage(e),
    };
    let sc = &a.sc;
    let no_load = sc.scenario.is_none()
        && sc.rate.is_none()
        && sc.users.is_none()
        && sc.load.is_none()
        && sc.trace.is_none();
    let mut s = match build_scenario(sc, true) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    if no_load {
        // The model's own scenario (in model time).
        s.name = format!("{}-scenario", loaded.model.name);
        s.description = format!("the {} model's scenario workload", loaded.model.name);
        s.load = Some(loaded.scenario.workload.clone());
        if sc.duration.is_none() {
            s.duration_s = loaded.scenario.duration_s;
        }
    }
    if s.target.is_none() {
        s.target = Some("http://127.0.0.1:8080".into());
    }
    if let Err(e) = s.validate() {
        return usage(e.to_string());
    }
    let compressed = match validate::compress(&s, a.time_scale) {
        Ok(c) => c,
        Err(e) => return usage(e.to_string()),
    };
    let observer = match (&a.prometheus, &a.kubeconfig) {
        (Some(url), _) => Observer::Prometheus(PromObserver {
            url: url.clone(),
            replicas_query: a.replicas_query.clone(),
            namespace: a.k8s_namespace.clone(),
        }),
        (None, Some(kc)) => Observer::Kubernetes(kube_observer::KubeObserver {
            kubeconfig: Some(kc.clone()),
            context: a.context.clone(),
            namespace: a.k8s_namespace.clone(),
            hpa: a.hpa.clone(),
        }),
        (None, None) => {
            return usage(
                "an observer is needed: --prometheus URL (replicas from kube-state-metrics or the testbed) or --kubeconfig PATH (the Kubernetes API)".into(),
            );
        }
    };
    let settle_s = match scaletwin::engine::output::parse_duration(&a.settle) {
        Ok(v) => v,
        Err(e) => return usage(format!("--settle: {e}")),
    };
    let opts = validate::Options {
        time_scale: a.time_scale,
        deployment: a.deployment.clone(),
        thresholds: Thresholds {
            ticks_within_one: a.min_tick_agreement,
            p95_tolerance: a.p95_tolerance,
            windows_within: a.min_window_agreement,
            ..Thresholds::default()
        },
        seed: a.seed,
        settle_s,
        progress: !a.quiet,
    };
    eprintln!(
        "validate: {} ({}) for {:.0} s of model time ({:.0} s on the wall clock) -> {}{}",
        s.name,
        scaletwin::loadtest::run::describe(&s.workload().map_err(|e| anyhow::anyhow!("{e}"))?),
        s.duration_s,
        compressed.duration_s,
        compressed.target.as_deref().unwrap_or(""),
        compressed.path
    );
    let run = match validate::run(&loaded, &compressed, &observer, &opts) {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("output/validate-{}", loaded.model.name)));
    let files = run
        .write(&dir)
        .with_context(|| format!("writing the results to {}", dir.display()))?;
    print!("{}", run.validation.summary());
    println!(
        "results: {} (and {} more files)",
        dir.join("report.html").display(),
        files.len().saturating_sub(1)
    );
    Ok(if run.validation.validated && !run.validation.partial {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn testbed(a: TestbedArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::testbed;
    let mut loaded = match open_model(a.model.as_deref(), a.manifests.as_deref(), &a.sets) {
        Ok(l) => l,
        Err(e) => return usage(e),
    };
    if let Err(e) = loaded.model.restrict(&a.deployments) {
        return usage(format!("--deployment: {e}"));
    }
    let listen = match a.listen.parse() {
        Ok(l) => l,
        Err(e) => return usage(format!("--listen {}: not ADDRESS:PORT ({e})", a.listen)),
    };
    let duration_s = match &a.duration {
        Some(d) => match scaletwin::engine::output::parse_duration(d) {
            Ok(v) => Some(v),
            Err(e) => return usage(format!("--duration: {e}")),
        },
        None => None,
    };
    let opts = testbed::Options {
        listen,
        time_scale: a.time_scale,
        prometheus: a.prometheus.clone(),
        namespace: a.namespace.clone(),
        duration_s,
        seed: a.seed,
        clock_from_first_request: a.clock_from_first_request,
        log_decisions: !a.quiet,
    };
    if let Err(e) = testbed::check(&loaded, &opts) {
        return usage(e.to_string());
    }
    let m = &loaded.model;
    let entry = m.deployments[m.entry].name.clone();
    let scale = a.time_scale;
    let ready = move |addr: std::net::SocketAddr| {
        eprintln!(
            "testbed: {entry} on http://{addr}/ (every path), metrics on http://{addr}/metrics, time scale {scale}"
        );
    };
    match testbed::serve(&loaded, &opts, &ready) {
        Ok(s) => {
            eprintln!(
                "testbed: stopped after {:.0} model seconds: {} requests, {} ok, {} rejected, {} scaling events",
                s.model_seconds, s.requests, s.ok, s.rejected, s.scaling_events
            );
            for (d, now, max) in &s.deployments {
                eprintln!("  {d}: {now} replicas at the end, {max} at most");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => usage(e.to_string()),
    }
}

fn loadtest(a: LoadtestArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::loadtest::{self, Scenario, report};
    if a.list {
        for (name, text) in loadtest::BUILTIN {
            let s = Scenario::parse(std::path::Path::new(name), text)?;
            println!("{name:<20} {}", s.description);
        }
        println!("\n(files in scenarios/; run one with `scaletwin loadtest NAME --target URL`)");
        return Ok(ExitCode::SUCCESS);
    }
    let s = match build_scenario(&a.sc, a.grafana_dashboard.is_some()) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    if let Some(p) = &a.grafana_dashboard {
        let ns =
            a.sc.namespace
                .clone()
                .unwrap_or_else(|| s.namespace.clone());
        let text = serde_json::to_string_pretty(&loadtest::grafana::dashboard(&ns))? + "\n";
        if p == "-" {
            print!("{text}");
        } else {
            scaletwin::engine::output::write_atomic(std::path::Path::new(p), text.as_bytes())
                .with_context(|| format!("writing {p}"))?;
            println!("Grafana dashboard for `{ns}_load_test_*` written to {p} (import it as is)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let baseline = match &a.baseline {
        Some(p) => match report::LoadReport::read(p) {
            Ok(r) => Some(r),
            Err(e) => return usage(format!("--baseline: {e}")),
        },
        None => None,
    };
    let metrics_listen = if a.metrics_listen == "off" {
        None
    } else {
        match a.metrics_listen.parse() {
            Ok(addr) => Some(addr),
            Err(e) => {
                return usage(format!(
                    "--metrics-listen: `{}` is not ADDRESS:PORT or `off`: {e}",
                    a.metrics_listen
                ));
            }
        }
    };
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("output/loadtest-{}", s.name)));
    let opts = loadtest::run::RunOptions {
        metrics_listen,
        progress: !a.quiet,
        on_metrics: Some(|addr| eprintln!("metrics: http://{addr}/metrics")),
        record_samples: false,
        stop_on_ctrl_c: true,
    };
    eprintln!(
        "loadtest {}: {} for {:.0} s -> {}{}",
        s.name,
        s.workload()
            .map(|w| loadtest::run::describe(&w))
            .unwrap_or_default(),
        s.duration_s,
        s.target.as_deref().unwrap_or(""),
        s.path
    );
    let r = match loadtest::run::run(&s, &opts) {
        Ok(r) => r,
        Err(e) => return usage(e.to_string()),
    };
    let files = r
        .write(&dir)
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    print!("{}", r.summary());
    let mut failed = !r.slo.passed() || r.partial;
    if let Some(b) = baseline {
        let checks = report::compare(
            &r,
            &b,
            &report::Tolerances {
                throughput: a.tolerance_throughput,
                success_rate: a.tolerance_success,
                latency: a.tolerance_latency,
            },
        );
        let text = report::comparison_text(&checks);
        print!("{text}");
        let p = dir.join("baseline-comparison.json");
        scaletwin::engine::output::write_atomic(
            &p,
            (serde_json::to_string_pretty(&checks)? + "\n").as_bytes(),
        )?;
        failed |= checks.iter().any(|c| c.regressed);
    }
    println!(
        "results: {}",
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn usage(msg: String) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(2))
}

/// A model folder (default: the embedded AMAS model), its manifests optionally replaced by
/// another folder's, with `--set` overrides applied; errors are usage errors.
fn open_model(
    model: Option<&std::path::Path>,
    manifests: Option<&std::path::Path>,
    sets: &[String],
) -> Result<scaletwin::engine::service::LoadedModel, String> {
    use scaletwin::engine::service;
    let mut sources = match model {
        Some(dir) => service::ModelSources::read_dir(dir).map_err(|e| e.to_string())?,
        None => service::embedded_amas(),
    };
    if let Some(dir) = manifests {
        sources = sources.with_manifests(dir).map_err(|e| e.to_string())?;
    }
    let mut pairs = Vec::new();
    for s in sets {
        match split_assignment(s) {
            Some((k, v)) => pairs.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                return Err(format!(
                    "--set {s}: expected PATH=VALUE, e.g. model.deployments.amas-worker.serving.concurrency=8"
                ));
            }
        }
    }
    sources.apply_overrides(&pairs).map_err(|e| e.to_string())?;
    sources.load().map_err(|e| e.to_string())
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::engine::{self, output};
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
    if let Some((t, interp)) = &a.trace {
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
    let cfg = engine::RunConfig {
        duration_s: scenario.duration_s,
        seed: a.seed,
        window_s: scenario.window_s,
        slo: scenario.slo,
        record_decisions: true,
        warmup_s: 0.0,
    };
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
    written.push(
        scaletwin::report::write_lint(&dir, &loaded.manifests)
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

fn input_error(e: &ManifestError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// The document index of the object to patch.
fn pick_document(set: &manifest::ManifestSet, object: Option<&str>) -> Result<usize, String> {
    let mut candidates: Vec<(String, usize)> = set
        .scaled_objects
        .iter()
        .map(|s| (s.spec.name.clone(), s.source.doc))
        .collect();
    candidates.extend(set.hpas.iter().map(|h| (h.name.clone(), h.source.doc)));
    candidates.extend(
        set.deployments
            .iter()
            .map(|d| (d.name.clone(), d.source.doc)),
    );
    match object {
        Some(name) => {
            // Prefer the autoscaler of that name over its Deployment.
            candidates
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| *d)
                .ok_or_else(|| format!("no object named {name} (objects: {})", names(&candidates)))
        }
        None => {
            let autoscalers: Vec<_> = candidates
                .iter()
                .take(set.scaled_objects.len() + set.hpas.len())
                .collect();
            match autoscalers.as_slice() {
                [one] => Ok(one.1),
                [] => {
                    Err("the file has no ScaledObject or HPA; name the object with --object".into())
                }
                _ => Err(format!(
                    "the file has several autoscalers; choose one with --object ({})",
                    names(&candidates)
                )),
            }
        }
    }
}

fn names(c: &[(String, usize)]) -> String {
    c.iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Write a file through a temporary file in the same folder and a rename.
fn write_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
