//! `scaletwin record`, `calibrate` and `backtest`: a twin of the user's own service from its
//! Prometheus.

use super::usage;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct RecordArgs {
    /// Prometheus server (http://host:9090).
    #[arg(long)]
    pub prometheus: String,
    /// Kubernetes namespace of the deployments.
    #[arg(long)]
    pub namespace: String,
    /// Deployments to record (repeat); default: every one kube-state-metrics reports in the
    /// namespace.
    #[arg(long = "deployment")]
    pub deployments: Vec<String>,
    /// Range start: UTC epoch seconds or a datetime (2026-11-28T10:00:00Z).
    #[arg(long, allow_hyphen_values = true)]
    pub start: String,
    /// Range end.
    #[arg(long, allow_hyphen_values = true)]
    pub end: String,
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
    /// Manifests in effect during the range, copied into the bundle (manifests/).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Give up on a query after this long.
    #[arg(long, default_value = "30s")]
    pub timeout: String,
    /// Model seconds per wall-clock second of the service (a testbed's --time-scale): times,
    /// rates and latency buckets are mapped back to model time.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// The bundle folder to write.
    #[arg(short, long)]
    pub out: PathBuf,
}

pub fn record(a: RecordArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::twin::record::{QuerySet, RecordOptions, record};
    let time = |flag: &str, s: &str| {
        scaletwin::trace::prometheus::parse_time(s).map_err(|e| {
            format!(
                "{flag} {s}: {e}; write UTC epoch seconds or a datetime like 2026-11-28T10:00:00Z"
            )
        })
    };
    let (start, end) = match (time("--start", &a.start), time("--end", &a.end)) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let dur = |flag: &str, s: &str| {
        scaletwin::engine::output::parse_duration(s).map_err(|e| format!("{flag}: {e}"))
    };
    let (step, timeout) = match (dur("--step", &a.step), dur("--timeout", &a.timeout)) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    let queries = match &a.queries {
        Some(p) => match QuerySet::from_file(p) {
            Ok(q) => q,
            Err(e) => return super::failed(&e, e.exit_code()),
        },
        None => QuerySet::default(),
    };
    let o = RecordOptions {
        prometheus: a.prometheus,
        namespace: a.namespace,
        deployments: a.deployments,
        start_unix_s: start,
        end_unix_s: end,
        step_s: step,
        rate_window: a.rate_window,
        queries,
        manifests: a.manifests,
        out: a.out,
        timeout_s: timeout,
        time_scale: a.time_scale,
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
    /// A bundle folder written by `scaletwin record`.
    pub bundle: PathBuf,
    /// The model whose structure is kept (deployments, queues, bindings, SLOs) and whose
    /// parameters are estimated from the bundle.
    #[arg(long)]
    pub model: PathBuf,
    /// Manifests of the calibrated model, laid over the model's (default: the bundle's
    /// manifests/, when it has some).
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// The model folder to write (service.yaml, manifests, calibration.json).
    #[arg(short, long)]
    pub out: PathBuf,
}

pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::twin::calibrate::{CalibrateOptions, calibrate};
    let o = CalibrateOptions {
        bundle: a.bundle,
        model: a.model,
        manifests: a.manifests,
        out: a.out,
    };
    match calibrate(&o) {
        Ok(c) => {
            print!("{}", c.summary());
            println!(
                "calibrated model written to {} (each estimate in calibration.json)",
                o.out.display()
            );
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
