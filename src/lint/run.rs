//! Structural findings from a run (`scaletwin lint --with-run RUN`, and the tuning report):
//! what the decision log and the run's figures say about the shape of the autoscaling, beyond
//! what a threshold can fix.
//!
//! - RN001: a trigger on a queue the deployment does not consume (its pods drain nothing).
//! - RN002: a deployment held at its maximum for a set share of the run, or at it while the
//!   SLO recovered from a spike (capacity-bound).
//! - RN003: a trigger that never decided the replica count (a candidate to remove).
//! - RN004: oscillation above a set number of reversals per hour, with its cause: the
//!   count moving in policy-limited steps (policies), or following the load's swings through
//!   the stabilization windows (windows).
//!
//! Per deployment, the share of HPA syncs each trigger decided is reported too: the HPA takes
//! the largest proposal, and the decision log names the metric that gave it.

use super::{Finding, ObjectRefLoc, Severity, so_ref};
use crate::engine::{AutoscalerKind, DecisionRecord, Model, Outcome, SignalRef};
use crate::manifest::ManifestSet;
use crate::policy::keda::{COMPOSITE_METRIC, Scaler};
use serde::{Deserialize, Serialize};

/// The run rules, for `scaletwin lint --list`.
pub const RUN_RULES: [(&str, &str, &str); 4] = [
    (
        "RN001",
        "trigger-on-unconsumed-queue",
        "a trigger on a queue the deployment does not consume (with --with-run)",
    ),
    (
        "RN002",
        "capacity-bound",
        "at maxReplicas for a share of the run or through a spike (with --with-run)",
    ),
    (
        "RN003",
        "trigger-never-decided",
        "a trigger whose proposal never set the replica count (with --with-run)",
    ),
    (
        "RN004",
        "oscillation",
        "more direction reversals per hour than the limit, with the cause (with --with-run)",
    ),
];

/// Limits of the run rules.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunLimits {
    /// RN002: the share of the run at the maximum that makes a deployment capacity-bound.
    pub max_share: f64,
    /// RN004: reversals per hour above which the count oscillates.
    pub reversals_per_hour: f64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_share: 0.02,
            reversals_per_hour: 2.0,
        }
    }
}

/// The share of HPA syncs one trigger's proposal decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deciding {
    pub deployment: String,
    pub autoscaler: String,
    pub trigger: String,
    /// Syncs whose winning proposal was this trigger's.
    pub syncs: u64,
    /// Of the autoscaler's syncs that computed a proposal.
    pub share: f64,
}

/// What a run says about the autoscaling's structure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunFindings {
    pub findings: Vec<Finding>,
    pub deciding: Vec<Deciding>,
    /// The settings the findings point at, for a search to try first.
    #[serde(skip)]
    pub advice: Vec<Advice>,
}

/// A setting a structural finding points at: a field of an autoscaler's object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advice {
    /// The autoscaler (ScaledObject or HPA) name.
    pub autoscaler: String,
    /// The field below the object: `spec.triggers[name=<trigger>]` (switch it off) or
    /// `spec.maxReplicaCount` / `spec.maxReplicas` (raise it).
    pub field: String,
    /// Raise the value (`false`: switch the trigger off).
    pub raise: bool,
}

/// One trigger of an autoscaler: its name, the HPA's label of its metric, the queue its
/// signal reads.
struct TriggerInfo {
    name: String,
    /// The name the manifest gives it (none: the trigger is unnamed).
    named: bool,
    label: String,
    queue: Option<usize>,
}

fn queue_of(s: &SignalRef) -> Option<usize> {
    match s {
        SignalRef::QueueLength { queue }
        | SignalRef::StreamPending { queue }
        | SignalRef::StreamLength { queue }
        | SignalRef::StreamLag { queue } => Some(*queue),
        _ => None,
    }
}

fn triggers(kind: &AutoscalerKind) -> Vec<TriggerInfo> {
    match kind {
        AutoscalerKind::Keda { spec, signals } => spec
            .triggers
            .iter()
            .enumerate()
            .map(|(i, t)| TriggerInfo {
                name: t
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{} (trigger {i})", t.type_name())),
                named: t.name.is_some(),
                label: match &t.scaler {
                    Scaler::Resource {
                        resource,
                        container: Some(c),
                        ..
                    } => format!("{c}/{resource}"),
                    Scaler::Resource { resource, .. } => resource.clone(),
                    _ if spec.scaling_modifiers.is_some() => {
                        format!("external/{COMPOSITE_METRIC}")
                    }
                    _ => format!("external/{}", t.metric_name(i)),
                },
                queue: signals.get(i).and_then(|s| s.as_ref()).and_then(queue_of),
            })
            .collect(),
        AutoscalerKind::Hpa { spec, signals } => spec
            .metrics
            .iter()
            .map(|m| {
                let bound = m.bound_metric();
                TriggerInfo {
                    name: m.label(),
                    named: false,
                    label: m.label(),
                    queue: signals
                        .iter()
                        .find(|(n, _)| Some(n.as_str()) == bound)
                        .and_then(|(_, s)| queue_of(s)),
                }
            })
            .collect(),
    }
}

/// Where a finding about autoscaler `name` points: its ScaledObject (at `key`'s line when
/// known) or HPA in `set`, else the autoscaler by name alone.
fn object(set: &ManifestSet, name: &str, key: &str) -> ObjectRefLoc {
    if let Some(so) = set.scaled_objects.iter().find(|s| s.spec.name == name) {
        return so_ref(so, so.lines.get(key).copied());
    }
    if let Some(h) = set.hpas.iter().find(|h| h.name == name) {
        return ObjectRefLoc {
            kind: "HorizontalPodAutoscaler".into(),
            namespace: h.namespace.clone(),
            name: h.name.clone(),
            file: h.source.file.clone(),
            line: h.source.line,
        };
    }
    ObjectRefLoc {
        kind: "autoscaler".into(),
        namespace: String::new(),
        name: name.into(),
        file: "(model)".into(),
        line: 0,
    }
}

/// The structural findings of a run of `m` (`decisions`: its decision log).
pub fn lint_run(
    m: &Model,
    set: &ManifestSet,
    outcome: &Outcome,
    decisions: &[DecisionRecord],
    limits: &RunLimits,
) -> RunFindings {
    let mut findings = Vec::new();
    let mut deciding = Vec::new();
    let mut advice = Vec::new();
    let hours = outcome.duration_s.max(1.0) / 3600.0;
    for a in &m.autoscalers {
        let dm = &m.deployments[a.deployment];
        let dep = dm.name.as_str();
        let trig = triggers(&a.kind);
        let syncs: Vec<&DecisionRecord> = decisions
            .iter()
            .filter(|d| d.controller == "hpa" && d.object == a.name)
            .collect();
        let decided: Vec<&str> = syncs.iter().filter_map(|d| d.metric.as_deref()).collect();
        let won = |t: &TriggerInfo| decided.iter().filter(|l| **l == t.label).count() as u64;
        for (i, t) in trig.iter().enumerate() {
            let n = won(t);
            let share = if decided.is_empty() {
                0.0
            } else {
                n as f64 / decided.len() as f64
            };
            deciding.push(Deciding {
                deployment: dep.into(),
                autoscaler: a.name.clone(),
                trigger: t.name.clone(),
                syncs: n,
                share,
            });
            let key = format!("spec.triggers[{i}]");
            if let Some(q) = t.queue
                && !dm.consumes.contains(&q)
            {
                let queue = &m.queues[q].name;
                let consumer = m
                    .deployments
                    .iter()
                    .find(|d| d.consumes.contains(&q))
                    .map_or("no deployment".to_string(), |d| d.name.clone());
                if t.named {
                    advice.push(Advice {
                        autoscaler: a.name.clone(),
                        field: format!("spec.triggers[name={}]", t.name),
                        raise: false,
                    });
                }
                findings.push(Finding {
                    id: "RN001",
                    name: "trigger-on-unconsumed-queue",
                    severity: Severity::Warning,
                    objects: vec![object(set, &a.name, &key)],
                    summary: format!(
                        "{dep} scales on queue {queue} (trigger {}) but does not consume it ({consumer} does); the trigger decided {:.0}% of the syncs",
                        t.name,
                        share * 100.0
                    ),
                    explanation: format!(
                        "Pods added for this queue's backlog drain none of it: the backlog is {consumer}'s work, and {dep} pays for the pods. Remove the trigger (or raise its threshold out of play) and scale {consumer} on the queue instead."
                    ),
                });
            }
            if trig.len() > 1 && !decided.is_empty() && n == 0 {
                findings.push(Finding {
                    id: "RN003",
                    name: "trigger-never-decided",
                    severity: Severity::Info,
                    objects: vec![object(set, &a.name, &key)],
                    summary: format!(
                        "trigger {} of {dep} never gave the largest proposal in {} syncs",
                        t.name,
                        decided.len()
                    ),
                    explanation: "The HPA takes the largest of its metrics' proposals; this trigger's was never it in the run, so removing it would not have changed a replica count under this load. Keep it only if it guards a load this run did not have.".into(),
                });
            }
        }
        let Some(o) = outcome.deployment(dep) else {
            continue;
        };
        let max = match &a.kind {
            AutoscalerKind::Keda { spec, .. } => spec.max_replica_count,
            AutoscalerKind::Hpa { spec, .. } => spec.max_replicas,
        };
        let share_at_max = o.time_at_max_s / outcome.duration_s.max(1.0);
        let worst_recovery = o.recovery_s.iter().copied().fold(0.0, f64::max);
        if o.time_at_max_s > 0.0 && (share_at_max >= limits.max_share || worst_recovery > 0.0) {
            advice.push(Advice {
                autoscaler: a.name.clone(),
                field: match &a.kind {
                    AutoscalerKind::Keda { .. } => "spec.maxReplicaCount".into(),
                    AutoscalerKind::Hpa { .. } => "spec.maxReplicas".into(),
                },
                raise: true,
            });
            findings.push(Finding {
                id: "RN002",
                name: "capacity-bound",
                severity: Severity::Warning,
                objects: vec![object(set, &a.name, "spec.maxReplicaCount")],
                summary: format!(
                    "{dep} was at its maximum of {max} replicas for {:.0} s ({:.1}% of the run){}",
                    o.time_at_max_s,
                    share_at_max * 100.0,
                    if worst_recovery > 0.0 {
                        format!(
                            "; after a spike its SLO took up to {worst_recovery:.0} s to recover"
                        )
                    } else {
                        String::new()
                    }
                ),
                explanation: format!(
                    "The autoscaler wanted more pods than the maximum allows, so the work waited instead (p95 {:.0} ms, p99 {:.0} ms). Raise maxReplicaCount (a sweep can search it) or make each pod do more (concurrency, service time).",
                    o.latency_ms.p95, o.latency_ms.p99
                ),
            });
        }
        let per_hour = o.oscillations as f64 / hours;
        if per_hour >= limits.reversals_per_hour {
            let changed: Vec<&&DecisionRecord> = syncs.iter().filter(|d| d.changed).collect();
            let limited = changed
                .iter()
                .filter(|d| {
                    matches!(
                        d.limit.as_deref(),
                        Some("ScaleUpLimit") | Some("ScaleDownLimit")
                    )
                })
                .count();
            let (hpa, _, _) = a.runtime();
            let window_s = hpa
                .behavior
                .as_ref()
                .and_then(|b| b.scale_down.as_ref())
                .and_then(|r| r.stabilization_window_seconds)
                .map_or(
                    m.controller.downscale_stabilization.as_micros() as f64 * 1e-6,
                    f64::from,
                );
            let cause = if !changed.is_empty() && limited * 2 > changed.len() {
                format!(
                    "policies: {limited} of {} changes were clamped by a scale-up or scale-down policy, so the count kept moving in policy-sized steps past the load; widen the policies or lengthen their periods",
                    changed.len()
                )
            } else {
                format!(
                    "windows: the changes were not clamped by policies ({limited} of {} were); the count followed the load's swings through a scale-down stabilization window of {window_s:.0} s; lengthen it, or the cooldown for KEDA's drops to the idle count",
                    changed.len()
                )
            };
            findings.push(Finding {
                id: "RN004",
                name: "oscillation",
                severity: Severity::Warning,
                objects: vec![object(set, &a.name, "spec")],
                summary: format!(
                    "{dep} reversed direction {} times ({per_hour:.1} per hour, limit {})",
                    o.oscillations, limits.reversals_per_hour
                ),
                explanation: format!("Cause, from the decision log: {cause}."),
            });
        }
    }
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(b.id)));
    RunFindings {
        findings,
        deciding,
        advice,
    }
}
