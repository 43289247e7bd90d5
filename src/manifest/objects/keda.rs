//! KEDA ScaledObjects read from their YAML: the spec, pause annotations, scaling modifiers and
//! every trigger kind.

use super::*;
use crate::manifest::yaml::Style;

pub(super) const SO_SPEC_KEYS: [&str; 10] = [
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "initialCooldownPeriod",
    "idleReplicaCount",
    "minReplicaCount",
    "maxReplicaCount",
    "fallback",
    "advanced",
    "triggers",
];

pub(super) fn scaled_object(
    ctx: &mut Ctx,
    root: &Node,
    name: String,
    source: Source,
) -> R<ScaledObject> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    let spec_n = opt(root, "spec")
        .ok_or_else(|| ctx.missing(root, "spec", "a ScaledObject needs a spec"))?;
    let spec_n = ctx.map(spec_n, "spec")?;
    ctx.known_keys(spec_n, "spec", &SO_SPEC_KEYS)?;
    let (target_kind, target_name) = target_ref(ctx, spec_n, "spec")?;
    let mut so = ScaledObjectSpec::new(&name, &namespace, &target_name);
    so.target_kind = target_kind;

    let secs = |key: &str, lo: i64, hint: &str, lines: &mut FieldLines| -> R<Option<SimDuration>> {
        match opt(spec_n, key) {
            None => Ok(None),
            Some(n) => {
                let p = join("spec", key);
                lines.insert(p.clone(), n.start.line);
                Ok(Some(SimDuration::from_secs(ctx.int(n, &p, lo, I32, hint)?)))
            }
        }
    };
    for (key, lo, hint, field) in [
        (
            "pollingInterval",
            1,
            "pollingInterval is in seconds, at least 1",
            &mut so.polling_interval,
        ),
        (
            "cooldownPeriod",
            0,
            "cooldownPeriod is in seconds, 0 or more",
            &mut so.cooldown_period,
        ),
        (
            "initialCooldownPeriod",
            0,
            "initialCooldownPeriod is in seconds, 0 or more",
            &mut so.initial_cooldown_period,
        ),
    ] {
        if let Some(d) = secs(key, lo, hint, &mut lines)? {
            *field = d;
        }
    }
    let count = |key: &str, lines: &mut FieldLines| -> R<Option<i32>> {
        match opt(spec_n, key) {
            None => Ok(None),
            Some(n) => {
                let p = join("spec", key);
                lines.insert(p.clone(), n.start.line);
                Ok(Some(
                    ctx.int(n, &p, 0, I32, "a replica count, 0 or more")? as i32
                ))
            }
        }
    };
    if let Some(v) = count("minReplicaCount", &mut lines)? {
        so.min_replica_count = v;
    }
    if let Some(v) = count("maxReplicaCount", &mut lines)? {
        so.max_replica_count = v;
    }
    so.idle_replica_count = count("idleReplicaCount", &mut lines)?;
    if let Some(idle) = so.idle_replica_count
        && idle >= so.min_replica_count
    {
        let n = spec_n.get("idleReplicaCount").unwrap_or(spec_n);
        return Err(ctx.error(
            n,
            "spec.idleReplicaCount",
            format!(
                "idleReplicaCount ({idle}) must be below minReplicaCount ({})",
                so.min_replica_count
            ),
            Some("only idleReplicaCount: 0 works reliably".into()),
        ));
    }

    if let Some(fb) = opt(spec_n, "fallback") {
        let fb = ctx.map(fb, "spec.fallback")?;
        ctx.known_keys(
            fb,
            "spec.fallback",
            &["failureThreshold", "replicas", "behavior"],
        )?;
        lines.insert("spec.fallback".into(), fb.start.line);
        let ft = opt(fb, "failureThreshold").ok_or_else(|| {
            ctx.missing(
                fb,
                "spec.fallback.failureThreshold",
                "fallback needs failureThreshold and replicas",
            )
        })?;
        let rp = opt(fb, "replicas").ok_or_else(|| {
            ctx.missing(
                fb,
                "spec.fallback.replicas",
                "fallback needs failureThreshold and replicas",
            )
        })?;
        let behavior = match opt(fb, "behavior") {
            None => FallbackBehavior::Static,
            Some(b) => match ctx.string(b, "spec.fallback.behavior")?.as_str() {
                "static" => FallbackBehavior::Static,
                "currentReplicas" => FallbackBehavior::CurrentReplicas,
                "currentReplicasIfHigher" => FallbackBehavior::CurrentReplicasIfHigher,
                "currentReplicasIfLower" => FallbackBehavior::CurrentReplicasIfLower,
                "scalingModifiers" => FallbackBehavior::ScalingModifiers,
                _ => return Err(ctx.error(b, "spec.fallback.behavior", "unknown fallback behavior", Some("use static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower or scalingModifiers".into()))),
            },
        };
        so.fallback = Some(Fallback {
            failure_threshold: ctx.int(
                ft,
                "spec.fallback.failureThreshold",
                0,
                I32,
                "a count of failures, 0 or more",
            )? as u32,
            replicas: ctx.int(
                rp,
                "spec.fallback.replicas",
                0,
                I32,
                "a replica count, 0 or more",
            )? as i32,
            behavior,
        });
    }

    if let Some(adv) = opt(spec_n, "advanced") {
        let adv = ctx.map(adv, "spec.advanced")?;
        ctx.known_keys(
            adv,
            "spec.advanced",
            &[
                "horizontalPodAutoscalerConfig",
                "restoreToOriginalReplicaCount",
                "scalingModifiers",
            ],
        )?;
        if let Some(r) = opt(adv, "restoreToOriginalReplicaCount") {
            so.restore_to_original_replica_count =
                ctx.boolean(r, "spec.advanced.restoreToOriginalReplicaCount")?;
        }
        if let Some(h) = opt(adv, "horizontalPodAutoscalerConfig") {
            let p = "spec.advanced.horizontalPodAutoscalerConfig";
            let h = ctx.map(h, p)?;
            ctx.known_keys(h, p, &["name", "behavior"])?;
            so.hpa_name = opt(h, "name")
                .map(|n| ctx.string(n, &join(p, "name")))
                .transpose()?;
            so.behavior = opt(h, "behavior")
                .map(|b| behavior(ctx, b, &join(p, "behavior"), &mut lines))
                .transpose()?;
        }
        if let Some(m) = opt(adv, "scalingModifiers") {
            so.scaling_modifiers = Some(modifiers(ctx, m)?);
        }
    }

    let annotations = opt(root, "metadata").and_then(|m| opt(m, "annotations"));
    if let Some(a) = annotations {
        so.annotations = pause_annotations(ctx, a)?;
    }

    let trig = opt(spec_n, "triggers").ok_or_else(|| {
        ctx.missing(
            spec_n,
            "spec.triggers",
            "a ScaledObject needs at least one trigger",
        )
    })?;
    let items = ctx.seq(trig, "spec.triggers")?;
    if items.is_empty() {
        return Err(ctx.error(
            trig,
            "spec.triggers",
            "must have at least one trigger",
            None,
        ));
    }
    for (i, t) in items.iter().enumerate() {
        so.triggers
            .push(trigger(ctx, t, &format!("spec.triggers[{i}]"), &mut lines)?);
    }

    // Webhook rules that involve several fields. (min > max and scale-to-zero with only
    // cpu/memory triggers are reported by `lint`, which explains them.)
    if so.fallback.is_some() && so.only_resource_triggers() {
        return Err(ctx.error(
            trig,
            "spec.fallback",
            "fallback needs at least one trigger that is not cpu/memory",
            None,
        ));
    }
    if let Some(m) = &so.scaling_modifiers {
        let names: Vec<&str> = so
            .triggers
            .iter()
            .filter(|t| !t.is_resource())
            .filter_map(|t| t.name.as_deref())
            .collect();
        for v in m.formula.variables() {
            if !names.contains(&v.as_str()) {
                let node = spec_n
                    .get("advanced")
                    .and_then(|a| a.get("scalingModifiers"))
                    .unwrap_or(spec_n);
                return Err(ctx.error(
                    node,
                    "spec.advanced.scalingModifiers.formula",
                    format!("the formula uses `{v}` but no (non-cpu/memory) trigger has that name"),
                    Some(format!(
                        "trigger names: {}",
                        if names.is_empty() {
                            "(none)".into()
                        } else {
                            names.join(", ")
                        }
                    )),
                ));
            }
        }
    }
    Ok(ScaledObject {
        spec: so,
        source,
        lines,
    })
}

pub(super) fn pause_annotations(ctx: &Ctx, a: &Node) -> R<Annotations> {
    let mut out = Annotations::default();
    let flag = |key: &str| -> Option<bool> {
        // A non-boolean value counts as true (KEDA's reading of the paused annotation).
        opt(a, key).map(|n| n.as_str().map(|s| s.trim() != "false").unwrap_or(true))
    };
    out.paused = flag("autoscaling.keda.sh/paused").unwrap_or(false);
    out.paused_scale_in = flag("autoscaling.keda.sh/paused-scale-in").unwrap_or(false);
    out.paused_scale_out = flag("autoscaling.keda.sh/paused-scale-out").unwrap_or(false);
    out.force_activation = flag("autoscaling.keda.sh/force-activation").unwrap_or(false);
    if let Some(n) = opt(a, "autoscaling.keda.sh/paused-replicas") {
        out.paused_replicas = Some(ctx.int(
            n,
            "metadata.annotations[autoscaling.keda.sh/paused-replicas]",
            0,
            I32,
            "a replica count as a string, e.g. \"0\"",
        )? as i32);
    }
    Ok(out)
}

pub(super) fn modifiers(ctx: &Ctx, m: &Node) -> R<ScalingModifiers> {
    let p = "spec.advanced.scalingModifiers";
    let m = ctx.map(m, p)?;
    ctx.known_keys(
        m,
        p,
        &["formula", "target", "activationTarget", "metricType"],
    )?;
    let f = opt(m, "formula")
        .ok_or_else(|| ctx.missing(m, &join(p, "formula"), "scalingModifiers needs a formula"))?;
    let text = ctx.string(f, &join(p, "formula"))?;
    let formula = Formula::parse(&text).map_err(|e| {
        ctx.error(
            f,
            &join(p, "formula"),
            e.to_string(),
            Some("see KEDA's scalingModifiers docs for the expression language".into()),
        )
    })?;
    let t = opt(m, "target")
        .ok_or_else(|| ctx.missing(m, &join(p, "target"), "scalingModifiers needs a target"))?;
    let target = ctx.float(
        t,
        &join(p, "target"),
        "a number > 0 as a string, e.g. \"2\"",
    )?;
    if target <= 0.0 {
        return Err(ctx.error(t, &join(p, "target"), "must be > 0", None));
    }
    let activation_target = opt(m, "activationTarget")
        .map(|n| ctx.float(n, &join(p, "activationTarget"), "a number as a string"))
        .transpose()?
        .unwrap_or(0.0);
    let metric_type = match opt(m, "metricType") {
        None => TriggerMetricType::AverageValue,
        Some(n) => match ctx.string(n, &join(p, "metricType"))?.as_str() {
            "AverageValue" => TriggerMetricType::AverageValue,
            "Value" => TriggerMetricType::Value,
            _ => {
                return Err(ctx.error(
                    n,
                    &join(p, "metricType"),
                    "must be AverageValue or Value",
                    None,
                ));
            }
        },
    };
    Ok(ScalingModifiers {
        formula,
        formula_text: text,
        target,
        activation_target,
        metric_type,
    })
}

pub(super) fn trigger(ctx: &mut Ctx, t: &Node, path: &str, lines: &mut FieldLines) -> R<Trigger> {
    let t = ctx.map(t, path)?;
    ctx.known_keys(
        t,
        path,
        &[
            "type",
            "name",
            "metadata",
            "metricType",
            "useCachedMetrics",
            "authenticationRef",
        ],
    )?;
    let ty = opt(t, "type").ok_or_else(|| {
        ctx.missing(
            t,
            &join(path, "type"),
            "name the scaler, e.g. type: prometheus",
        )
    })?;
    let ty = ctx.string(ty, &join(path, "type"))?;
    let name = opt(t, "name")
        .map(|n| ctx.string(n, &join(path, "name")))
        .transpose()?;
    let use_cached_metrics = opt(t, "useCachedMetrics")
        .map(|n| ctx.boolean(n, &join(path, "useCachedMetrics")))
        .transpose()?
        .unwrap_or(false);
    let mt_node = opt(t, "metricType");
    let metric_type = match mt_node {
        None => None,
        Some(n) => Some(match ctx.string(n, &join(path, "metricType"))?.as_str() {
            "AverageValue" => TriggerMetricType::AverageValue,
            "Value" => TriggerMetricType::Value,
            "Utilization" => TriggerMetricType::Utilization,
            _ => {
                return Err(ctx.error(
                    n,
                    &join(path, "metricType"),
                    "unknown metricType",
                    Some("use AverageValue, Value or Utilization".into()),
                ));
            }
        }),
    };
    let meta_path = join(path, "metadata");
    let meta = match opt(t, "metadata") {
        Some(m) => ctx.map(m, &meta_path)?,
        None => t,
    };
    // The CRD types metadata as a map of strings: a plain `threshold: 40` is a number there,
    // and the API server refuses the object. Read as the text it is, reported.
    if !std::ptr::eq(meta, t)
        && let Kind::Map { entries, .. } = &meta.kind
    {
        for (k, v) in entries {
            if let (
                Some(key),
                Kind::Scalar {
                    value,
                    style: Style::Plain,
                },
            ) = (k.as_str(), &v.kind)
                && plain_is_not_a_string(value)
            {
                ctx.warn(
                    v.start.line,
                    format!(
                        "{meta_path}.{key}: `{value}` is not a string; the ScaledObject CRD \
                         holds metadata as strings, so the API server rejects this object: \
                         quote it ({key}: \"{value}\")"
                    ),
                );
            }
        }
    }
    let md = |key: &str| opt(meta, key).filter(|_| !std::ptr::eq(meta, t));
    let mut unmodeled = None;
    let mpath = |key: &str| format!("{meta_path}.{key}");
    let note = |key: &str, lines: &mut FieldLines| {
        if let Some(n) = md(key) {
            lines.insert(mpath(key), n.start.line);
        }
    };
    let num = |key: &str, default: Option<f64>| -> R<f64> {
        match md(key) {
            Some(n) => ctx.float(
                n,
                &mpath(key),
                "a number (KEDA metadata values are strings, e.g. \"15\")",
            ),
            None => default.ok_or_else(|| {
                ctx.missing(
                    meta,
                    &mpath(key),
                    &format!("the {ty} scaler needs metadata.{key}"),
                )
            }),
        }
    };
    let text = |key: &str| -> R<String> {
        md(key)
            .map(|n| ctx.string(n, &mpath(key)))
            .transpose()
            .map(|v| v.unwrap_or_default())
    };
    let scaler = match ty.as_str() {
        "cpu" | "memory" => {
            if md("type").is_some() {
                return Err(ctx.error(
                    md("type").unwrap(),
                    &mpath("type"),
                    "metadata.type is no longer supported for cpu/memory triggers",
                    Some("set triggers[].metricType: Utilization or AverageValue instead".into()),
                ));
            }
            let mt = metric_type.ok_or_else(|| {
                ctx.missing(
                    t,
                    &join(path, "metricType"),
                    "cpu/memory triggers need metricType: Utilization or AverageValue",
                )
            })?;
            let v = md("value").ok_or_else(|| {
                ctx.missing(
                    meta,
                    &mpath("value"),
                    "the target, e.g. value: \"70\" (percent for Utilization)",
                )
            })?;
            note("value", lines);
            let target = match mt {
                TriggerMetricType::Utilization => MetricTarget::Utilization(ctx.int(
                    v,
                    &mpath("value"),
                    1,
                    I32,
                    "a percentage of the request, e.g. \"70\"",
                )?
                    as i32),
                TriggerMetricType::AverageValue => {
                    MetricTarget::AverageValue(ctx.quantity(v, &mpath("value"))?)
                }
                TriggerMetricType::Value => {
                    return Err(ctx.error(
                        mt_node.unwrap(),
                        &join(path, "metricType"),
                        "cpu/memory triggers take Utilization or AverageValue",
                        None,
                    ));
                }
            };
            let container = md("containerName")
                .map(|n| ctx.string(n, &mpath("containerName")))
                .transpose()?;
            Scaler::Resource {
                resource: ty.clone(),
                target,
                container,
            }
        }
        _ => {
            if metric_type == Some(TriggerMetricType::Utilization) {
                return Err(ctx.error(
                    mt_node.unwrap(),
                    &join(path, "metricType"),
                    "Utilization is only valid for cpu/memory triggers",
                    Some("use AverageValue (the default) or Value".into()),
                ));
            }
            match ty.as_str() {
                "prometheus" => {
                    note("threshold", lines);
                    note("activationThreshold", lines);
                    Scaler::Prometheus {
                        server_address: text("serverAddress")?,
                        query: text("query")?,
                        threshold: num("threshold", None)?,
                        activation_threshold: num("activationThreshold", Some(0.0))?,
                        ignore_null_values: md("ignoreNullValues")
                            .map(|n| ctx.boolean(n, &mpath("ignoreNullValues")))
                            .transpose()?
                            .unwrap_or(true),
                    }
                }
                "redis" => {
                    note("listLength", lines);
                    note("activationListLength", lines);
                    let list_name = md("listName").ok_or_else(|| {
                        ctx.missing(meta, &mpath("listName"), "name the Redis list")
                    })?;
                    Scaler::Redis {
                        list_name: ctx.string(list_name, &mpath("listName"))?,
                        list_length: num("listLength", Some(5.0))?,
                        activation_list_length: num("activationListLength", Some(0.0))?,
                    }
                }
                "redis-streams" => {
                    let stream = md("stream").ok_or_else(|| {
                        ctx.missing(meta, &mpath("stream"), "name the Redis stream")
                    })?;
                    let group = md("consumerGroup")
                        .map(|n| ctx.string(n, &mpath("consumerGroup")))
                        .transpose()?;
                    let lag = md("lagCount")
                        .map(|n| ctx.float(n, &mpath("lagCount"), "a number as a string"))
                        .transpose()?
                        .filter(|v| *v != 0.0);
                    let (mode, target_key) = match (&group, lag) {
                        (None, _) => (StreamMode::StreamLength, "streamLength"),
                        (Some(_), Some(_)) => (StreamMode::Lag, "lagCount"),
                        (Some(_), None) => (StreamMode::PendingEntries, "pendingEntriesCount"),
                    };
                    note(target_key, lines);
                    note("activationLagCount", lines);
                    Scaler::RedisStreams {
                        stream: ctx.string(stream, &mpath("stream"))?,
                        consumer_group: group,
                        mode,
                        target: num(target_key, Some(5.0))?,
                        activation_lag_count: num("activationLagCount", Some(0.0))?,
                    }
                }
                "metrics-api" => {
                    note("targetValue", lines);
                    note("activationTargetValue", lines);
                    Scaler::MetricsApi {
                        url: text("url")?,
                        value_location: text("valueLocation")?,
                        target_value: num(
                            "targetValue",
                            if name.is_some() { Some(0.0) } else { None },
                        )?,
                        activation_target_value: num("activationTargetValue", Some(0.0))?,
                    }
                }
                other => {
                    unmodeled = Some(format!(
                        "{path}: trigger type `{other}` is not modeled; it is treated as a generic external metric (the simulator will need a binding for it)"
                    ));
                    const TARGET_KEYS: [&str; 10] = [
                        "threshold",
                        "targetValue",
                        "value",
                        "lagThreshold",
                        "queueLength",
                        "messageCount",
                        "listLength",
                        "desiredReplicas",
                        "target",
                        "targetPendingRequests",
                    ];
                    let key = TARGET_KEYS.iter().find(|k| md(k).is_some());
                    let target = match key {
                        Some(k) => {
                            note(k, lines);
                            num(k, None)?
                        }
                        None => 1.0,
                    };
                    let activation = match &meta.kind {
                        Kind::Map { entries, .. } if !std::ptr::eq(meta, t) => entries
                            .iter()
                            .find(|(k, _)| k.as_str().is_some_and(|s| s.starts_with("activation")))
                            .map(|(k, v)| {
                                ctx.float(
                                    v,
                                    &mpath(k.as_str().unwrap_or("")),
                                    "a number as a string",
                                )
                            })
                            .transpose()?
                            .unwrap_or(0.0),
                        _ => 0.0,
                    };
                    Scaler::Generic {
                        type_name: other.to_string(),
                        target,
                        activation,
                    }
                }
            }
        }
    };
    if let Some(w) = unmodeled {
        ctx.warn(t.start.line, w);
    }
    let default_type = if matches!(scaler, Scaler::Resource { .. }) {
        TriggerMetricType::Utilization
    } else {
        TriggerMetricType::AverageValue
    };
    Ok(Trigger {
        name,
        metric_type: metric_type.unwrap_or(default_type),
        use_cached_metrics,
        scaler,
    })
}

/// Whether a plain scalar is, to YAML 1.2's core schema (which Kubernetes' decoder follows), a
/// number, a boolean or null rather than a string.
fn plain_is_not_a_string(value: &str) -> bool {
    let v = value.trim();
    matches!(
        v,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
    ) || v.parse::<i64>().is_ok()
        || (v
            .trim_start_matches(['+', '-'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '.')
            && v.parse::<f64>().is_ok())
        || matches!(v, ".inf" | "-.inf" | "+.inf" | ".nan" | ".Inf" | ".NaN")
}
