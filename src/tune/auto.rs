//! The automatic search space (`axes: auto`, `tune --auto`): every knob of every autoscaler
//! that scales a simulated deployment, each with values around its current setting.
//!
//! Range rules (current value `v`; each list sorted, duplicates and values the API refuses
//! left out):
//!
//! | knob | values |
//! |---|---|
//! | `minReplicaCount` / `minReplicas` | `ceil(v/2)`, `v`, `2v` (0 stays among them when `v` is 0) |
//! | `maxReplicaCount` / `maxReplicas` | `v`, `2v`, `3v` |
//! | `pollingInterval` (KEDA, default 30) | `ceil(v/2)`, `v`, `2v` |
//! | `cooldownPeriod`, activation thresholds | only when the minimum is 0 (they act on 0 <-> 1 only): `v/2`, `v`, `2v` (an activation of 0: 0, threshold/2, threshold) |
//! | stabilization windows (up default 0, down 300) | 0: `0`, `30`, `60`; else `v/2`, `v`, `min(2v, 3600)` |
//! | `selectPolicy` (where policies are written) | `Max`, `Min` |
//! | policy `value` / `periodSeconds` (where written) | `ceil(v/2)`, `v`, `2v` (periods at most 1800) |
//! | `tolerance` (where written) | `v/2`, `v`, `2v` |
//! | trigger threshold (external) | `v/2`, `v`, `2v` |
//! | cpu/memory `Utilization` target (percent) | `v-15`, `v`, `v+15` within 5..95 |
//! | HPA metric targets | as the trigger thresholds above |
//! | a named trigger of an autoscaler with several | `on`, `off` (off: the trigger removed) |
//!
//! `auto.drop` leaves knobs out (patterns over the axis paths, `*` matching any text);
//! `auto.pin` fixes knobs at a value in every configuration; axes listed under `axes` replace
//! the automatic axis of the same path.

use super::{Axis, Experiment, TuneError};
use crate::manifest::objects::FieldLines;
use crate::policy::hpa::{Behavior, MetricSpec, MetricTarget};
use crate::policy::keda::{Scaler, TriggerMetricType};
use crate::scenario::{ModelSources, ParsedModel};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the automatic axes are chosen.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoSpec {
    /// Knobs left at their current value: patterns over the axis paths (`*` any text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
    /// Knobs fixed at a value in every configuration: axis path -> value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pin: BTreeMap<String, String>,
}

/// The value that switches a trigger off on a `...triggers[...]` axis.
pub const TRIGGER_OFF: &str = crate::scenario::ITEM_OFF;
/// The value that keeps a trigger as written.
pub const TRIGGER_ON: &str = crate::scenario::ITEM_ON;

/// Whether `path` matches `pattern` (`*` matches any text, everything else literally).
pub fn matches(pattern: &str, path: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == path;
    }
    let mut rest = path;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i + 1 == parts.len() {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(k) => rest = &rest[k + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// A number as an axis value: an integer when it is one, else at most three decimals.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<String> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    v.into_iter().map(num).collect()
}

fn halve_up(v: i64) -> i64 {
    (v + 1) / 2
}

fn counts(v: i64, lo: i64, hi: i64) -> Vec<String> {
    let c: Vec<f64> = [halve_up(v), v, 2 * v]
        .into_iter()
        .filter(|x| (lo..=hi).contains(x))
        .map(|x| x as f64)
        .collect();
    sorted(c)
}

fn scaled(v: f64) -> Vec<String> {
    if v == 0.0 {
        return vec!["0".into()];
    }
    sorted(vec![v / 2.0, v, v * 2.0])
}

/// A threshold written as a whole number stays whole (`ceil(v/2)`, `v`, `2v`): many scalers
/// read theirs as integers.
fn scaled_text(text: &str) -> Vec<String> {
    let t = text.trim();
    match t.parse::<i64>() {
        Ok(v) if v > 0 => counts(v, 1, i64::MAX / 2),
        _ => t.parse::<f64>().map(scaled).unwrap_or_default(),
    }
}

fn percent(v: f64) -> Vec<String> {
    sorted(
        [v - 15.0, v, v + 15.0]
            .into_iter()
            .filter(|x| (5.0..=95.0).contains(x) || (*x - v).abs() < 1e-9)
            .collect(),
    )
}

fn window(v: i64) -> Vec<String> {
    if v == 0 {
        return vec!["0".into(), "30".into(), "60".into()];
    }
    sorted(vec![(v / 2) as f64, v as f64, (2 * v).min(3600) as f64])
}

/// The knobs of one behavior (`prefix` ends in `behavior`): windows always; selectPolicy,
/// policy values and periods, and tolerance where the manifest writes them.
fn behavior_axes(prefix: &str, b: Option<&Behavior>, out: &mut Vec<Knob>) {
    for (dir, default_window) in [("scaleUp", 0i64), ("scaleDown", 300)] {
        let rules = b.and_then(|b| {
            if dir == "scaleUp" {
                b.scale_up.as_ref()
            } else {
                b.scale_down.as_ref()
            }
        });
        let p = format!("{prefix}.{dir}");
        let w = rules
            .and_then(|r| r.stabilization_window_seconds)
            .map_or(default_window, i64::from);
        // Without `behavior` the HPA normalizes the legacy way, which no window value is
        // exactly; the API's default window stands for it.
        out.push((format!("{p}.stabilizationWindowSeconds"), window(w)).into());
        if b.is_none()
            && let Some(k) = out.last_mut()
        {
            k.stands_for_current = Some(w.to_string());
        }
        let Some(r) = rules else { continue };
        if let Some(pols) = &r.policies {
            out.push(
                (
                    format!("{p}.selectPolicy"),
                    vec!["Max".into(), "Min".into()],
                )
                    .into(),
            );
            for (i, pol) in pols.iter().enumerate() {
                out.push(
                    (
                        format!("{p}.policies[{i}].value"),
                        counts(pol.value as i64, 1, i32::MAX as i64),
                    )
                        .into(),
                );
                out.push(
                    (
                        format!("{p}.policies[{i}].periodSeconds"),
                        counts(pol.period_seconds as i64, 1, 1800),
                    )
                        .into(),
                );
            }
        }
        if let Some(t) = r.tolerance {
            out.push((format!("{p}.tolerance"), scaled(t)).into());
        }
    }
}

/// `triggers[name=x]` when the trigger has a name, `triggers[type=t]` when no other trigger
/// has its type, else `triggers[i]`.
fn trigger_selector(triggers: &[crate::policy::keda::Trigger], i: usize) -> String {
    let t = &triggers[i];
    match &t.name {
        Some(n) => format!("spec.triggers[name={n}]"),
        None if triggers
            .iter()
            .filter(|o| o.type_name() == t.type_name())
            .count()
            == 1 =>
        {
            format!("spec.triggers[type={}]", t.type_name())
        }
        None => format!("spec.triggers[{i}]"),
    }
}

/// The metadata key of a trigger's target and of its activation, as the manifest writes them.
fn metadata_keys(lines: &FieldLines, i: usize) -> Vec<String> {
    let prefix = format!("spec.triggers[{i}].metadata.");
    lines
        .keys()
        .filter_map(|k| k.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

fn target_axis(path: String, t: &MetricTarget, out: &mut Vec<Knob>) {
    match t {
        MetricTarget::Utilization(p) => {
            out.push((format!("{path}.averageUtilization"), percent(*p as f64)).into())
        }
        MetricTarget::AverageValue(m) => {
            out.push((format!("{path}.averageValue"), scaled(*m as f64 / 1000.0)).into())
        }
        MetricTarget::Value(m) => {
            out.push((format!("{path}.value"), scaled(*m as f64 / 1000.0)).into())
        }
        MetricTarget::Unset => {}
    }
}

/// One knob of the automatic space: its axis path and values.
#[derive(Clone, Debug, PartialEq)]
pub struct Knob {
    pub path: String,
    pub values: Vec<String>,
    /// See [`Axis::stands_for_current`].
    pub stands_for_current: Option<String>,
}

impl From<(String, Vec<String>)> for Knob {
    fn from((path, values): (String, Vec<String>)) -> Self {
        Knob {
            path,
            values,
            stands_for_current: None,
        }
    }
}

/// Every knob of the model's autoscalers with its values, in manifest order, before `drop`,
/// `pin` and the experiment's own axes are applied. `simulated`: the deployments the sweep
/// runs (all when empty).
pub fn knobs(base: &ModelSources, simulated: &[String]) -> Result<Vec<Knob>, String> {
    let parsed = ParsedModel::parse(base).map_err(|e| e.to_string())?;
    let (service, set) = parsed.read(&[]).map_err(|e| e.to_string())?;
    let runs = |target: &str| {
        service.deployments.contains_key(target)
            && (simulated.is_empty() || simulated.iter().any(|d| d == target))
    };
    // A path names the object by name, with its kind when another object shares the name.
    let object = |kind: &str, name: &str| {
        let plain = format!("manifest.{name}");
        let probe = if kind == "hpa" {
            "minReplicas"
        } else {
            "minReplicaCount"
        };
        if parsed.setting(&format!("{plain}.spec.{probe}")).is_ok() {
            plain
        } else {
            format!("manifest.{kind}/{name}")
        }
    };
    let mut out: Vec<Knob> = Vec::new();
    for so in &set.scaled_objects {
        let s = &so.spec;
        if !runs(&s.target_name) {
            continue;
        }
        let o = object("scaledobject", &s.name);
        let min = s.min_replica_count as i64;
        let to_zero = min == 0;
        let lo = if to_zero { 0 } else { 1 };
        out.push(
            (
                format!("{o}.spec.minReplicaCount"),
                counts(min, lo, s.max_replica_count as i64),
            )
                .into(),
        );
        let max = s.max_replica_count as i64;
        out.push(
            (
                format!("{o}.spec.maxReplicaCount"),
                sorted(vec![max as f64, (2 * max) as f64, (3 * max) as f64]),
            )
                .into(),
        );
        out.push(
            (
                format!("{o}.spec.pollingInterval"),
                counts(s.polling_interval.as_secs_f64().round() as i64, 1, 3600),
            )
                .into(),
        );
        if to_zero {
            out.push(
                (
                    format!("{o}.spec.cooldownPeriod"),
                    counts(s.cooldown_period.as_secs_f64().round() as i64, 0, 86_400),
                )
                    .into(),
            );
        }
        behavior_axes(
            &format!("{o}.spec.advanced.horizontalPodAutoscalerConfig.behavior"),
            s.behavior.as_ref(),
            &mut out,
        );
        for (i, t) in s.triggers.iter().enumerate() {
            let sel = format!("{o}.{}", trigger_selector(&s.triggers, i));
            match &t.scaler {
                Scaler::Resource { .. } => {
                    let v = metadata_number(&parsed, &sel, "value");
                    if let Some(v) = v {
                        let values = if t.metric_type == TriggerMetricType::Utilization {
                            percent(v)
                        } else {
                            scaled(v)
                        };
                        out.push((format!("{sel}.metadata.value"), values).into());
                    }
                }
                _ => {
                    for key in metadata_keys(&so.lines, i) {
                        let Some(text) = parsed.scalar(&format!("{sel}.metadata.{key}")) else {
                            continue;
                        };
                        let activation = key.starts_with("activation");
                        if activation && !to_zero {
                            continue;
                        }
                        out.push((format!("{sel}.metadata.{key}"), scaled_text(&text)).into());
                    }
                }
            }
            // Only a named trigger: removing one shifts the indices of those after it, and
            // the model's bindings may name triggers by index.
            if s.triggers.len() > 1 && t.name.is_some() {
                out.push((sel, vec![TRIGGER_ON.into(), TRIGGER_OFF.into()]).into());
            }
        }
    }
    for h in &set.hpas {
        if !runs(&h.target_name) {
            continue;
        }
        let o = object("hpa", &h.name);
        let s = &h.spec;
        let lo = if s.min_replicas == 0 { 0 } else { 1 };
        out.push(
            (
                format!("{o}.spec.minReplicas"),
                counts(s.min_replicas as i64, lo, s.max_replicas as i64),
            )
                .into(),
        );
        let max = s.max_replicas as f64;
        out.push(
            (
                format!("{o}.spec.maxReplicas"),
                sorted(vec![max, 2.0 * max, 3.0 * max]),
            )
                .into(),
        );
        behavior_axes(&format!("{o}.spec.behavior"), s.behavior.as_ref(), &mut out);
        for (i, m) in s.metrics.iter().enumerate() {
            let (kind, target) = match m {
                MetricSpec::Resource { target, .. } => ("resource", target),
                MetricSpec::ContainerResource { target, .. } => ("containerResource", target),
                MetricSpec::Pods { target, .. } => ("pods", target),
                MetricSpec::Object { target, .. } => ("object", target),
                MetricSpec::External { target, .. } => ("external", target),
                MetricSpec::Unknown { .. } => continue,
            };
            target_axis(
                format!("{o}.spec.metrics[{i}].{kind}.target"),
                target,
                &mut out,
            );
        }
    }
    out.retain(|k| !k.values.is_empty());
    Ok(out)
}

/// A trigger's metadata value as a number (`None` when it is not one).
fn metadata_number(parsed: &ParsedModel, sel: &str, key: &str) -> Option<f64> {
    parsed
        .scalar(&format!("{sel}.metadata.{key}"))
        .and_then(|s| s.trim().parse::<f64>().ok())
}

impl Experiment {
    /// The experiment searching the automatic space too (`tune --auto`): `auto` on (as it
    /// is, when the file has it), searched by the optimizer.
    pub fn searched_automatically(mut self) -> Experiment {
        if self.auto.is_none() {
            self.auto = Some(AutoSpec::default());
        }
        self.search.strategy = super::Strategy::Tpe;
        self.search.samples = None;
        self
    }

    /// The experiment with its automatic axes derived from `base` (when it has `auto`): the
    /// knobs of [`knobs`] less `auto.drop`, `auto.pin` as one-value axes, and the experiment's
    /// own axes in place of automatic ones of the same path. Idempotent; without `auto`, the
    /// experiment as it is.
    pub fn with_auto_axes(mut self, base: &ModelSources) -> Result<Experiment, TuneError> {
        let Some(spec) = self.auto.clone() else {
            return Ok(self);
        };
        let e = |field: &str, message: String| TuneError::Input {
            file: self.source.clone(),
            field: field.into(),
            message,
        };
        let all = knobs(base, &self.deployments).map_err(|m| e("model", m))?;
        for (p, v) in &spec.pin {
            if !all.iter().any(|k| &k.path == p) && !self.axes.iter().any(|a| &a.path == p) {
                return Err(e(
                    &format!("auto.pin.{p}"),
                    format!(
                        "`{p}` is not a knob of the automatic search space (pin `{v}` needs one of its paths; `scaletwin tune --list-auto` prints them)"
                    ),
                ));
            }
        }
        for (i, d) in spec.drop.iter().enumerate() {
            if !all.iter().any(|k| matches(d, &k.path)) {
                return Err(e(
                    &format!("auto.drop[{i}]"),
                    format!(
                        "`{d}` matches no knob of the automatic search space; `scaletwin tune --list-auto` prints them"
                    ),
                ));
            }
        }
        let mut axes: Vec<Axis> = Vec::new();
        for k in all {
            if self.axes.iter().any(|a| a.path == k.path)
                || spec.drop.iter().any(|d| matches(d, &k.path))
            {
                continue;
            }
            let values = match spec.pin.get(&k.path) {
                Some(v) => vec![v.clone()],
                None => k.values,
            };
            axes.push(Axis {
                path: k.path,
                values: Some(values),
                range: None,
                stands_for_current: k.stands_for_current,
            });
        }
        axes.append(&mut self.axes);
        self.axes = axes;
        self.check_size()?;
        Ok(self)
    }
}
