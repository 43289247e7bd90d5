//! `scaletwin testbed`: a model served as a live HTTP service on loopback.

use super::{open_model, usage};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TestbedArgs {
    /// Model folder (service.yaml + manifests). Default: the embedded AMAS model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Lay these manifests over the model's (e.g. a recommendation's `output/amas/manifests`,
    /// which holds only the files it changed): a file named like one of the model's replaces
    /// it, any other is added.
    #[arg(long)]
    pub manifests: Option<PathBuf>,
    /// Serve only these deployments (the entry among them); default: all.
    #[arg(long = "deployment")]
    pub deployments: Vec<String>,
    /// Override any model or manifest field (`model.<path>`, `manifest.<object>.<path>`).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// Address to serve on (the entry deployment on every path, plus /metrics, /status,
    /// /healthz).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Model seconds per wall-clock second (10: a 10-minute scenario in one minute).
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Prometheus server that prometheus triggers query, as KEDA's scaler does (time scale 1
    /// only); without it they read the testbed's own signals.
    #[arg(long)]
    pub prometheus: Option<String>,
    /// `namespace` label of the kube-state-metrics series.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Stop after this long on the wall clock (90s, 15m); default: until Ctrl-C.
    #[arg(long)]
    pub duration: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Start the model clock and the autoscalers at the first request.
    #[arg(long)]
    pub clock_from_first_request: bool,
    /// Do not print scaling decisions.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: TestbedArgs) -> anyhow::Result<ExitCode> {
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
        return super::failed(&e, e.exit_code());
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
            for (d, r) in &s.deployments {
                eprintln!(
                    "  {d}: {} replicas at the end, {} at most; {} scale-ups, {} scale-downs, {} reversals",
                    r.spec, r.max_seen, r.ups, r.downs, r.reversals
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => super::failed(&e, e.exit_code()),
    }
}
