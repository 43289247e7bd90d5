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

#[derive(Subcommand)]
enum Command {
    /// Sweep autoscaler settings and recommend the cheapest that meets the constraints
    /// (first part: grid, replications, checkpoint/resume; default: experiments/amas.yaml).
    Tune {
        /// The experiment file.
        #[arg(default_value = "experiments/amas.yaml")]
        experiment: PathBuf,
        /// Results folder (default: output/<experiment name>). An existing checkpoint there is
        /// resumed.
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
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
        Command::Tune {
            experiment,
            out,
            threads,
        } => tune(&experiment, out, threads),
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

fn tune(
    path: &std::path::Path,
    out: Option<PathBuf>,
    threads: Option<usize>,
) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let x = match tune::Experiment::load(path) {
        Ok(x) => x,
        Err(e) => return usage(e.to_string()),
    };
    let base = match tune::experiment_model(&x, path.parent().unwrap_or(std::path::Path::new(".")))
    {
        Ok(b) => b,
        Err(e) => return usage(e.to_string()),
    };
    let dir = out.unwrap_or_else(|| PathBuf::from("output").join(&x.name));
    let n = x.grid_size() * x.seeds.len();
    eprintln!(
        "tune {}: {} configurations x {} seeds = {n} evaluations -> {}",
        x.name,
        x.grid_size(),
        x.seeds.len(),
        dir.display()
    );
    let started = std::time::Instant::now();
    let evals = match tune::run_experiment(&x, &base, &dir, threads) {
        Ok(e) => e,
        Err(e) => return usage(e.to_string()),
    };
    for e in evals.iter().filter(|e| e.error.is_some()) {
        eprintln!(
            "warning: configuration {} seed {}: {}",
            e.config,
            e.seed,
            e.error.clone().unwrap_or_default()
        );
    }
    let aggs = tune::aggregate(&evals, &x.constraints);
    scaletwin::engine::output::write_atomic(
        &dir.join("results.csv"),
        tune::results_csv(&evals, &x.axes).as_bytes(),
    )
    .with_context(|| format!("writing {}", dir.display()))?;
    let summary = serde_json::json!({ "format_version": tune::EXPERIMENT_FORMAT_VERSION, "experiment": x.name, "configurations": aggs, "recommendation": tune::recommend(&aggs) });
    scaletwin::engine::output::write_atomic(
        &dir.join("aggregates.json"),
        (serde_json::to_string_pretty(&summary)? + "\n").as_bytes(),
    )?;
    println!(
        "{:>6}  {:>10}  {:>9}  {:>9}  {:>6}  settings",
        "config", "pod-hours", "p95 ms", "success", "meets"
    );
    for a in &aggs {
        let settings: Vec<String> = a
            .values
            .iter()
            .map(|(p, v)| format!("{}={v}", p.rsplit('.').next().unwrap_or(p)))
            .collect();
        println!(
            "{:>6}  {:>10.2}  {:>9.1}  {:>9.4}  {:>6}  {}",
            a.config,
            a.pod_hours,
            a.p95_ms,
            a.success_rate,
            if a.meets { "yes" } else { "no" },
            settings.join(" ")
        );
    }
    match tune::recommend(&aggs) {
        Some(r) => {
            println!(
                "\nrecommendation: configuration {} ({:.2} pod-hours, p95 {:.0} ms, success {:.3}%)",
                r.config,
                r.pod_hours,
                r.p95_ms,
                r.success_rate * 100.0
            );
            for (p, v) in &r.values {
                println!("  {p} = {v}");
            }
        }
        None => println!("\nno configuration meets every constraint"),
    }
    println!(
        "{n} evaluations in {:.1} s; results: {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

type LoadedTrace = (scaletwin::trace::Trace, scaletwin::trace::Interpolation);

/// Read a trace and apply the transforms; the error names the file and says what to do.
fn load_trace(
    path: &std::path::Path,
    r: &TraceRead,
    t: &TraceTransform,
) -> Result<LoadedTrace, String> {
    use scaletwin::trace::{Interpolation, read};
    let unit = match r.time_unit.as_str() {
        "s" => read::TimeUnit::Seconds,
        "ms" => read::TimeUnit::Millis,
        "us" => read::TimeUnit::Micros,
        other => return Err(format!("--time-unit {other}: use s, ms or us")),
    };
    if let Some(b) = r.bin
        && !(b.is_finite() && b > 0.0)
    {
        return Err(format!("--bin {b}: must be > 0"));
    }
    let opts = read::ReadOptions {
        time_col: r.time_col.clone(),
        count_col: r.count_col.clone(),
        time_unit: unit,
        bin_s: r.bin,
        max_bad_lines: r.max_bad_lines,
        reject_unsorted: r.reject_unsorted,
        attr: r.trace_attr.clone(),
        ..read::ReadOptions::default()
    }
    .with_tz(&r.tz)
    .map_err(|e| format!("--tz: {e}"))?;
    let interp = match t.interpolate.as_str() {
        "constant" => Interpolation::Constant,
        "linear" => Interpolation::Linear,
        other => return Err(format!("--interpolate {other}: use constant or linear")),
    };
    for (name, v) in [
        ("trace-scale", t.trace_scale),
        ("trace-peak", t.trace_peak),
        ("trace-compress", t.trace_compress),
    ] {
        if let Some(x) = v
            && !(x.is_finite() && x > 0.0)
        {
            return Err(format!("--{name} {x}: must be > 0"));
        }
    }
    let mut trace = read::read(path, &opts).map_err(|e| e.to_string())?;
    if let Some(other) = &t.trace_splice {
        let o = read::read(other, &opts).map_err(|e| e.to_string())?;
        trace.splice(&o);
    }
    if t.trace_from.is_some() || t.trace_to.is_some() {
        let from = t.trace_from.unwrap_or(0.0);
        let to = t.trace_to.unwrap_or(f64::INFINITY);
        if !(from >= 0.0 && to > from) {
            return Err(format!(
                "--trace-from {from} --trace-to {to}: need 0 <= from < to"
            ));
        }
        trace.window(from, to);
    }
    if let Some(k) = t.trace_compress {
        trace.compress(k);
    }
    if let Some(k) = t.trace_scale {
        trace.scale(k);
    }
    if let Some(p) = t.trace_peak {
        trace
            .scale_to_peak(p)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(s) = t.trace_shift {
        if !(s.is_finite() && s >= 0.0) {
            return Err(format!("--trace-shift {s}: must be >= 0"));
        }
        trace.shift(s);
    }
    Ok((trace, interp))
}

fn usage(msg: String) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(2))
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::engine::{self, output, service};
    let mut sources = match &a.model {
        Some(dir) => match service::ModelSources::read_dir(dir) {
            Ok(s) => s,
            Err(e) => return usage(e.to_string()),
        },
        None => service::embedded_amas(),
    };
    let mut sets = Vec::new();
    for s in &a.sets {
        match split_assignment(s) {
            Some((k, v)) => sets.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                return usage(format!(
                    "--set {s}: expected PATH=VALUE, e.g. model.deployments.amas-worker.serving.concurrency=8"
                ));
            }
        }
    }
    if let Err(e) = sources.apply_overrides(&sets) {
        return usage(e.to_string());
    }
    let loaded = match sources.load() {
        Ok(l) => l,
        Err(e) => return usage(e.to_string()),
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
