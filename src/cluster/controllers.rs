//! Hosting the HPA and KEDA controllers over a run's own state: the signal a trigger or a
//! metric is bound to, one HPA sync, the External metrics KEDA's adapter serves, and the
//! HPA's view of a deployment's pods. The simulator, the fluid approximation and the testbed
//! all call these.

use crate::engine::model::{DeploymentModel, KedaRuntime, SignalRef};
use crate::policy::hpa::{ControllerConfig, HpaSpec};

/// A signal's current value, as a run computes it.
pub type SignalFn<'a> = &'a dyn Fn(&SignalRef) -> Result<Option<f64>, String>;

/// The value of trigger `idx`'s signal.
pub fn trigger_signal(
    sigs: &[Option<SignalRef>],
    idx: usize,
    signal: SignalFn<'_>,
) -> Result<Option<f64>, String> {
    match sigs.get(idx).and_then(|s| s.as_ref()) {
        Some(s) => signal(s),
        None => Err("no signal bound to this trigger".to_string()),
    }
}

/// The value of the signal bound to a plain HPA's metric.
pub fn metric_signal(
    signals: &[(String, SignalRef)],
    metric: &str,
    signal: SignalFn<'_>,
) -> Result<Option<f64>, String> {
    match signals.iter().find(|(n, _)| n == metric) {
        Some((_, s)) => signal(s),
        None => Err(format!("no signal bound to metric {metric}")),
    }
}

/// A ScaledObject trigger's value: trigger `idx` of the triggers whose bound signals are
/// `sigs` (the run's signal, or a value the testbed fetched from a real Prometheus).
pub type TriggerFn<'a> = &'a dyn Fn(usize, &[Option<SignalRef>]) -> Result<Option<f64>, String>;

/// What one HPA sync reads of a run: the deployment, the HPA's view of its pods and its
/// replica counts, at `now_us`.
pub struct SyncInputs<'a> {
    pub dm: &'a DeploymentModel,
    pub pods: Vec<PodStatus>,
    /// metrics-server resolution, seconds.
    pub resolution_s: f64,
    pub now_us: i64,
    /// spec.replicas.
    pub current: i32,
    /// Pods not being deleted.
    pub status: i32,
    /// Ready pods (KEDA's adapter reads them).
    pub ready: i32,
}

/// One HPA sync of the autoscaler (`hpa`, `state`) against a scale target that accepts every
/// write. Its External metrics come through KEDA's metrics adapter when a ScaledObject owns
/// the HPA (`keda`), else from the signals bound to a plain HPA's metrics (`hpa_signals`).
/// The simulator, the fluid approximation and the testbed all sync through this. Returns
/// the decision and the replica count written (if any).
#[allow(clippy::too_many_arguments)]
pub fn sync_hpa(
    hpa: &HpaSpec,
    state: &mut crate::policy::hpa::HpaState,
    keda: Option<&mut KedaRuntime>,
    hpa_signals: &[(String, SignalRef)],
    inputs: SyncInputs<'_>,
    controller: &ControllerConfig,
    signal: SignalFn<'_>,
    trigger: TriggerFn<'_>,
) -> (crate::policy::hpa::SyncDecision, Option<i32>) {
    use crate::policy::keda as k;
    let SyncInputs {
        dm,
        pods,
        resolution_s,
        now_us,
        current,
        status,
        ready,
    } = inputs;
    let bound = |metric: &str| metric_signal(hpa_signals, metric, signal);
    let mut keda = keda;
    let mut external = |metric: &str| match keda.as_deref_mut() {
        Some(kr) => {
            let (spec, st, sigs) = (&kr.0, &mut kr.1, &kr.2);
            let mut read = |idx: usize, _t: &k::Trigger| trigger(idx, sigs);
            k::adapter_read(spec, st, metric, current, ready, &mut read)
        }
        None => Ok(vec![k::to_milli(bound(metric)?.unwrap_or(0.0))]),
    };
    let mut view = PodsView {
        dm,
        pods,
        resolution_s,
        now_us,
        bound: &bound,
        external: &mut external,
    };
    let mut desired = None;
    let mut write = |n: i32| {
        desired = Some(n);
        Ok(())
    };
    let d = crate::policy::hpa::reconcile(
        hpa,
        state,
        crate::policy::hpa::ScaleInfo {
            spec_replicas: current,
            status_replicas: status,
        },
        &mut view,
        controller,
        crate::time::SimTime::from_micros(now_us),
        &mut write,
    );
    (d, desired)
}

/// One KEDA operator poll of `k` at `now_us`, its triggers read through `trigger`: the
/// decision and the time of the next poll.
pub fn poll_keda(
    k: &mut KedaRuntime,
    current: i32,
    ready: i32,
    now_us: i64,
    trigger: TriggerFn<'_>,
) -> (crate::policy::keda::PollDecision, i64) {
    use crate::policy::keda as kd;
    let (spec, st, sigs) = (&k.0, &mut k.1, &k.2);
    let mut read = |idx: usize, _t: &kd::Trigger| trigger(idx, sigs);
    let now = crate::time::SimTime::from_micros(now_us);
    let d = kd::poll(spec, st, current, ready, now, &mut read);
    (d, now_us + spec.polling_interval.as_micros().max(1))
}

/// What the HPA sees of one pod, from a run's own pod state (the simulator's or the
/// testbed's).
pub struct PodStatus {
    pub name: crate::policy::hpa::Name,
    /// When its containers started (`None`: still pending).
    pub started: Option<i64>,
    pub ready: bool,
    /// When it became ready (used when `ready`).
    pub ready_at: i64,
    pub deleting: bool,
    /// Last metrics-server sample: `(time, CPU milli-cores, memory milli-bytes)`.
    pub sample: Option<(i64, f64, f64)>,
}

impl PodStatus {
    /// What the HPA sees of a pod in `state` (started at `started`, ready since `ready_at`),
    /// with its last metrics-server `sample`.
    pub fn of(
        name: crate::policy::hpa::Name,
        state: super::PodState,
        started: i64,
        ready_at: i64,
        deleting: bool,
        sample: Option<(i64, f64, f64)>,
    ) -> PodStatus {
        PodStatus {
            name,
            started: (state != super::PodState::Pending).then_some(started),
            ready: state == super::PodState::Ready,
            ready_at,
            deleting,
            sample,
        }
    }

    /// The pod as the HPA lists it.
    /// `containers`: the template's containers ([`DeploymentModel::container_request`]).
    pub fn info(
        &self,
        containers: &std::sync::Arc<[crate::policy::hpa::ContainerRequest]>,
    ) -> crate::policy::hpa::PodInfo {
        use crate::policy::hpa::{ConditionStatus, PodInfo, PodPhase, ReadyCondition};
        use crate::time::SimTime;
        PodInfo {
            name: self.name.clone(),
            phase: if self.started.is_some() {
                PodPhase::Running
            } else {
                PodPhase::Pending
            },
            ready: self.started.map(|st| ReadyCondition {
                status: if self.ready {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                },
                last_transition: SimTime::from_micros(if self.ready { self.ready_at } else { st }),
            }),
            deleting: self.deleting,
            start_time: self.started.map(SimTime::from_micros),
            containers: containers.clone(),
            pod_requests: vec![],
        }
    }

    /// Its metrics-server sample of `resource` (`cpu` or `memory`), if it has one.
    /// `container`: the name of the pod's container.
    pub fn resource_sample(
        &self,
        container: &crate::policy::hpa::Name,
        resource: &str,
        resolution_s: f64,
    ) -> Option<crate::policy::hpa::ResourceSample> {
        use crate::policy::hpa::{ContainerUsage, ResourceSample};
        use crate::time::{SimDuration, SimTime};
        let (t, cpu, mem) = self.sample?;
        let v = if resource == "memory" { mem } else { cpu };
        Some(ResourceSample {
            pod: self.name.clone(),
            timestamp: SimTime::from_micros(t),
            window: SimDuration::from_micros((resolution_s * 1e6).round() as i64),
            containers: vec![ContainerUsage {
                name: container.clone(),
                usage_milli: Some(v.round() as i64),
            }],
        })
    }
}

/// The HPA's view of one deployment (its pods, metrics-server, the metrics APIs), built from
/// a run's own state: the simulator's, the fluid approximation's and the testbed's syncs all
/// read through it.
pub struct PodsView<'a> {
    pub dm: &'a DeploymentModel,
    pub pods: Vec<PodStatus>,
    /// metrics-server resolution, seconds.
    pub resolution_s: f64,
    pub now_us: i64,
    /// The signal bound to a plain HPA's metric.
    pub bound: &'a dyn Fn(&str) -> Result<Option<f64>, String>,
    /// An External metric: through KEDA's adapter or the bound signal.
    pub external: &'a mut dyn FnMut(&str) -> Result<Vec<i64>, String>,
}

impl crate::policy::hpa::MetricsApi for PodsView<'_> {
    fn pods(&mut self) -> Vec<crate::policy::hpa::PodInfo> {
        let containers: std::sync::Arc<[_]> = std::sync::Arc::new([self.dm.container_request()]);
        self.pods.iter().map(|p| p.info(&containers)).collect()
    }

    fn resource_metrics(
        &mut self,
        resource: &str,
    ) -> Result<Vec<crate::policy::hpa::ResourceSample>, String> {
        let container: crate::policy::hpa::Name = self.dm.container.as_str().into();
        Ok(self
            .pods
            .iter()
            .filter_map(|p| p.resource_sample(&container, resource, self.resolution_s))
            .collect())
    }

    /// A Pods metric bound to a deployment-level signal, served as the same share per pod.
    fn pods_metric(
        &mut self,
        metric: &str,
    ) -> Result<Vec<crate::policy::hpa::PodMetricSample>, String> {
        use crate::time::{SimDuration, SimTime};
        let total = (self.bound)(metric)?.unwrap_or(0.0);
        let n = self.pods.len().max(1) as f64;
        Ok(self
            .pods
            .iter()
            .map(|p| crate::policy::hpa::PodMetricSample {
                pod: p.name.clone(),
                value_milli: crate::policy::keda::to_milli(total / n),
                timestamp: SimTime::from_micros(self.now_us),
                window: SimDuration::from_secs(60),
            })
            .collect())
    }

    fn object_metric(
        &mut self,
        metric: &str,
        _object: &crate::policy::hpa::ObjectRef,
    ) -> Result<i64, String> {
        Ok(crate::policy::keda::to_milli(
            (self.bound)(metric)?.unwrap_or(0.0),
        ))
    }

    fn external_metric(&mut self, metric: &str) -> Result<Vec<i64>, String> {
        (self.external)(metric)
    }
}
