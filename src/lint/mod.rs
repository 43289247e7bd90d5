//! `scaletwin lint`: tuning pitfalls users really hit, found in their own manifests.
//!
//! Each finding has a stable id, a severity, the objects involved (with file and line) and a
//! paragraph explaining what the autoscaler will really do.

use crate::manifest::{ManifestSet, ScaledObject};
use crate::policy::hpa::{ControllerConfig, HpaSpec, MetricSpec, MetricTarget, SelectPolicy};
use crate::policy::keda::{Scaler, TriggerMetricType};
pub mod run;

use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails the lint.
    Info,
    /// A likely pitfall; fails the lint with `--strict`.
    Warning,
    /// The setting cannot do what it appears to do; fails the lint.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// An object a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectRefLoc {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
}

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable id, e.g. `ST001`.
    pub id: &'static str,
    /// Short name, e.g. `cooldown-ignored`.
    pub name: &'static str,
    pub severity: Severity,
    pub objects: Vec<ObjectRefLoc>,
    /// One line: what is wrong here.
    pub summary: String,
    /// One paragraph: why, and what to do.
    pub explanation: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = &self.objects[0];
        writeln!(
            f,
            "{}:{}: {}[{} {}] {}",
            first.file.display(),
            first.line,
            self.severity,
            self.id,
            self.name,
            self.summary
        )?;
        for o in &self.objects {
            // A finding about the text (a duplicate key) has a place but no object.
            if o.kind.is_empty() {
                writeln!(f, "    ({}:{})", o.file.display(), o.line)?;
                continue;
            }
            writeln!(
                f,
                "    {} {}/{} ({}:{})",
                o.kind,
                o.namespace,
                o.name,
                o.file.display(),
                o.line
            )?;
        }
        for line in wrap(&self.explanation, 92) {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for w in text.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + w.len() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Every rule, for `scaletwin lint --list` and the README.
pub const RULES: [(&str, &str, &str); 10] = [
    (
        "ST001",
        "cooldown-ignored",
        "cooldownPeriod set while minReplicaCount > 0 without idleReplicaCount",
    ),
    (
        "ST002",
        "average-value-non-additive",
        "a latency or other non-additive metric under AverageValue",
    ),
    (
        "ST003",
        "tolerance-dead-zone",
        "the tolerance band spans whole replicas at the counts this object reaches",
    ),
    (
        "ST004",
        "windows-and-policies-fight",
        "stabilization windows, policies and cooldown that work against each other",
    ),
    (
        "ST005",
        "zero-with-resource-triggers",
        "scale to zero with only cpu/memory triggers",
    ),
    (
        "ST006",
        "resource-mixed-with-external",
        "cpu/memory mixed with external triggers on an object that can scale to zero",
    ),
    (
        "ST007",
        "min-above-max",
        "minimum replicas above maximum replicas",
    ),
    (
        "ST008",
        "prometheus-never-falls-back",
        "fallback configured but Prometheus empty results read as 0",
    ),
    (
        "ST009",
        "unmodeled-trigger",
        "a trigger type scaletwin does not model (treated as a generic external metric)",
    ),
    (
        "ST010",
        "target-not-found",
        "the scale target is not among the given manifests",
    ),
];

pub(crate) fn so_ref(so: &ScaledObject, line: Option<usize>) -> ObjectRefLoc {
    ObjectRefLoc {
        kind: "ScaledObject".into(),
        namespace: so.spec.namespace.clone(),
        name: so.spec.name.clone(),
        file: so.source.file.clone(),
        line: line.unwrap_or(so.source.line),
    }
}

/// Whether a Prometheus query computes something that does not add up across pods
/// (a quantile, an average, a ratio, a latency).
pub fn query_is_non_additive(query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    [
        "histogram_quantile",
        "quantile(",
        "quantile_over_time",
        "avg(",
        "avg_over_time",
        "latency",
        "duration",
        "_seconds_bucket",
        "p95",
        "p99",
    ]
    .iter()
    .any(|k| q.contains(k))
}

/// Lint a set of manifests.
pub fn lint(set: &ManifestSet) -> Vec<Finding> {
    let cfg = ControllerConfig::default();
    let mut out = Vec::new();
    for so in &set.scaled_objects {
        lint_scaled_object(set, so, &cfg, &mut out);
    }
    for h in &set.hpas {
        let obj = ObjectRefLoc {
            kind: "HorizontalPodAutoscaler".into(),
            namespace: h.namespace.clone(),
            name: h.name.clone(),
            file: h.source.file.clone(),
            line: h
                .lines
                .get("spec.maxReplicas")
                .copied()
                .unwrap_or(h.source.line),
        };
        if h.spec.min_replicas > h.spec.max_replicas {
            out.push(min_above_max(
                obj.clone(),
                h.spec.min_replicas,
                h.spec.max_replicas,
                "minReplicas",
                "maxReplicas",
            ));
        }
        lint_hpa_behavior(&h.spec, &cfg, obj.clone(), None, &mut out);
        dead_zone(&h.spec, &cfg, obj.clone(), &mut out);
        if h.target_kind == "Deployment" && set.deployment(&h.namespace, &h.target_name).is_none() {
            out.push(target_not_found(obj, &h.target_name));
        }
    }
    for w in &set.warnings {
        let at = || {
            vec![ObjectRefLoc {
                kind: String::new(),
                namespace: String::new(),
                name: String::new(),
                file: w.file.clone(),
                line: w.line,
            }]
        };
        if w.message.starts_with("duplicate key ") {
            out.push(Finding {
                id: "ST011",
                name: "duplicate-key",
                severity: Severity::Warning,
                objects: at(),
                summary: w.message.clone(),
                explanation: "A key written twice in one mapping is one field with two values. \
                    Kubernetes' decoder keeps the last (scaletwin reads it the same way); with \
                    strict field validation kubectl refuses the object. Keep one."
                    .into(),
            });
            continue;
        }
        if w.message
            .contains("the ScaledObject CRD holds metadata as strings")
        {
            out.push(Finding {
                id: "ST012",
                name: "unquoted-trigger-metadata",
                severity: Severity::Error,
                objects: at(),
                summary: w.message.clone(),
                explanation: "A trigger's metadata is a map of strings in the ScaledObject \
                    CRD: an unquoted number, boolean or null fails the API server's schema \
                    validation, so the object is never created. scaletwin reads the text \
                    as written so that the rest can be checked."
                    .into(),
            });
            continue;
        }
        if w.message.contains("is not modeled") {
            out.push(Finding {
                id: "ST009",
                name: "unmodeled-trigger",
                severity: Severity::Warning,
                objects: vec![ObjectRefLoc { kind: "ScaledObject".into(), namespace: String::new(), name: String::new(), file: w.file.clone(), line: w.line }],
                summary: w.message.clone(),
                explanation: "scaletwin computes this trigger as a generic external metric: AverageValue math on \
                    whatever value you bind to it, with strict activation above its activation threshold. To simulate it, \
                    the service model must say which simulated signal feeds it."
                    .into(),
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.objects[0].file, a.objects[0].line, a.id).cmp(&(
            &b.objects[0].file,
            b.objects[0].line,
            b.id,
        ))
    });
    out
}

fn min_above_max(obj: ObjectRefLoc, min: i32, max: i32, min_name: &str, max_name: &str) -> Finding {
    Finding {
        id: "ST007",
        name: "min-above-max",
        severity: Severity::Error,
        objects: vec![obj],
        summary: format!("{min_name} {min} is above {max_name} {max}"),
        explanation: format!(
            "The validating webhook rejects this object. Where it slips through (an HPA edited by hand, a KEDA \
             object created before validation), the operator and the HPA fight: one raises the workload to {min}, \
             the other caps it at {max}, every few minutes. Make {min_name} <= {max_name}."
        ),
    }
}

fn target_not_found(obj: ObjectRefLoc, target: &str) -> Finding {
    Finding {
        id: "ST010",
        name: "target-not-found",
        severity: Severity::Info,
        summary: format!("scale target Deployment {target} is not among the given manifests"),
        objects: vec![obj],
        explanation: "Lint checks the autoscaler on its own; pass the Deployment's manifest as well so that CPU \
            and memory targets can be checked against its requests (and so that the simulator has its pod spec)."
            .into(),
    }
}

fn lint_scaled_object(
    set: &ManifestSet,
    so: &ScaledObject,
    cfg: &ControllerConfig,
    out: &mut Vec<Finding>,
) {
    let s = &so.spec;
    let line = |k: &str| so.lines.get(k).copied();
    if s.min_replica_count > s.max_replica_count {
        out.push(min_above_max(
            so_ref(so, line("spec.maxReplicaCount")),
            s.min_replica_count,
            s.max_replica_count,
            "minReplicaCount",
            "maxReplicaCount",
        ));
    }
    let scale_to_zero = s.min_replica_count == 0 || s.idle_replica_count.is_some();
    if let Some(l) = line("spec.cooldownPeriod")
        && s.min_replica_count > 0
        && s.idle_replica_count.is_none()
    {
        let window = s
            .behavior
            .as_ref()
            .map(|b| b.resolved_scale_down(cfg).stabilization_window)
            .unwrap_or(cfg.downscale_stabilization)
            .as_secs();
        out.push(Finding {
            id: "ST001",
            name: "cooldown-ignored",
            severity: Severity::Warning,
            objects: vec![so_ref(so, Some(l))],
            summary: format!(
                "cooldownPeriod {}s has no effect: minReplicaCount is {} and there is no idleReplicaCount",
                s.cooldown_period.as_secs(),
                s.min_replica_count
            ),
            explanation: format!(
                "KEDA's cooldownPeriod only times the drop to zero (or to idleReplicaCount) after the last active poll. \
                 With minReplicaCount > 0 that drop never happens, so the value is never read. Ordinary scale-down \
                 (N -> N-1) belongs to the HPA, which holds the highest recommendation of its scale-down \
                 stabilization window ({window}s here) before shrinking. To slow or speed up scale-down, set \
                 advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds and its policies; \
                 remove cooldownPeriod or keep it only if you mean to scale to zero."
            ),
        });
    }
    for (i, t) in s.triggers.iter().enumerate() {
        let tline = line(&format!("spec.triggers[{i}].metadata.threshold"))
            .or(line(&format!("spec.triggers[{i}].metadata.targetValue")));
        let non_additive = match &t.scaler {
            Scaler::Prometheus { query, .. } => query_is_non_additive(query),
            _ => false,
        } || t.name.as_deref().is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.contains("latency")
                || n.contains("p95")
                || n.contains("p99")
                || n.contains("duration")
        });
        if non_additive
            && t.metric_type == TriggerMetricType::AverageValue
            && s.scaling_modifiers.is_none()
        {
            let target = t.target();
            out.push(Finding {
                id: "ST002",
                name: "average-value-non-additive",
                severity: Severity::Warning,
                objects: vec![so_ref(so, tline)],
                summary: format!(
                    "trigger {} ({}) is a latency/quantile under AverageValue: desired = ceil(value / {target}) whatever the replica count",
                    t.name.clone().unwrap_or_else(|| format!("#{i}")),
                    t.type_name()
                ),
                explanation: format!(
                    "With metricType AverageValue (KEDA's default) the HPA treats the value as a total to be shared \
                     out: it proposes ceil(value / target) replicas. A p95 latency is not a total: at 1.5 s against a \
                     target of {target} the HPA asks for ceil(1.5 / {target}) pods, the same with 2 pods or 40, so the \
                     proposal never reflects how many pods serve the load and can pin the workload low while latency \
                     is bad. Use metricType: Value (ratio value/target times the ready pods), or scale on an additive \
                     signal such as request rate or queue depth and keep latency as an SLO to check."
                ),
            });
        }
        if let Scaler::Prometheus {
            ignore_null_values: true,
            ..
        } = &t.scaler
            && s.fallback.is_some()
        {
            out.push(Finding {
                id: "ST008",
                name: "prometheus-never-falls-back",
                severity: Severity::Warning,
                objects: vec![so_ref(so, line("spec.fallback"))],
                summary: format!("trigger {} can never engage the fallback: empty Prometheus results read as 0", t.name.clone().unwrap_or_else(|| format!("#{i}"))),
                explanation: "With ignoreNullValues left at its default (true), a query that returns no series is read as \
                    0 without an error, so the failure counter never moves and the fallback replicas are never served: \
                    the object scales down (or to zero) instead. Set metadata.ignoreNullValues: \"false\" so that missing \
                    data counts as a failure and the fallback applies."
                    .into(),
            });
        }
    }
    let has_resource = s.triggers.iter().any(|t| t.is_resource());
    let has_external = s.triggers.iter().any(|t| !t.is_resource());
    if s.only_resource_triggers() && s.min_replica_count == 0 {
        out.push(Finding {
            id: "ST005",
            name: "zero-with-resource-triggers",
            severity: Severity::Error,
            objects: vec![so_ref(so, line("spec.minReplicaCount"))],
            summary: "minReplicaCount 0 with only cpu/memory triggers".into(),
            explanation: "KEDA's webhook rejects this. cpu and memory are measured on running pods, so at zero pods \
                there is nothing to measure and nothing could ever scale the workload back up; KEDA treats objects with \
                only cpu/memory triggers as always active. Set minReplicaCount >= 1, or add an external trigger (queue \
                depth, request rate) that can wake the workload."
                .into(),
        });
    } else if has_resource && has_external && scale_to_zero {
        out.push(Finding {
            id: "ST006",
            name: "resource-mixed-with-external",
            severity: Severity::Warning,
            objects: vec![so_ref(so, line("spec.minReplicaCount"))],
            summary: "cpu/memory triggers mixed with external triggers on an object that can scale to zero".into(),
            explanation: "Activation only looks at the external triggers: when they go quiet for the cooldown period the \
                operator drops the workload to zero even if its pods are busy on CPU or memory (KEDA issue 6172). Either \
                keep minReplicaCount >= 1, or make sure an external trigger sees the work the pods are doing."
                .into(),
        });
    }
    let hpa = s.to_hpa();
    let obj = so_ref(so, None);
    lint_hpa_behavior(
        &hpa,
        cfg,
        obj.clone(),
        if scale_to_zero {
            Some(s.cooldown_period.as_secs())
        } else {
            None
        },
        out,
    );
    dead_zone(&hpa, cfg, obj.clone(), out);
    if s.target_kind == "Deployment" && set.deployment(&s.namespace, &s.target_name).is_none() {
        out.push(target_not_found(obj, &s.target_name));
    }
}

fn lint_hpa_behavior(
    hpa: &HpaSpec,
    cfg: &ControllerConfig,
    obj: ObjectRefLoc,
    cooldown_s: Option<i64>,
    out: &mut Vec<Finding>,
) {
    let Some(b) = &hpa.behavior else { return };
    let up = b.resolved_scale_up();
    let down = b.resolved_scale_down(cfg);
    let mut problems = Vec::new();
    if up.stabilization_window > down.stabilization_window
        && up.select_policy != SelectPolicy::Disabled
    {
        problems.push(format!(
            "the scale-up window ({}s) is longer than the scale-down window ({}s): the HPA reacts to a drop faster than to a rise",
            up.stabilization_window.as_secs(),
            down.stabilization_window.as_secs()
        ));
    }
    for (dir, r, user) in [
        ("scaleUp", &up, &b.scale_up),
        ("scaleDown", &down, &b.scale_down),
    ] {
        if r.select_policy == SelectPolicy::Disabled
            && user.as_ref().is_some_and(|u| u.policies.is_some())
        {
            problems.push(format!(
                "{dir} has selectPolicy Disabled, so its policies are never used"
            ));
        }
        let sync = cfg.sync_period.as_secs();
        if r.select_policy == SelectPolicy::Min
            && r.policies
                .iter()
                .any(|p| p.period_seconds as i64 > r.stabilization_window.as_secs().max(sync) * 4)
        {
            problems.push(format!(
                "{dir} uses selectPolicy Min with a policy period far longer than its stabilization window: after one step the slowest policy throttles every later step for its whole period"
            ));
        }
    }
    if let Some(c) = cooldown_s
        && down.stabilization_window.as_secs() > c
    {
        problems.push(format!(
            "cooldownPeriod ({c}s) is shorter than the HPA's scale-down window ({}s): KEDA drops the workload to zero from any count before the HPA's gradual scale-down has a say",
            down.stabilization_window.as_secs()
        ));
    }
    if problems.is_empty() {
        return;
    }
    out.push(Finding {
        id: "ST004",
        name: "windows-and-policies-fight",
        severity: Severity::Warning,
        objects: vec![obj],
        summary: problems.join("; "),
        explanation: "Stabilization windows, rate policies and KEDA's cooldown are separate clocks. Windows decide which \
            recommendation counts (the lowest of the scale-up window, the highest of the scale-down window), policies \
            cap how far one sync may move from the count at the start of each policy period, and cooldown decides only \
            the drop to zero. When they disagree the slowest or the bluntest one wins; make them tell one story: a \
            short scale-up window, a longer scale-down window, policy periods near the windows, and a cooldown no \
            shorter than the scale-down window."
            .into(),
    });
}

fn dead_zone(hpa: &HpaSpec, cfg: &ControllerConfig, obj: ObjectRefLoc, out: &mut Vec<Finding>) {
    let tol = hpa.tolerances(cfg);
    let t = tol.scale_up.max(tol.scale_down);
    if t <= 0.0 {
        return;
    }
    // Above n replicas, one replica is a smaller step than the band: the count can sit a whole
    // replica (or more) away from what the metric asks for.
    let n = (1.0 / t).floor() as i32 + 1;
    if hpa.max_replicas < n {
        return;
    }
    let additive = hpa.metrics.iter().any(|m| {
        matches!(
            m.target(),
            Some(MetricTarget::AverageValue(_)) | Some(MetricTarget::Value(_))
        ) || matches!(m, MetricSpec::Resource { .. })
    });
    if !additive {
        return;
    }
    let at_max = (hpa.max_replicas as f64 * t).floor() as i32;
    out.push(Finding {
        id: "ST003",
        name: "tolerance-dead-zone",
        severity: Severity::Info,
        objects: vec![obj],
        summary: format!(
            "with tolerance -{:.0}%/+{:.0}%, from {n} replicas up the band spans a whole replica (up to {at_max} at maxReplicas {})",
            tol.scale_down * 100.0,
            tol.scale_up * 100.0,
            hpa.max_replicas
        ),
        explanation: format!(
            "The HPA changes nothing while current/target lies within [{:.2}, {:.2}]. At N replicas that band is about \
             N x {t:.2} replicas wide, so from {n} replicas up the workload can settle one or more pods short of (or \
             above) what the metric asks for, and small load changes never move it. If that matters, set a per-HPA \
             tolerance (behavior.scaleUp/scaleDown.tolerance, Kubernetes >= 1.33) or lower the target so the usual \
             operating point sits inside the band deliberately.",
            1.0 - tol.scale_down,
            1.0 + tol.scale_up
        ),
    });
}
