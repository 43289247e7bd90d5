//! The flags that describe a load test on the command line (`loadtest`, `validate`), and the
//! scenario they make.

use super::{LOADTEST_FORMAT_VERSION, Scenario};
use std::path::PathBuf;

/// A load test as the command line describes it: a scenario (a file or a built-in one) and
/// flags that override its fields, or the flags alone.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ScenarioFlags {
    /// https targets: also trust the CA certificates in this PEM file.
    #[arg(long)]
    pub ca_cert: Option<PathBuf>,
    /// A scenario file or the name of a built-in scenario (see --list); without one, the
    /// flags describe the test (--target and a load are then needed).
    pub scenario: Option<String>,
    /// Base URL of the service (overrides the scenario's).
    #[arg(long)]
    pub target: Option<String>,
    /// Path and query of every request (overrides the scenario's).
    #[arg(long)]
    pub path: Option<String>,
    /// Test length: 90, 90s, 15m, 2h.
    #[arg(long)]
    pub duration: Option<String>,
    /// Open loop at a constant rate (requests per second).
    #[arg(long, conflicts_with_all = ["users", "load"])]
    pub rate: Option<f64>,
    /// Closed loop with this many users.
    #[arg(long, conflicts_with = "load")]
    pub users: Option<u32>,
    /// Closed loop: mean think time in seconds (exponential).
    #[arg(long, requires = "users", default_value_t = 1.0)]
    pub think: f64,
    /// Closed loop: seconds over which the users start.
    #[arg(long, requires = "users", default_value_t = 0.0)]
    pub ramp_up: f64,
    /// The load model in the engine's workload syntax, e.g.
    /// `{loop: open, pattern: spike, base: 10, multiplier: 4, duration_s: 45, period_s: 300}`.
    #[arg(long)]
    pub load: Option<String>,
    /// Replay a recorded trace open-loop instead (see `scaletwin trace info`).
    #[arg(long, conflicts_with_all = ["rate", "users", "load"])]
    pub trace: Option<PathBuf>,
    /// Time compression of the trace (10: ten times faster).
    #[arg(long, requires = "trace")]
    pub compress: Option<f64>,
    /// Never send more than this many requests.
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Cap on the sending rate (requests per second).
    #[arg(long)]
    pub max_rps: Option<f64>,
    /// Stop when the error rate over the last 10 s exceeds this (0..1).
    #[arg(long)]
    pub abort_on_error_rate: Option<f64>,
    /// Per-request timeout in seconds.
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Open loop: connections opened at the start (default 64); the pool grows by one
    /// whenever an arrival comes due with every connection busy.
    #[arg(long)]
    pub connections: Option<u32>,
    /// Open loop: the most connections the pool grows to (default 1024); beyond it arrivals
    /// wait, are reported late, and those still waiting at the end are dropped.
    #[arg(long)]
    pub max_connections: Option<u32>,
    /// Model seconds per wall-clock second of the target (a testbed's --time-scale): the
    /// load is drawn on the model clock and sent K times faster, and latencies are reported
    /// in model time (x K).
    #[arg(long, value_name = "K")]
    pub time_scale: Option<f64>,
    /// SLO: minimum success rate (0..1).
    #[arg(long)]
    pub slo_success: Option<f64>,
    /// SLO: p95 bound in ms.
    #[arg(long)]
    pub slo_p95_ms: Option<f64>,
    /// Metric name prefix (`<ns>_load_test_requests_total`, ...).
    #[arg(long)]
    pub namespace: Option<String>,
}

impl ScenarioFlags {
    /// The load test the flags describe: the named scenario (file or built-in) or an ad-hoc one,
    /// with the flags' overrides, validated (unless only a dashboard is wanted).
    pub fn scenario(&self, dashboard_only: bool) -> Result<Scenario, String> {
        let a = self;
        let mut s = match &a.scenario {
            Some(n) => match Scenario::open(n) {
                Ok(s) => s,
                Err(e) => return Err(e.to_string()),
            },
            None => Scenario {
                format_version: LOADTEST_FORMAT_VERSION,
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
            match crate::engine::output::parse_duration(d) {
                Ok(v) => s.duration_s = v,
                Err(e) => return Err(format!("--duration: {e}")),
            }
        }
        if let Some(r) = a.rate {
            s.trace = None;
            s.load = Some(crate::engine::Workload::Open {
                schedule: crate::engine::RateSchedule::new(crate::engine::Pattern::Constant {
                    rate: r,
                }),
            });
        }
        if let Some(u) = a.users {
            s.trace = None;
            s.load = Some(crate::engine::Workload::Closed {
                users: crate::engine::ClosedLoop {
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
            s.trace = Some(crate::trace::spec::TraceSpec {
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
        if let Some(v) = a.max_connections {
            l.max_connections = v;
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
}
