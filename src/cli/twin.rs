//! `scaletwin record`, `calibrate` and `backtest`: a twin of the user's own service from its
//! Prometheus.

use super::usage;
use std::path::PathBuf;
use std::process::ExitCode;

/// Where and what to record: the server, the deployments, the range and the queries.
/// `record` requires the server, namespace and range; `calibrate` takes them in place of a
/// bundle. They are optional to clap (so calibrate can do without) and checked here.
#[derive(clap::Args)]
pub struct RangeArgs {
    /// Prometheus server (http://host:9090).
    #[arg(long, requires_all = ["namespace", "start", "end"])]
    pub prometheus: Option<String>,
    /// Kubernetes namespace of the deployments.
    #[arg(long, requires = "prometheus")]
    pub namespace: Option<String>,
    /// Deployments to record (repeat); default: every one kube-state-metrics reports in the
    /// namespace.
    #[arg(long = "deployment")]
    pub deployments: Vec<String>,
    /// Range start: UTC epoch seconds or a datetime (2026-11-28T10:00:00Z).
    #[arg(long, allow_hyphen_values = true, requires = "prometheus")]
    pub start: Option<String>,
    /// Range end.
    #[arg(long, allow_hyphen_values = true, requires = "prometheus")]
    pub end: Option<String>,
    /// Resolution: 15s, 1m, ...
    #[arg(long, default_value = "15s")]
    pub step: String,
    /// Window of every rate() in the queries (a Prometheus duration).
    #[arg(long, default_value = "1m")]
    pub rate_window: String,
    /// YAML file overriding the query templates (`selector`, `pod_selector`,
    /// `queries: {key: template}`; see the README).
    #[arg(long)]
    pub queries: Option<PathBuf>,
    /// Give up on a query after this long.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Model seconds per wall-clock second of the service (a testbed's --time-scale): times,
    /// rates and latency buckets are mapped back to model time.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

#[derive(clap::Args)]
pub struct RecordArgs {
    #[command(flatten)]
    pub range: RangeArgs,
    /// Manifests in effect during the range, copied into the bundle (manifests/).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// The bundle folder to write.
    #[arg(short, long)]
    pub out: PathBuf,
}

/// The record options of a range (the bundle written to `out`), or the usage error.
fn record_options(
    a: RangeArgs,
    manifests: Option<PathBuf>,
    out: PathBuf,
) -> Result<scaletwin::twin::record::RecordOptions, String> {
    use scaletwin::twin::record::{QuerySet, RecordOptions};
    let time = |flag: &str, s: &str| {
        scaletwin::trace::prometheus::parse_time(s).map_err(|e| {
            format!(
                "{flag} {s}: {e}; write UTC epoch seconds or a datetime like 2026-11-28T10:00:00Z"
            )
        })
    };
    let need = |v: Option<String>, flag: &str| {
        v.ok_or_else(|| format!("{flag} is required (the recording's server, namespace and range)"))
    };
    let prometheus = need(a.prometheus, "--prometheus URL")?;
    let namespace = need(a.namespace, "--namespace NS")?;
    let start = time("--start", &need(a.start, "--start T")?)?;
    let end = time("--end", &need(a.end, "--end T")?)?;
    let dur = |flag: &str, s: &str| {
        scaletwin::engine::output::parse_duration(s).map_err(|e| format!("{flag}: {e}"))
    };
    let step = dur("--step", &a.step)?;
    let timeout = dur("--timeout", &a.timeout)?;
    let queries = match &a.queries {
        Some(p) => QuerySet::from_file(p).map_err(|e| e.to_string())?,
        None => QuerySet::default(),
    };
    Ok(RecordOptions {
        prometheus,
        namespace,
        deployments: a.deployments,
        start_unix_s: start,
        end_unix_s: end,
        step_s: step,
        rate_window: a.rate_window,
        queries,
        manifests,
        out,
        timeout_s: timeout,
        time_scale: a.time_scale,
    })
}

pub fn record(a: RecordArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::twin::record::record;
    let o = match record_options(a.range, a.manifests, a.out) {
        Ok(o) => o,
        Err(e) => return usage(e),
    };
    match record(&o, &mut |line| eprintln!("record: {line}")) {
        Ok(b) => {
            let i = &b.info;
            println!(
                "bundle {}: {} deployment(s), {:.0} s at {} s steps; {} queries answered, {} found nothing",
                b.dir.display(),
                i.deployments.len(),
                i.end_unix_s - i.start_unix_s,
                i.step_s,
                i.series.len(),
                i.absent.len()
            );
            for x in &i.absent {
                println!(
                    "  absent: {} {} — `{}` found nothing; used for: {}",
                    x.deployment, x.key, x.query, x.purpose
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::failed(&e, e.exit_code()),
    }
}

#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// A bundle folder written by `scaletwin record`; or none, with --prometheus and the
    /// range, to record one first (into <out>/bundle, kept for backtests and tickets).
    #[arg(
        required_unless_present_any = ["prometheus", "probe"],
        conflicts_with_all = ["prometheus", "probe"]
    )]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub range: Option<RangeArgs>,
    /// Probe a running service instead: stepped open-loop load against --target with its
    /// replicas pinned (--pods), up to the knee; estimates service time and concurrency.
    #[arg(long, requires_all = ["target", "pods"], conflicts_with = "prometheus")]
    pub probe: bool,
    /// The service the probe loads (http://host:port/path).
    #[arg(long, requires = "probe")]
    pub target: Option<String>,
    /// Ready pods serving the target during the probe.
    #[arg(long, requires = "probe")]
    pub pods: Option<u32>,
    /// The probe's first rate, requests/s.
    #[arg(long, default_value_t = 1.0)]
    pub probe_start_rps: f64,
    /// Each step's rate over the previous one's.
    #[arg(long, default_value_t = 1.5)]
    pub probe_factor: f64,
    /// Length of each step (30s, 1m, ...).
    #[arg(long, default_value = "60s")]
    pub probe_step: String,
    /// No step above this rate (requests/s).
    #[arg(long, default_value_t = 1000.0)]
    pub probe_max_rps: f64,
    /// Model seconds per wall-clock second of the target (a testbed's --time-scale).
    #[arg(long, default_value_t = 1.0)]
    pub probe_time_scale: f64,
    /// The deployment the probe measures (default: the model's entry).
    #[arg(long, requires = "probe")]
    pub probe_deployment: Option<String>,
    /// The model whose structure is kept (deployments, queues, bindings, SLOs) and whose
    /// parameters are estimated from the bundle. Without it, the structure is read from
    /// --manifests (or the bundle's manifests/), and what they cannot say is assumed and
    /// listed.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Manifests of the calibrated model: laid over the model's, or, without --model, the
    /// Deployments and ScaledObjects/HPAs the structure is read from (default: the bundle's
    /// manifests/, when it has some).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Requests one pod serves at once, `N` for every deployment or `DEPLOYMENT=N` (repeat):
    /// kept where the data shows no saturation to measure it (ahead of the model's value and
    /// the Deployment's scaletwin.dev/concurrency annotation).
    #[arg(long, value_parser = scaletwin::twin::structure::parse_concurrency)]
    pub concurrency: Vec<(String, u32)>,
    /// The model folder to write (service.yaml, manifests, calibration.json).
    #[arg(short, long)]
    pub out: PathBuf,
}

/// Print a calibration and where it went.
fn calibrated(c: &scaletwin::twin::calibrate::Calibration, out: &std::path::Path) {
    print!("{}", c.summary());
    println!(
        "calibrated model written to {} (each estimate in calibration.json)",
        out.display()
    );
}

pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::twin::calibrate::{CalibrateOptions, calibrate};
    let structure = scaletwin::twin::structure::StructureOptions {
        model: a.model,
        manifests: a.manifests.clone(),
        concurrency: a.concurrency.into_iter().collect(),
    };
    if a.probe {
        let step = match scaletwin::engine::output::parse_duration(&a.probe_step) {
            Ok(s) => s,
            Err(e) => return usage(format!("--probe-step: {e}")),
        };
        let o = scaletwin::twin::probe::ProbeOptions {
            target: a.target.unwrap_or_default(),
            pods: a.pods.unwrap_or(0),
            start_rps: a.probe_start_rps,
            factor: a.probe_factor,
            step_s: step,
            max_rps: a.probe_max_rps,
            time_scale: a.probe_time_scale,
            deployment: a.probe_deployment,
            structure,
            out: a.out,
        };
        return match scaletwin::twin::probe::probe(&o, &mut |l| eprintln!("probe: {l}")) {
            Ok(c) => {
                calibrated(&c, &o.out);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => super::failed(&e, e.exit_code()),
        };
    }
    let bundle = match (a.bundle, a.range) {
        (Some(b), _) => b,
        (None, Some(range)) => {
            // Straight from Prometheus: record first, into the model folder, so the
            // estimates can be checked and backtested offline.
            let dir = a.out.join("bundle");
            let o = match record_options(range, a.manifests.clone(), dir) {
                Ok(o) => o,
                Err(e) => return usage(e),
            };
            match scaletwin::twin::record::record(&o, &mut |line| eprintln!("record: {line}")) {
                Ok(b) => b.dir,
                Err(e) => return super::failed(&e, e.exit_code()),
            }
        }
        (None, None) => {
            return usage(
                "give a bundle folder, or --prometheus with --namespace, --start and --end".into(),
            );
        }
    };
    let o = CalibrateOptions {
        bundle,
        structure,
        out: a.out,
    };
    match calibrate(&o) {
        Ok(c) => {
            calibrated(&c, &o.out);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::failed(&e, e.exit_code()),
    }
}

#[derive(clap::Args)]
pub struct BacktestArgs {
    /// A bundle folder written by `scaletwin record`.
    pub bundle: PathBuf,
    /// The model to replay the recorded load through (e.g. `calibrate`'s output).
    #[arg(long)]
    pub model: PathBuf,
    /// The manifests in effect during the recorded range, laid over the model's.
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// The deployment compared (default: the model's entry).
    #[arg(long)]
    pub deployment: Option<String>,
    #[command(flatten)]
    pub agreement: super::AgreementArgs,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Results folder (default: output/backtest-<deployment>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

pub fn backtest(a: BacktestArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::twin::backtest::{BacktestOptions, backtest};
    let o = BacktestOptions {
        bundle: a.bundle,
        model: a.model,
        manifests: a.manifests,
        deployment: a.deployment,
        thresholds: a.agreement.thresholds(),
        seed: a.seed,
    };
    let r = match backtest(&o) {
        Ok(r) => r,
        Err(e) => return super::failed(&e, e.exit_code()),
    };
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("output/backtest-{}", r.deployment)));
    if let Err(e) = r.write(&dir) {
        return super::failed(&e, e.exit_code());
    }
    print!("{}", r.summary());
    println!("results in {}", dir.display());
    Ok(if r.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
