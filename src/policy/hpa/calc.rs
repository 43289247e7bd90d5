//! The replica calculator: one metric in, one replica proposal out (spec §5–§6).
//!
//! Every function here is pure. Arithmetic follows upstream exactly: milli-values as `i64`,
//! utilization as a truncated integer percent, ratios as `f64`, proposals as `ceil()` of an
//! `f64` product converted to `i32` (Rust's float-to-int cast saturates, which is the clamp
//! recent upstream releases apply on overflow).

use super::types::*;
use crate::time::SimTime;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Why a metric could not produce a proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CalcError {
    pub message: String,
}

fn err<T>(message: impl Into<String>) -> Result<T, CalcError> {
    Err(CalcError {
        message: message.into(),
    })
}

/// Which branch of the calculation decided the proposal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CalcPath {
    /// The usage ratio fell inside the tolerance band: proposal = current.
    WithinTolerance,
    /// `ceil(ratio × count)` with no assumptions about missing or unready pods.
    Direct,
    /// Missing/unready pods were filled in and the recomputed ratio decided.
    Conservative,
    /// The conservative recompute landed in tolerance, flipped direction, or moved the
    /// count the wrong way: proposal = current.
    ConservativeHeld,
    /// Scaling from zero: `ceil(ratio)`.
    FromZero,
}

/// A replica proposal for one metric, with what it was computed from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Proposal {
    pub replicas: i32,
    /// Usage ratio (current / target) of the first pass.
    pub ratio: f64,
    /// The value reported in `status.currentMetrics` (utilization percent for Utilization
    /// targets, milli-value otherwise).
    pub reported: i64,
    /// For Utilization targets: the raw average usage in milli-units.
    pub raw_average_milli: Option<i64>,
    pub path: CalcPath,
}

/// The outcome of pod classification (spec §5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PodGroups {
    pub ready_count: usize,
    pub unready: BTreeSet<Name>,
    pub missing: BTreeSet<Name>,
    pub ignored: BTreeSet<Name>,
}

/// A pod's sample as the classification sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleStamp {
    pub timestamp: SimTime,
    pub window: crate::time::SimDuration,
}

/// A usable per-pod value with its stamp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PodValue {
    pub value: i64,
    pub stamp: SampleStamp,
}

/// Classify pods into ready / unready / missing / ignored. The CPU readiness rules apply
/// only when `resource` is `Some("cpu")`.
pub fn group_pods(
    pods: &[PodInfo],
    samples: &BTreeMap<Name, PodValue>,
    resource: Option<&str>,
    cfg: &ControllerConfig,
    now: SimTime,
) -> PodGroups {
    let mut g = PodGroups::default();
    for pod in pods {
        if pod.deleting || pod.phase == PodPhase::Failed {
            g.ignored.insert(pod.name.clone());
            continue;
        }
        if pod.phase == PodPhase::Pending {
            g.unready.insert(pod.name.clone());
            continue;
        }
        let Some(sample) = samples.get(&pod.name) else {
            g.missing.insert(pod.name.clone());
            continue;
        };
        if resource == Some("cpu") {
            let unready = match (pod.ready, pod.start_time) {
                (Some(cond), Some(start)) => {
                    if start + cfg.cpu_initialization_period > now {
                        cond.status == ConditionStatus::False
                            || sample.stamp.timestamp < cond.last_transition + sample.stamp.window
                    } else {
                        cond.status == ConditionStatus::False
                            && start + cfg.initial_readiness_delay > cond.last_transition
                    }
                }
                _ => true,
            };
            if unready {
                g.unready.insert(pod.name.clone());
                continue;
            }
        }
        g.ready_count += 1;
    }
    g
}

/// Extract per-pod values from resource-metrics samples: the sum over all containers, or the
/// named container's usage. A pod with a container lacking the resource (or without the named
/// container) has no value.
pub fn resource_values(
    samples: &[ResourceSample],
    container: Option<&str>,
) -> BTreeMap<Name, PodValue> {
    let mut out = BTreeMap::new();
    for s in samples {
        let stamp = SampleStamp {
            timestamp: s.timestamp,
            window: s.window,
        };
        let value = match container {
            Some(name) => s
                .containers
                .iter()
                .find(|c| &*c.name == name)
                .and_then(|c| c.usage_milli),
            None => {
                if s.containers.is_empty() {
                    None
                } else {
                    s.containers
                        .iter()
                        .try_fold(0i64, |acc, c| c.usage_milli.map(|u| acc.saturating_add(u)))
                }
            }
        };
        if let Some(value) = value {
            out.insert(s.pod.clone(), PodValue { value, stamp });
        }
    }
    out
}

/// Per-pod requests of `resource` (upstream `calculateRequests`): every container's request
/// or the named container's; the pod-level request when set and no container is named.
pub fn pod_requests(
    pods: &[PodInfo],
    container: Option<&str>,
    resource: &str,
) -> Result<BTreeMap<Name, i64>, CalcError> {
    let mut out = BTreeMap::new();
    for pod in pods {
        if container.is_none()
            && let Some(r) = pod
                .pod_requests
                .iter()
                .find(|(res, _)| res == resource)
                .map(|(_, v)| *v)
        {
            out.insert(pod.name.clone(), r);
            continue;
        }
        let mut sum = 0i64;
        for c in pod.containers.iter() {
            if container.is_none_or(|n| n == &*c.name) {
                match c.request(resource) {
                    Some(r) => sum = sum.saturating_add(r),
                    None => {
                        return err(format!(
                            "missing request for {resource} in container {} of Pod {}",
                            c.name, pod.name
                        ));
                    }
                }
            }
        }
        out.insert(pod.name.clone(), sum);
    }
    Ok(out)
}

/// `(ratio, utilization %, raw average)` over the samples of pods that have a request.
fn utilization_ratio(
    values: &BTreeMap<Name, i64>,
    requests: &BTreeMap<Name, i64>,
    target_pct: i32,
) -> Result<(f64, i64, i64), CalcError> {
    let mut usage_total: i128 = 0;
    let mut request_total: i128 = 0;
    let mut n: i128 = 0;
    for (pod, v) in values {
        if let Some(r) = requests.get(pod) {
            usage_total += *v as i128;
            request_total += *r as i128;
            n += 1;
        }
    }
    if request_total == 0 {
        return err("no metrics returned matched known pods");
    }
    let util = clamp_i64(usage_total * 100 / request_total);
    let util32 = util.clamp(i32::MIN as i64, i32::MAX as i64);
    let raw = clamp_i64(usage_total / n);
    Ok((util32 as f64 / target_pct as f64, util32, raw))
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// `ceil(x)` as a replica count (saturating, as recent upstream clamps to `MaxInt32`).
pub fn ceil_replicas(x: f64) -> i32 {
    x.ceil() as i32
}

fn plain_average(values: &BTreeMap<Name, i64>, target: i64) -> (f64, i64) {
    let total: i128 = values.values().map(|v| *v as i128).sum();
    let usage = clamp_i64(total / values.len() as i128);
    (usage as f64 / target as f64, usage)
}

/// Shared tail of the resource and plain calculations: fast path, then the conservative
/// recompute with missing/unready pods filled in.
struct Recompute<'a> {
    current: i32,
    tol: Tolerances,
    groups: &'a PodGroups,
    values: BTreeMap<Name, i64>,
}

impl Recompute<'_> {
    fn decide(
        mut self,
        ratio: f64,
        fill_missing: impl Fn(&str, f64) -> Option<i64>,
        new_ratio: impl Fn(&BTreeMap<Name, i64>) -> Result<f64, CalcError>,
    ) -> Result<(i32, CalcPath), CalcError> {
        let scale_up_with_unready = !self.groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && self.groups.missing.is_empty() {
            if self.tol.is_within(ratio) {
                return Ok((self.current, CalcPath::WithinTolerance));
            }
            return Ok((
                ceil_replicas(ratio * self.groups.ready_count as f64),
                CalcPath::Direct,
            ));
        }
        for pod in &self.groups.missing {
            if let Some(v) = fill_missing(pod, ratio) {
                self.values.insert(pod.clone(), v);
            }
        }
        if scale_up_with_unready {
            for pod in &self.groups.unready {
                self.values.insert(pod.clone(), 0);
            }
        }
        let new_ratio = new_ratio(&self.values)?;
        if self.tol.is_within(new_ratio)
            || (ratio < 1.0 && new_ratio > 1.0)
            || (ratio > 1.0 && new_ratio < 1.0)
        {
            return Ok((self.current, CalcPath::ConservativeHeld));
        }
        let new_replicas = ceil_replicas(new_ratio * self.values.len() as f64);
        if (new_ratio < 1.0 && new_replicas > self.current)
            || (new_ratio > 1.0 && new_replicas < self.current)
        {
            return Ok((self.current, CalcPath::ConservativeHeld));
        }
        Ok((new_replicas, CalcPath::Conservative))
    }
}

fn usable_values(
    values: &BTreeMap<Name, PodValue>,
    pods: &[PodInfo],
    resource: Option<&str>,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<(PodGroups, BTreeMap<Name, i64>), CalcError> {
    if pods.is_empty() {
        return err("no pods returned by selector while calculating replica count");
    }
    let groups = group_pods(pods, values, resource, cfg, now);
    let kept: BTreeMap<Name, i64> = values
        .iter()
        .filter(|(k, _)| !groups.ignored.contains(*k) && !groups.unready.contains(*k))
        .map(|(k, v)| (k.clone(), v.value))
        .collect();
    if kept.is_empty() {
        return err("did not receive metrics for targeted pods (pods might be unready)");
    }
    Ok((groups, kept))
}

/// Resource or ContainerResource metric with a Utilization target (spec §6.1).
/// `current` is `scale.spec.replicas`.
#[allow(clippy::too_many_arguments)]
pub fn resource_utilization(
    current: i32,
    target_pct: i32,
    resource: &str,
    container: Option<&str>,
    pods: &[PodInfo],
    samples: &[ResourceSample],
    tol: Tolerances,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<Proposal, CalcError> {
    if samples.is_empty() {
        return err("no metrics returned from resource metrics API");
    }
    if target_pct <= 0 {
        return err(format!(
            "invalid utilization target {target_pct}%: must be > 0"
        ));
    }
    let values = resource_values(samples, container);
    let (groups, kept) = usable_values(&values, pods, Some(resource), cfg, now)?;
    let requests = pod_requests(pods, container, resource)?;
    let (ratio, util, raw) = utilization_ratio(&kept, &requests, target_pct)?;
    let fallback_pct = 100.max(target_pct) as i64;
    let rc = Recompute {
        current,
        tol,
        groups: &groups,
        values: kept,
    };
    let (replicas, path) = rc.decide(
        ratio,
        |pod, r| {
            if r < 1.0 {
                requests
                    .get(pod)
                    .map(|req| req.saturating_mul(fallback_pct) / 100)
            } else if r > 1.0 {
                Some(0)
            } else {
                None
            }
        },
        |vals| utilization_ratio(vals, &requests, target_pct).map(|(r, _, _)| r),
    )?;
    Ok(Proposal {
        replicas,
        ratio,
        reported: util,
        raw_average_milli: Some(raw),
        path,
    })
}

/// The "plain" per-pod average calculation used by Pods metrics and by Resource metrics with
/// an AverageValue target (spec §6.2–§6.3). `resource` enables the CPU readiness rules.
#[allow(clippy::too_many_arguments)]
pub fn plain_average_replicas(
    current: i32,
    target_milli: i64,
    resource: Option<&str>,
    pods: &[PodInfo],
    values: &BTreeMap<Name, PodValue>,
    tol: Tolerances,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<Proposal, CalcError> {
    if target_milli <= 0 {
        return err(format!(
            "invalid average value target {target_milli}m: must be > 0"
        ));
    }
    let (groups, kept) = usable_values(values, pods, resource, cfg, now)?;
    let (ratio, usage) = plain_average(&kept, target_milli);
    let rc = Recompute {
        current,
        tol,
        groups: &groups,
        values: kept,
    };
    let (replicas, path) = rc.decide(
        ratio,
        // Missing pods count at the target on a scale-down and as 0 on a scale-up; at a
        // ratio of exactly 1 they are left out (upstream's `else if usageRatio > 1.0`).
        |_, r| {
            if r < 1.0 {
                Some(target_milli)
            } else if r > 1.0 {
                Some(0)
            } else {
                None
            }
        },
        |vals| Ok(plain_average(vals, target_milli).0),
    )?;
    Ok(Proposal {
        replicas,
        ratio,
        reported: usage,
        raw_average_milli: None,
        path,
    })
}

/// Pods metric (AverageValue target), spec §6.3.
#[allow(clippy::too_many_arguments)]
pub fn pods_average_value(
    current: i32,
    target_milli: i64,
    pods: &[PodInfo],
    samples: &[PodMetricSample],
    tol: Tolerances,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<Proposal, CalcError> {
    if samples.is_empty() {
        return err("no metrics returned from custom metrics API");
    }
    let values: BTreeMap<Name, PodValue> = samples
        .iter()
        .map(|s| {
            (
                s.pod.clone(),
                PodValue {
                    value: s.value_milli,
                    stamp: SampleStamp {
                        timestamp: s.timestamp,
                        window: s.window,
                    },
                },
            )
        })
        .collect();
    plain_average_replicas(current, target_milli, None, pods, &values, tol, cfg, now)
}

/// Resource metric with an AverageValue target (spec §6.2).
#[allow(clippy::too_many_arguments)]
pub fn resource_average_value(
    current: i32,
    target_milli: i64,
    resource: &str,
    container: Option<&str>,
    pods: &[PodInfo],
    samples: &[ResourceSample],
    tol: Tolerances,
    cfg: &ControllerConfig,
    now: SimTime,
) -> Result<Proposal, CalcError> {
    if samples.is_empty() {
        return err("no metrics returned from resource metrics API");
    }
    let values = resource_values(samples, container);
    plain_average_replicas(
        current,
        target_milli,
        Some(resource),
        pods,
        &values,
        tol,
        cfg,
        now,
    )
}

/// Object or External metric with a Value target (spec §6.4, §6.6). `current` is
/// `scale.spec.replicas`; the product uses pods that are Running and Ready.
pub fn value_target(
    current: i32,
    target_milli: i64,
    usage_milli: i64,
    pods: &[PodInfo],
    tol: Tolerances,
) -> Result<Proposal, CalcError> {
    if target_milli <= 0 {
        return err(format!("invalid value target {target_milli}m: must be > 0"));
    }
    let ratio = usage_milli as f64 / target_milli as f64;
    let (replicas, path) = if current != 0 {
        if tol.is_within(ratio) {
            (current, CalcPath::WithinTolerance)
        } else {
            if pods.is_empty() {
                return err(
                    "unable to calculate ready pods: no pods returned by selector while calculating replica count",
                );
            }
            let ready = pods.iter().filter(|p| p.is_running_and_ready()).count();
            (ceil_replicas(ratio * ready as f64), CalcPath::Direct)
        }
    } else {
        (ceil_replicas(ratio), CalcPath::FromZero)
    };
    Ok(Proposal {
        replicas,
        ratio,
        reported: usage_milli,
        raw_average_milli: None,
        path,
    })
}

/// Object or External metric with an AverageValue target (spec §6.5, §6.7). Uses
/// `scale.status.replicas`; readiness plays no role.
pub fn average_value_target(
    status_replicas: i32,
    target_milli: i64,
    usage_milli: i64,
    tol: Tolerances,
) -> Result<Proposal, CalcError> {
    if target_milli <= 0 {
        return err(format!(
            "invalid average value target {target_milli}m: must be > 0"
        ));
    }
    let ratio = usage_milli as f64 / (target_milli as f64 * status_replicas as f64);
    let (replicas, path) = if tol.is_within(ratio) {
        (status_replicas, CalcPath::WithinTolerance)
    } else {
        (
            ceil_replicas(usage_milli as f64 / target_milli as f64),
            CalcPath::Direct,
        )
    };
    let reported = if status_replicas == 0 {
        usage_milli
    } else {
        (usage_milli as f64 / status_replicas as f64).ceil() as i64
    };
    Ok(Proposal {
        replicas,
        ratio,
        reported,
        raw_average_milli: None,
        path,
    })
}

/// Sum of External metric samples, capped at `i64::MAX` as recent upstream does.
pub fn external_sum(values: &[i64]) -> i64 {
    values.iter().fold(0i64, |acc, v| acc.saturating_add(*v))
}
