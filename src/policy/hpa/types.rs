//! The HPA's inputs: spec, behavior, controller settings, and the observed cluster state.

use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};

/// kube-controller-manager settings of the HPA controller (`--horizontal-pod-autoscaler-*`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControllerConfig {
    /// `--horizontal-pod-autoscaler-sync-period` (15 s).
    pub sync_period: SimDuration,
    /// `--horizontal-pod-autoscaler-tolerance` (0.1), both directions.
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min).
    pub downscale_stabilization: SimDuration,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period: SimDuration,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay: SimDuration,
    /// Legacy pipeline scale-up cap factor (2; upstream unit tests override it to 8).
    pub scale_up_limit_factor: f64,
    /// Legacy pipeline scale-up cap minimum (4).
    pub scale_up_limit_minimum: f64,
    /// Whether per-HPA tolerances (`behavior.scaleUp/scaleDown.tolerance`, KEP-4951) are
    /// honoured. Beta and on by default since Kubernetes 1.35.
    pub configurable_tolerance: bool,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            sync_period: SimDuration::from_secs(15),
            tolerance: 0.1,
            downscale_stabilization: SimDuration::from_secs(300),
            cpu_initialization_period: SimDuration::from_secs(300),
            initial_readiness_delay: SimDuration::from_secs(30),
            scale_up_limit_factor: 2.0,
            scale_up_limit_minimum: 4.0,
            configurable_tolerance: true,
        }
    }
}

/// The tolerance band: no change while `1 - scale_down <= ratio <= 1 + scale_up`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tolerances {
    pub scale_up: f64,
    pub scale_down: f64,
}

impl Tolerances {
    /// The same tolerance in both directions.
    pub fn symmetric(t: f64) -> Self {
        Tolerances {
            scale_up: t,
            scale_down: t,
        }
    }
    /// Whether `ratio` lies inside the (inclusive) band.
    pub fn is_within(&self, ratio: f64) -> bool {
        (1.0 - self.scale_down) <= ratio && ratio <= (1.0 + self.scale_up)
    }
}

/// A scaling policy's unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyType {
    Pods,
    Percent,
}

/// One `behavior.scaleUp/scaleDown.policies[]` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScalingPolicy {
    pub kind: PolicyType,
    pub value: i32,
    pub period_seconds: i32,
}

/// `selectPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SelectPolicy {
    #[default]
    Max,
    Min,
    Disabled,
}

impl SelectPolicy {
    /// The spelling Kubernetes uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectPolicy::Max => "Max",
            SelectPolicy::Min => "Min",
            SelectPolicy::Disabled => "Disabled",
        }
    }
}

/// One direction of `spec.behavior` as the user wrote it: every field optional.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ScalingRules {
    pub stabilization_window_seconds: Option<i32>,
    pub select_policy: Option<SelectPolicy>,
    /// `None` = not written (API defaults apply); `Some(vec)` replaces the defaults whole.
    pub policies: Option<Vec<ScalingPolicy>>,
    /// Per-direction tolerance (KEP-4951); `None` keeps the controller's tolerance.
    pub tolerance: Option<f64>,
}

/// `spec.behavior`.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Behavior {
    pub scale_up: Option<ScalingRules>,
    pub scale_down: Option<ScalingRules>,
}

/// One direction of behavior after API defaulting (and the controller's substitution of the
/// downscale stabilization flag for an unset scale-down window).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResolvedRules {
    pub stabilization_window: SimDuration,
    pub select_policy: SelectPolicy,
    pub policies: Vec<ScalingPolicy>,
    pub tolerance: Option<f64>,
}

impl ResolvedRules {
    /// The longest `periodSeconds` among the policies (0 when there are none).
    pub fn longest_period(&self) -> SimDuration {
        SimDuration::from_secs(
            self.policies
                .iter()
                .map(|p| p.period_seconds)
                .max()
                .unwrap_or(0) as i64,
        )
    }
}

impl Behavior {
    /// API defaults for scale-up (`pkg/apis/autoscaling/v2/defaults.go`): window 0, Max,
    /// Pods 4 per 15 s and Percent 100 per 15 s.
    pub fn default_scale_up_policies() -> Vec<ScalingPolicy> {
        vec![
            ScalingPolicy {
                kind: PolicyType::Pods,
                value: 4,
                period_seconds: 15,
            },
            ScalingPolicy {
                kind: PolicyType::Percent,
                value: 100,
                period_seconds: 15,
            },
        ]
    }
    /// API defaults for scale-down: Max, Percent 100 per 15 s.
    pub fn default_scale_down_policies() -> Vec<ScalingPolicy> {
        vec![ScalingPolicy {
            kind: PolicyType::Percent,
            value: 100,
            period_seconds: 15,
        }]
    }

    /// Scale-up rules with the API defaults filled in field by field.
    pub fn resolved_scale_up(&self) -> ResolvedRules {
        let r = self.scale_up.clone().unwrap_or_default();
        ResolvedRules {
            stabilization_window: SimDuration::from_secs(
                r.stabilization_window_seconds.unwrap_or(0) as i64,
            ),
            select_policy: r.select_policy.unwrap_or_default(),
            policies: r.policies.unwrap_or_else(Self::default_scale_up_policies),
            tolerance: r.tolerance,
        }
    }

    /// Scale-down rules with the API defaults filled in; an unset window takes the
    /// controller's `--horizontal-pod-autoscaler-downscale-stabilization`.
    pub fn resolved_scale_down(&self, cfg: &ControllerConfig) -> ResolvedRules {
        let r = self.scale_down.clone().unwrap_or_default();
        ResolvedRules {
            stabilization_window: r
                .stabilization_window_seconds
                .map(|s| SimDuration::from_secs(s as i64))
                .unwrap_or(cfg.downscale_stabilization),
            select_policy: r.select_policy.unwrap_or_default(),
            policies: r.policies.unwrap_or_else(Self::default_scale_down_policies),
            tolerance: r.tolerance,
        }
    }
}

/// The target of a metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetricTarget {
    /// `Utilization`: integer percent of the request.
    Utilization(i32),
    /// `AverageValue`, in milli-units.
    AverageValue(i64),
    /// `Value`, in milli-units.
    Value(i64),
    /// No `averageUtilization`, `averageValue` or `value` at all. The API server refuses such
    /// a spec (and manifests holding one are refused), but the controller can be handed one
    /// (upstream's TestScaleUpRCImmediately builds a Resource metric with an empty target):
    /// it reports the metric invalid without reading it.
    Unset,
}

impl MetricTarget {
    /// The spelling Kubernetes uses for the target type.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetricTarget::Utilization(_) => "Utilization",
            MetricTarget::AverageValue(_) => "AverageValue",
            MetricTarget::Value(_) => "Value",
            MetricTarget::Unset => "",
        }
    }
}

/// A reference to the object an Object metric describes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

/// One entry of `spec.metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MetricSpec {
    Resource {
        resource: String,
        target: MetricTarget,
    },
    ContainerResource {
        resource: String,
        container: String,
        target: MetricTarget,
    },
    Pods {
        metric: String,
        target: MetricTarget,
    },
    Object {
        metric: String,
        object: ObjectRef,
        target: MetricTarget,
    },
    External {
        metric: String,
        target: MetricTarget,
    },
    /// A metric source type the controller does not know (it makes the metric invalid).
    Unknown { type_name: String },
}

impl MetricSpec {
    /// A short label for reports: `cpu`, `container1/cpu`, `pods/qps`, `external/s0-redis`.
    pub fn label(&self) -> String {
        match self {
            MetricSpec::Resource { resource, .. } => resource.clone(),
            MetricSpec::ContainerResource {
                resource,
                container,
                ..
            } => format!("{container}/{resource}"),
            MetricSpec::Pods { metric, .. } => format!("pods/{metric}"),
            MetricSpec::Object { metric, object, .. } => {
                format!("object/{}/{}/{metric}", object.kind, object.name)
            }
            MetricSpec::External { metric, .. } => format!("external/{metric}"),
            MetricSpec::Unknown { type_name } => format!("unknown/{type_name}"),
        }
    }

    /// The name of a metric a model binds to a signal (Pods, Object, External); `None` for
    /// the resource metrics the simulation computes itself.
    pub fn bound_metric(&self) -> Option<&str> {
        match self {
            MetricSpec::Pods { metric, .. }
            | MetricSpec::Object { metric, .. }
            | MetricSpec::External { metric, .. } => Some(metric),
            _ => None,
        }
    }

    /// The metric's target, when the type is known.
    pub fn target(&self) -> Option<&MetricTarget> {
        match self {
            MetricSpec::Resource { target, .. }
            | MetricSpec::ContainerResource { target, .. }
            | MetricSpec::Pods { target, .. }
            | MetricSpec::Object { target, .. }
            | MetricSpec::External { target, .. } => Some(target),
            MetricSpec::Unknown { .. } => None,
        }
    }
}

/// The autoscaling/v2 HorizontalPodAutoscaler spec, as the controller uses it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HpaSpec {
    pub min_replicas: i32,
    pub max_replicas: i32,
    pub metrics: Vec<MetricSpec>,
    /// `None` selects the legacy normalization pipeline.
    pub behavior: Option<Behavior>,
}

impl HpaSpec {
    /// The tolerance band this HPA uses, given the controller's settings.
    pub fn tolerances(&self, cfg: &ControllerConfig) -> Tolerances {
        let mut t = Tolerances::symmetric(cfg.tolerance);
        if cfg.configurable_tolerance
            && let Some(b) = &self.behavior
        {
            if let Some(up) = b.scale_up.as_ref().and_then(|r| r.tolerance) {
                t.scale_up = up;
            }
            if let Some(down) = b.scale_down.as_ref().and_then(|r| r.tolerance) {
                t.scale_down = down;
            }
        }
        t
    }
}

/// A pod's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PodPhase {
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

/// Status of a pod condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// A pod's Ready condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadyCondition {
    pub status: ConditionStatus,
    pub last_transition: SimTime,
}

/// A pod's or a container's name. Shared, not copied: a sync lists every pod and its metric
/// samples, and the controller keys its maps by these names.
pub type Name = std::sync::Arc<str>;

/// A container's resource requests, in milli-units by resource name (`cpu`, `memory`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerRequest {
    pub name: Name,
    pub requests: Vec<(String, i64)>,
}

impl ContainerRequest {
    /// A container with one request.
    pub fn new(name: &str, resource: &str, milli: Option<i64>) -> Self {
        ContainerRequest {
            name: name.into(),
            requests: milli
                .map(|m| vec![(resource.to_string(), m)])
                .unwrap_or_default(),
        }
    }

    /// The request of `resource`, if set.
    pub fn request(&self, resource: &str) -> Option<i64> {
        self.requests
            .iter()
            .find(|(r, _)| r == resource)
            .map(|(_, v)| *v)
    }
}

/// What the controller reads of a pod matched by the target's selector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodInfo {
    pub name: Name,
    pub phase: PodPhase,
    /// `None`: the pod has no Ready condition.
    pub ready: Option<ReadyCondition>,
    /// `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// `status.startTime` (`None`: absent).
    pub start_time: Option<SimTime>,
    /// Regular containers plus restartable init containers, with their requests (shared
    /// by the pods of one template).
    pub containers: std::sync::Arc<[ContainerRequest]>,
    /// Pod-level requests (PodLevelResources), used when no container is named.
    pub pod_requests: Vec<(String, i64)>,
}

impl PodInfo {
    /// Running with Ready=True (the count Object/External Value targets multiply by).
    pub fn is_running_and_ready(&self) -> bool {
        self.phase == PodPhase::Running
            && matches!(self.ready, Some(c) if c.status == ConditionStatus::True)
    }
}

/// One container's entry in a resource-metrics sample (`usage_milli: None`: the resource is absent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerUsage {
    pub name: Name,
    pub usage_milli: Option<i64>,
}

/// One pod's entry of the resource metrics API (metrics-server).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    pub pod: Name,
    pub timestamp: SimTime,
    pub window: SimDuration,
    pub containers: Vec<ContainerUsage>,
}

/// One pod's value of a Pods-type (custom) metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PodMetricSample {
    pub pod: Name,
    pub value_milli: i64,
    pub timestamp: SimTime,
    pub window: SimDuration,
}

/// The scale subresource of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleInfo {
    /// `scale.spec.replicas`: the controller's `current`.
    pub spec_replicas: i32,
    /// `scale.status.replicas`: used only by the AverageValue forms of Object/External.
    pub status_replicas: i32,
}

/// The metric APIs as the HPA controller sees them. Methods take `&mut self` because a read
/// may have side effects (KEDA's metrics adapter counts failures for its fallback).
pub trait MetricsApi {
    /// Pods matched by the scale subresource's selector, any phase.
    fn pods(&mut self) -> Vec<PodInfo>;
    /// `metrics.k8s.io` pod metrics for a resource (`cpu`, `memory`).
    fn resource_metrics(&mut self, resource: &str) -> Result<Vec<ResourceSample>, String>;
    /// `custom.metrics.k8s.io` values of a Pods metric, one per pod.
    fn pods_metric(&mut self, metric: &str) -> Result<Vec<PodMetricSample>, String>;
    /// `custom.metrics.k8s.io` value of an Object metric, in milli-units.
    fn object_metric(&mut self, metric: &str, object: &ObjectRef) -> Result<i64, String>;
    /// `external.metrics.k8s.io` values of an External metric, in milli-units (summed by the HPA).
    fn external_metric(&mut self, metric: &str) -> Result<Vec<i64>, String>;
}
