//! The compiled service model the engine runs: deployments, queues, autoscalers and the
//! metric signals their triggers read. Built (and validated) from a model folder by
//! [`crate::scenario`], or directly in code (the oracle tests do).

use super::dist::{CountSampler, DurationDist, Sampler};
use crate::policy::hpa::{ControllerConfig, HpaSpec};
use crate::policy::keda::ScaledObjectSpec;
use serde::{Deserialize, Serialize};

/// How a deployment spreads requests over its ready endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    Random,
    #[default]
    RoundRobin,
    LeastOutstanding,
}

/// A deployment as the engine runs it.
#[derive(Clone, Debug)]
pub struct DeploymentModel {
    pub name: String,
    /// Requests (or jobs) served at once per pod.
    pub concurrency: u32,
    /// Waiting requests per pod (or in the shared queue) before new ones are rejected.
    pub queue_limit: u32,
    /// Client timeout in µs (`i64::MAX`: none).
    pub timeout_us: i64,
    pub routing: Routing,
    /// One queue for the whole deployment instead of one per pod.
    pub shared_queue: bool,
    pub service: Sampler,
    pub service_dist: DurationDist,
    pub cpu_seconds_per_request: f64,
    pub idle_cpu_millicores: f64,
    pub memory_base_bytes: f64,
    pub memory_per_inflight_bytes: f64,
    /// Scheduling + image pull + process start, in seconds.
    pub startup: Sampler,
    pub readiness_initial_delay_us: i64,
    pub readiness_period_us: i64,
    pub endpoint_removal_delay_us: i64,
    pub grace_period_us: i64,
    /// Queues (indices into [`Model::queues`]) this deployment's pods pull jobs from, in
    /// priority order.
    pub consumes: Vec<usize>,
    /// Jobs each completed request (or job) enqueues: `(queue index, count distribution)`.
    pub fan_out: Vec<(usize, CountSampler)>,
    /// Tokens consumed per completed request/job (exported as a counter).
    pub tokens: Option<Sampler>,
    /// Extra service time per unit of a replayed request's attribute (e.g. per token).
    pub per_unit_s: f64,
    /// Tokens counted per unit of a replayed request's attribute.
    pub tokens_per_unit: f64,
    /// Service time by label of a replayed categorical attribute (a request type); other
    /// labels use `service`.
    pub service_by_label: Vec<(String, Sampler)>,
    pub cpu_request_milli: i64,
    pub memory_request_bytes: f64,
    pub initial_replicas: u32,
    pub container: String,
    /// p95 latency SLO (ms) judged per window for this deployment; the entry deployment
    /// defaults to the run's SLO.
    pub slo_p95_ms: Option<f64>,
}

impl DeploymentModel {
    /// The pod's container with its CPU and memory requests, as the HPA reads them.
    pub fn container_request(&self) -> crate::policy::hpa::ContainerRequest {
        crate::policy::hpa::ContainerRequest {
            name: self.container.as_str().into(),
            requests: [
                ("cpu", self.cpu_request_milli),
                ("memory", (self.memory_request_bytes * 1000.0) as i64),
            ]
            .into_iter()
            .filter(|(_, v)| *v > 0)
            .map(|(r, v)| (r.to_string(), v))
            .collect(),
        }
    }
}

/// A KEDA ScaledObject at run time: its spec, the operator's state, the signal of each trigger.
pub type KedaRuntime = (
    ScaledObjectSpec,
    crate::policy::keda::KedaState,
    Vec<Option<SignalRef>>,
);

/// Redis list semantics (length = waiting items) or stream semantics (pending = delivered,
/// not yet acknowledged; killed consumers' entries are re-delivered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueKind {
    List,
    Stream,
}

#[derive(Clone, Debug)]
pub struct QueueModel {
    pub name: String,
    pub kind: QueueKind,
    /// Waiting items beyond which new jobs are rejected (counted as `queue_full` failures of
    /// the consumer), so a diverging queue ends in counted failures instead of unbounded memory.
    pub max_length: usize,
}

/// A simulated signal a trigger reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "signal", rename_all = "snake_case", deny_unknown_fields)]
pub enum Signal {
    /// `sum(rate(requests_total[window]))` from Prometheus scrapes, req/s.
    RequestRate {
        deployment: Option<String>,
        #[serde(default = "w60")]
        window_s: f64,
        /// Which answers the counter counts: `all` (default, as `http_requests_total` does:
        /// 2xx, and the 503/504 of a full queue or a timeout) or `ok` (2xx only).
        #[serde(default, skip_serializing_if = "Counted::is_all")]
        count: Counted,
    },
    /// Requests in service or waiting in the deployment's pods (a gauge, scraped).
    InFlight { deployment: Option<String> },
    /// `histogram_quantile(q, rate(duration_bucket[window]))` in seconds.
    LatencyQuantile {
        deployment: Option<String>,
        quantile: f64,
        #[serde(default = "w60")]
        window_s: f64,
    },
    /// LLEN of a list (waiting items), read live.
    QueueLength { queue: String },
    /// XPENDING count of a stream's consumer group.
    StreamPending { queue: String },
    /// XLEN of a stream (entries not yet acknowledged).
    StreamLength { queue: String },
    /// Consumer-group lag (entries not yet delivered).
    StreamLag { queue: String },
    /// `sum(rate(tokens_total[window]))`, tokens/s.
    TokenRate {
        deployment: Option<String>,
        #[serde(default = "w60")]
        window_s: f64,
    },
    /// A constant (for triggers whose source is outside the model).
    Constant { value: f64 },
    /// A value that changes at given times (seconds from the start: `[[0, 20], [600, 80]]`),
    /// held until the next point: a recorded metric whose source is outside the model.
    Schedule { points: Vec<(f64, f64)> },
    /// The workload's scheduled arrival rate now (noise-free), req/s: a forecast-driven
    /// metric, or a noise-free check of the policy.
    OfferedRate,
}

fn w60() -> f64 {
    60.0
}

/// Which answers a request counter counts. A request refused before any pod saw it (no ready
/// endpoint) is in neither: the service's own counter never sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    /// Every answer: successes, and the failures a pod answered (a full queue's 503, a
    /// timeout's 504, a request served after its deadline).
    #[default]
    All,
    /// Successful answers only (a counter filtered on `code=~"2.."`).
    Ok,
}

impl Counted {
    pub fn is_all(&self) -> bool {
        *self == Counted::All
    }
}

/// A resolved signal (names turned into indices).
#[derive(Clone, Debug, PartialEq)]
pub enum SignalRef {
    RequestRate {
        dep: usize,
        window_us: i64,
        count: Counted,
    },
    InFlight {
        dep: usize,
    },
    LatencyQuantile {
        dep: usize,
        q: f64,
        window_us: i64,
    },
    QueueLength {
        queue: usize,
    },
    StreamPending {
        queue: usize,
    },
    StreamLength {
        queue: usize,
    },
    StreamLag {
        queue: usize,
    },
    TokenRate {
        dep: usize,
        window_us: i64,
    },
    Constant(f64),
    /// `(time µs, value)` in time order; see [`SignalRef::scheduled`].
    Schedule(std::sync::Arc<Vec<(i64, f64)>>),
    OfferedRate,
}

impl SignalRef {
    /// A schedule's value at `now_us`: the last point at or before it (the first point's
    /// value before that).
    pub fn scheduled(points: &[(i64, f64)], now_us: i64) -> f64 {
        let after = points.partition_point(|(t, _)| *t <= now_us);
        points[after.saturating_sub(1)].1
    }
}

/// What drives a deployment's replica count.
#[derive(Clone, Debug)]
pub enum AutoscalerKind {
    /// A KEDA ScaledObject (and the HPA it creates); one signal per trigger (`None` for
    /// cpu/memory triggers, which read metrics-server).
    Keda {
        spec: Box<ScaledObjectSpec>,
        signals: Vec<Option<SignalRef>>,
    },
    /// A plain HPA; External/Object/Pods metrics are bound by metric name.
    Hpa {
        spec: HpaSpec,
        signals: Vec<(String, SignalRef)>,
    },
}

#[derive(Clone, Debug)]
pub struct Autoscaler {
    pub name: String,
    pub deployment: usize,
    pub kind: AutoscalerKind,
}

impl Autoscaler {
    /// What a run starts from: the HPA spec (the one KEDA creates for a ScaledObject), the
    /// KEDA runtime (its state as if created an hour before the run, active at 0), and a
    /// plain HPA's metric bindings.
    pub fn runtime(&self) -> (HpaSpec, Option<KedaRuntime>, Vec<(String, SignalRef)>) {
        use crate::policy::keda::KedaState;
        use crate::time::SimTime;
        match &self.kind {
            AutoscalerKind::Keda { spec, signals } => {
                let mut st = KedaState::new(SimTime::from_secs(-3600));
                st.last_active_time = Some(SimTime::ZERO);
                (
                    spec.to_hpa(),
                    Some(((**spec).clone(), st, signals.clone())),
                    Vec::new(),
                )
            }
            AutoscalerKind::Hpa { spec, signals } => (spec.clone(), None, signals.clone()),
        }
    }
}

/// Pricing of requested resources.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Price per requested CPU-hour.
    #[serde(default)]
    pub cpu_hour: f64,
    /// Price per requested GiB-hour of memory.
    #[serde(default)]
    pub gib_hour: f64,
    /// Price per pod-hour (added to the above).
    #[serde(default)]
    pub pod_hour: f64,
}

/// Metric pipeline settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Prometheus scrape interval.
    #[serde(default = "s15")]
    pub scrape_interval_s: f64,
    /// metrics-server resolution (CPU/memory sample period and window).
    #[serde(default = "s15")]
    pub metrics_server_resolution_s: f64,
    /// Latency histogram bucket bounds (seconds), as the service exports them.
    #[serde(default = "default_buckets")]
    pub latency_buckets_s: Vec<f64>,
}

fn s15() -> f64 {
    15.0
}

fn default_buckets() -> Vec<f64> {
    vec![
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            scrape_interval_s: 15.0,
            metrics_server_resolution_s: 15.0,
            latency_buckets_s: default_buckets(),
        }
    }
}

/// Everything a run needs besides the workload.
#[derive(Clone, Debug)]
pub struct Model {
    pub name: String,
    pub deployments: Vec<DeploymentModel>,
    pub queues: Vec<QueueModel>,
    pub autoscalers: Vec<Autoscaler>,
    /// The deployment that receives the workload's HTTP requests.
    pub entry: usize,
    pub metrics: MetricsConfig,
    pub controller: ControllerConfig,
    pub cost: Cost,
}

impl Model {
    /// A model of one deployment with fixed replicas (no autoscaler, no queues), default
    /// metric and controller settings: the shape of the queueing oracles and benches.
    pub fn single(deployment: DeploymentModel) -> Model {
        Model {
            name: deployment.name.clone(),
            deployments: vec![deployment],
            queues: vec![],
            autoscalers: vec![],
            entry: 0,
            metrics: MetricsConfig::default(),
            controller: ControllerConfig::default(),
            cost: Cost::default(),
        }
    }
    /// Keep only the named deployments (the entry must be among them): their autoscalers stay,
    /// queues consumed by dropped deployments and fan-out into them go.
    pub fn restrict(&mut self, keep: &[String]) -> Result<(), String> {
        if keep.is_empty() {
            return Ok(());
        }
        for k in keep {
            if !self.deployments.iter().any(|d| &d.name == k) {
                let names: Vec<&str> = self.deployments.iter().map(|d| d.name.as_str()).collect();
                return Err(format!(
                    "deployment {k} is not in the model (deployments: {})",
                    names.join(", ")
                ));
            }
        }
        let entry_name = self.deployments[self.entry].name.clone();
        if !keep.contains(&entry_name) {
            return Err(format!(
                "the entry deployment {entry_name} must be among the simulated deployments"
            ));
        }
        let kept_dep: Vec<usize> = (0..self.deployments.len())
            .filter(|i| keep.contains(&self.deployments[*i].name))
            .collect();
        let kept_q: Vec<usize> = (0..self.queues.len())
            .filter(|q| {
                kept_dep
                    .iter()
                    .any(|d| self.deployments[*d].consumes.contains(q))
            })
            .collect();
        let qmap = |q: usize| kept_q.iter().position(|x| *x == q);
        let dmap = |d: usize| kept_dep.iter().position(|x| *x == d);
        let mut deps = Vec::new();
        for &i in &kept_dep {
            let mut d = self.deployments[i].clone();
            d.consumes = d.consumes.iter().filter_map(|q| qmap(*q)).collect();
            d.fan_out = d
                .fan_out
                .iter()
                .filter_map(|(q, c)| qmap(*q).map(|n| (n, c.clone())))
                .collect();
            deps.push(d);
        }
        let remap = |s: &SignalRef| -> Option<SignalRef> {
            Some(match s.clone() {
                SignalRef::RequestRate {
                    dep,
                    window_us,
                    count,
                } => SignalRef::RequestRate {
                    dep: dmap(dep)?,
                    window_us,
                    count,
                },
                SignalRef::InFlight { dep } => SignalRef::InFlight { dep: dmap(dep)? },
                SignalRef::LatencyQuantile { dep, q, window_us } => SignalRef::LatencyQuantile {
                    dep: dmap(dep)?,
                    q,
                    window_us,
                },
                SignalRef::TokenRate { dep, window_us } => SignalRef::TokenRate {
                    dep: dmap(dep)?,
                    window_us,
                },
                SignalRef::QueueLength { queue } => SignalRef::QueueLength {
                    queue: qmap(queue)?,
                },
                SignalRef::StreamPending { queue } => SignalRef::StreamPending {
                    queue: qmap(queue)?,
                },
                SignalRef::StreamLength { queue } => SignalRef::StreamLength {
                    queue: qmap(queue)?,
                },
                SignalRef::StreamLag { queue } => SignalRef::StreamLag {
                    queue: qmap(queue)?,
                },
                other => other,
            })
        };
        let mut autoscalers = Vec::new();
        for a in &self.autoscalers {
            let Some(dep) = dmap(a.deployment) else {
                continue;
            };
            let kind = match &a.kind {
                // A signal about a dropped part of the model reads as a constant 0.
                AutoscalerKind::Keda { spec, signals } => AutoscalerKind::Keda {
                    spec: spec.clone(),
                    signals: signals
                        .iter()
                        .map(|s| {
                            s.as_ref()
                                .map(|s| remap(s).unwrap_or(SignalRef::Constant(0.0)))
                        })
                        .collect(),
                },
                AutoscalerKind::Hpa { spec, signals } => AutoscalerKind::Hpa {
                    spec: spec.clone(),
                    signals: signals
                        .iter()
                        .map(|(n, s)| (n.clone(), remap(s).unwrap_or(SignalRef::Constant(0.0))))
                        .collect(),
                },
            };
            autoscalers.push(Autoscaler {
                name: a.name.clone(),
                deployment: dep,
                kind,
            });
        }
        self.queues = kept_q.iter().map(|q| self.queues[*q].clone()).collect();
        self.entry = dmap(self.entry).unwrap_or(0);
        self.deployments = deps;
        self.autoscalers = autoscalers;
        Ok(())
    }
}

impl DeploymentModel {
    /// A deployment with fixed behaviour and the given service-time distribution; the
    /// remaining settings take the documented defaults.
    pub fn new(name: &str, service: DurationDist) -> Result<Self, String> {
        service.validate()?;
        Ok(DeploymentModel {
            name: name.into(),
            concurrency: 1,
            queue_limit: 1000,
            timeout_us: i64::MAX,
            routing: Routing::RoundRobin,
            shared_queue: false,
            service: service.sampler()?,
            service_dist: service,
            cpu_seconds_per_request: 0.0,
            idle_cpu_millicores: 0.0,
            memory_base_bytes: 0.0,
            memory_per_inflight_bytes: 0.0,
            startup: Sampler::Const(0.0),
            readiness_initial_delay_us: 0,
            readiness_period_us: 10_000_000,
            endpoint_removal_delay_us: 0,
            grace_period_us: 30_000_000,
            consumes: Vec::new(),
            fan_out: Vec::new(),
            tokens: None,
            per_unit_s: 0.0,
            tokens_per_unit: 0.0,
            service_by_label: Vec::new(),
            cpu_request_milli: 1000,
            memory_request_bytes: 0.0,
            initial_replicas: 1,
            container: "app".into(),
            slo_p95_ms: None,
        })
    }
}
