//! `scaletwin validate`: load-test the live service, observe it, simulate the same arrivals
//! and compare.

use super::{open_model, usage};
use anyhow::Context;
use scaletwin::loadtest::ScenarioFlags;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub sc: ScenarioFlags,
    /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The manifests to validate, laid over the model's (e.g. a recommendation's
    /// `output/amas/manifests`, which holds only the files it changed): a file named like one
    /// of the model's replaces it, any other is added. Default: the model's own.
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Override any model or manifest field (`model.<path>`, `manifest.<object>.<path>`).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// The deployment whose replicas and latency are compared (default: the model's entry).
    #[arg(long)]
    pub deployment: Option<String>,
    /// Observe through this Prometheus server (e.g. http://127.0.0.1:9090).
    #[arg(long, conflicts_with = "kubeconfig")]
    pub prometheus: Option<String>,
    /// The replica series in Prometheus (`{deployment}`, `{namespace}` are filled in).
    /// Default: kube_deployment_spec_replicas of the deployment.
    #[arg(long, requires = "prometheus")]
    pub replicas_query: Option<String>,
    /// Observe through the Kubernetes API with this kubeconfig (read-only).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current one).
    #[arg(long, requires = "kubeconfig")]
    pub context: Option<String>,
    /// Also check read access to this HPA (KEDA's is keda-hpa-<name>).
    #[arg(long, requires = "kubeconfig")]
    pub hpa: Option<String>,
    /// Namespace of the deployment (a label matcher for Prometheus; the namespace read
    /// through the API).
    #[arg(long)]
    pub k8s_namespace: Option<String>,
    #[command(flatten)]
    pub agreement: super::AgreementArgs,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Wait this long after the load before reading the observer (its last scrape).
    #[arg(long, default_value = "3s")]
    pub settle: String,
    /// Results folder (default: output/validate-<model>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// No per-second progress lines.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::validate::{self, Observe, PromObserver, kube_observer};
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
    let mut s = match sc.scenario(true) {
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
    let time_scale = sc.time_scale.unwrap_or(1.0);
    let compressed = match scaletwin::loadtest::run::compressed(&s, time_scale) {
        Ok(c) => c,
        Err(e) => return usage(e.to_string()),
    };
    let observer = match (&a.prometheus, &a.kubeconfig) {
        (Some(url), _) => Box::new(PromObserver {
            url: url.clone(),
            replicas_query: a.replicas_query.clone(),
            namespace: a.k8s_namespace.clone(),
        }) as Box<dyn Observe>,
        (None, Some(kc)) => Box::new(kube_observer::KubeObserver {
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
        time_scale,
        deployment: a.deployment.clone(),
        thresholds: a.agreement.thresholds(),
        seed: a.seed,
        settle_s,
        progress: !a.quiet,
    };
    // What the run will take on the wall clock, said before it starts: a model's day at
    // time scale 10 is hours of load.
    let wall = compressed.duration_s + settle_s;
    let planned = if wall >= 3600.0 {
        format!(
            "{:.0} h {:.0} min",
            (wall / 3600.0).floor(),
            (wall % 3600.0) / 60.0
        )
    } else {
        format!("{:.0} min {:.0} s", (wall / 60.0).floor(), wall % 60.0)
    };
    eprintln!(
        "validate: {} ({}) for {:.0} s of model time; planned wall-clock time {planned} ({:.0} s of load + {:.0} s to settle) -> {}{}",
        s.name,
        scaletwin::loadtest::run::describe(&s.workload().map_err(|e| anyhow::anyhow!("{e}"))?),
        s.duration_s,
        compressed.duration_s,
        settle_s,
        compressed
            .target
            .as_deref()
            .map(scaletwin::loadtest::redact)
            .unwrap_or_default(),
        compressed.path
    );
    let run = match validate::run(&loaded, &compressed, observer.as_ref(), &opts) {
        Ok(r) => r,
        Err(e) => return super::failed(&e, e.exit_code()),
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
