//! HorizontalPodAutoscalers read from their YAML: metrics, targets and the scaling behavior
//! (also read for a ScaledObject's advanced HPA settings).

use super::*;

/// The fields of an `autoscaling/v2` HorizontalPodAutoscaler's spec.
pub(super) const HPA_SPEC_KEYS: [&str; 5] = [
    "scaleTargetRef",
    "minReplicas",
    "maxReplicas",
    "metrics",
    "behavior",
];

pub(super) fn rules(ctx: &Ctx, n: &Node, path: &str, lines: &mut FieldLines) -> R<ScalingRules> {
    let n = ctx.map(n, path)?;
    ctx.known_keys(
        n,
        path,
        &[
            "stabilizationWindowSeconds",
            "selectPolicy",
            "policies",
            "tolerance",
        ],
    )?;
    let mut r = ScalingRules::default();
    if let Some(w) = opt(n, "stabilizationWindowSeconds") {
        let p = join(path, "stabilizationWindowSeconds");
        r.stabilization_window_seconds =
            Some(ctx.int(w, &p, 0, 3600, "the API accepts 0 to 3600 seconds")? as i32);
        lines.insert(p, w.start.line);
    }
    if let Some(s) = opt(n, "selectPolicy") {
        let p = join(path, "selectPolicy");
        r.select_policy = Some(match ctx.string(s, &p)?.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            _ => {
                return Err(ctx.error(
                    s,
                    &p,
                    "unknown selectPolicy",
                    Some("use Max, Min or Disabled".into()),
                ));
            }
        });
        lines.insert(p, s.start.line);
    }
    if let Some(t) = opt(n, "tolerance") {
        let p = join(path, "tolerance");
        let milli = ctx.quantity(t, &p)?;
        if milli < 0 {
            return Err(ctx.error(
                t,
                &p,
                "must be >= 0",
                Some("a fraction such as 0.05 (5 %)".into()),
            ));
        }
        r.tolerance = Some(milli as f64 / 1000.0);
        lines.insert(p, t.start.line);
    }
    if let Some(ps) = opt(n, "policies") {
        let pp = join(path, "policies");
        lines.insert(pp.clone(), ps.start.line);
        let items = ctx.seq(ps, &pp)?;
        if items.is_empty() {
            return Err(ctx.error(ps, &pp, "must have at least one policy", Some("add e.g. {type: Percent, value: 100, periodSeconds: 15} or remove the list to take the defaults".into())));
        }
        let mut out = Vec::new();
        for (i, p) in items.iter().enumerate() {
            let path = format!("{pp}[{i}]");
            let p = ctx.map(p, &path)?;
            ctx.known_keys(p, &path, &["type", "value", "periodSeconds"])?;
            let t = opt(p, "type")
                .ok_or_else(|| ctx.missing(p, &join(&path, "type"), "type is Pods or Percent"))?;
            let kind = match ctx.string(t, &join(&path, "type"))?.as_str() {
                "Pods" => PolicyType::Pods,
                "Percent" => PolicyType::Percent,
                _ => {
                    return Err(ctx.error(
                        t,
                        &join(&path, "type"),
                        "unknown policy type",
                        Some("use Pods or Percent".into()),
                    ));
                }
            };
            let v = opt(p, "value")
                .ok_or_else(|| ctx.missing(p, &join(&path, "value"), "value must be > 0"))?;
            let value = ctx.int(
                v,
                &join(&path, "value"),
                1,
                I32,
                "the API requires value > 0",
            )? as i32;
            let per = opt(p, "periodSeconds").ok_or_else(|| {
                ctx.missing(
                    p,
                    &join(&path, "periodSeconds"),
                    "periodSeconds is 1 to 1800",
                )
            })?;
            let period_seconds = ctx.int(
                per,
                &join(&path, "periodSeconds"),
                1,
                1800,
                "the API accepts 1 to 1800 seconds",
            )? as i32;
            lines.insert(join(&path, "value"), v.start.line);
            lines.insert(join(&path, "periodSeconds"), per.start.line);
            out.push(ScalingPolicy {
                kind,
                value,
                period_seconds,
            });
        }
        r.policies = Some(out);
    }
    Ok(r)
}

pub(super) fn behavior(ctx: &Ctx, n: &Node, path: &str, lines: &mut FieldLines) -> R<Behavior> {
    let n = ctx.map(n, path)?;
    ctx.known_keys(n, path, &["scaleUp", "scaleDown"])?;
    lines.insert(path.to_string(), n.start.line);
    Ok(Behavior {
        scale_up: opt(n, "scaleUp")
            .map(|r| rules(ctx, r, &join(path, "scaleUp"), lines))
            .transpose()?,
        scale_down: opt(n, "scaleDown")
            .map(|r| rules(ctx, r, &join(path, "scaleDown"), lines))
            .transpose()?,
    })
}

pub(super) fn hpa_target(ctx: &Ctx, t: &Node, path: &str, resource: bool) -> R<MetricTarget> {
    let t = ctx.map(t, path)?;
    ctx.known_keys(
        t,
        path,
        &["type", "averageUtilization", "averageValue", "value"],
    )?;
    let ty = opt(t, "type").ok_or_else(|| {
        ctx.missing(
            t,
            &join(path, "type"),
            "type is Utilization, AverageValue or Value",
        )
    })?;
    let need = |k: &str| {
        opt(t, k).ok_or_else(|| {
            ctx.missing(
                t,
                &join(path, k),
                &format!(
                    "a {} target needs {k}",
                    ctx.string(ty, "").unwrap_or_default()
                ),
            )
        })
    };
    Ok(match ctx.string(ty, &join(path, "type"))?.as_str() {
        "Utilization" if resource => MetricTarget::Utilization(ctx.int(
            need("averageUtilization")?,
            &join(path, "averageUtilization"),
            1,
            I32,
            "a percentage of the request, > 0",
        )? as i32),
        "AverageValue" => MetricTarget::AverageValue(
            ctx.quantity(need("averageValue")?, &join(path, "averageValue"))?,
        ),
        "Value" if !resource => {
            MetricTarget::Value(ctx.quantity(need("value")?, &join(path, "value"))?)
        }
        other => {
            let ok = if resource {
                "Utilization or AverageValue"
            } else {
                "Value or AverageValue"
            };
            return Err(ctx.error(
                ty,
                &join(path, "type"),
                format!("target type {other} is not valid here"),
                Some(format!("use {ok}")),
            ));
        }
    })
}

pub(super) fn metric_name(ctx: &Ctx, m: &Node, key: &str, path: &str) -> R<String> {
    let sub = opt(m, key)
        .ok_or_else(|| ctx.missing(m, &join(path, key), "this metric source needs its block"))?;
    let metric = opt(sub, "metric").ok_or_else(|| {
        ctx.missing(
            sub,
            &join(path, &format!("{key}.metric")),
            "name the metric: metric: {name: ...}",
        )
    })?;
    let name = opt(metric, "name").ok_or_else(|| {
        ctx.missing(
            metric,
            &format!("{path}.{key}.metric.name"),
            "name the metric",
        )
    })?;
    ctx.string(name, &format!("{path}.{key}.metric.name"))
}

pub(super) fn hpa_metric(ctx: &mut Ctx, m: &Node, path: &str) -> R<MetricSpec> {
    let m = ctx.map(m, path)?;
    let ty = opt(m, "type").ok_or_else(|| {
        ctx.missing(
            m,
            &join(path, "type"),
            "type is Resource, ContainerResource, Pods, Object or External",
        )
    })?;
    let ty_s = ctx.string(ty, &join(path, "type"))?;
    let block = |key: &str| {
        opt(m, key).ok_or_else(|| {
            ctx.missing(
                m,
                &join(path, key),
                &format!("a {ty_s} metric needs a `{key}` block"),
            )
        })
    };
    Ok(match ty_s.as_str() {
        "Resource" | "ContainerResource" => {
            let key = if ty_s == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let b = block(key)?;
            let bp = join(path, key);
            let name_node = opt(b, "name")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "name"), "cpu or memory"))?;
            let resource = ctx.string(name_node, &join(&bp, "name"))?;
            let t = opt(b, "target")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "target"), "add a target"))?;
            let target = hpa_target(ctx, t, &join(&bp, "target"), true)?;
            if ty_s == "Resource" {
                MetricSpec::Resource { resource, target }
            } else {
                let c = opt(b, "container")
                    .ok_or_else(|| ctx.missing(b, &join(&bp, "container"), "name the container"))?;
                MetricSpec::ContainerResource {
                    resource,
                    container: ctx.string(c, &join(&bp, "container"))?,
                    target,
                }
            }
        }
        "Pods" | "Object" | "External" => {
            let key = match ty_s.as_str() {
                "Pods" => "pods",
                "Object" => "object",
                _ => "external",
            };
            let metric = metric_name(ctx, m, key, path)?;
            let b = block(key)?;
            let bp = join(path, key);
            let t = opt(b, "target")
                .ok_or_else(|| ctx.missing(b, &join(&bp, "target"), "add a target"))?;
            let target = hpa_target(ctx, t, &join(&bp, "target"), false)?;
            match key {
                "pods" => {
                    if !matches!(target, MetricTarget::AverageValue(_)) {
                        return Err(ctx.error(
                            t,
                            &join(&bp, "target.type"),
                            "Pods metrics take an AverageValue target",
                            None,
                        ));
                    }
                    MetricSpec::Pods { metric, target }
                }
                "object" => {
                    let d = opt(b, "describedObject").ok_or_else(|| {
                        ctx.missing(b, &join(&bp, "describedObject"), "name the object")
                    })?;
                    let s = |k: &str| {
                        opt(d, k)
                            .map(|n| ctx.string(n, k))
                            .transpose()
                            .map(|v| v.unwrap_or_default())
                    };
                    MetricSpec::Object {
                        metric,
                        object: ObjectRef {
                            api_version: s("apiVersion")?,
                            kind: s("kind")?,
                            name: s("name")?,
                        },
                        target,
                    }
                }
                _ => MetricSpec::External { metric, target },
            }
        }
        other => {
            ctx.warn(ty.start.line, format!("{path}: metric type {other} is unknown to the HPA controller; it makes the metric invalid"));
            MetricSpec::Unknown {
                type_name: other.to_string(),
            }
        }
    })
}

pub(super) fn hpa(
    ctx: &mut Ctx,
    root: &Node,
    name: String,
    api: String,
    source: Source,
) -> R<HorizontalPodAutoscaler> {
    let namespace = namespace(ctx, root)?;
    let mut lines = FieldLines::new();
    let spec = opt(root, "spec").ok_or_else(|| ctx.missing(root, "spec", "an HPA needs a spec"))?;
    let spec = ctx.map(spec, "spec")?;
    let (target_kind, target_name) = target_ref(ctx, spec, "spec")?;
    let min = match opt(spec, "minReplicas") {
        Some(n) => {
            lines.insert("spec.minReplicas".into(), n.start.line);
            ctx.int(
                n,
                "spec.minReplicas",
                0,
                I32,
                "minReplicas is 1 or more (0 only with the HPAScaleToZero gate)",
            )? as i32
        }
        None => 1,
    };
    let maxn = opt(spec, "maxReplicas")
        .ok_or_else(|| ctx.missing(spec, "spec.maxReplicas", "set maxReplicas"))?;
    lines.insert("spec.maxReplicas".into(), maxn.start.line);
    let max = ctx.int(maxn, "spec.maxReplicas", 1, I32, "maxReplicas is 1 or more")? as i32;
    let mut metrics = Vec::new();
    let mut behavior_v = None;
    if api == "autoscaling/v1" {
        ctx.known_keys(
            spec,
            "spec",
            &[
                "scaleTargetRef",
                "minReplicas",
                "maxReplicas",
                "targetCPUUtilizationPercentage",
            ],
        )?;
        let pct = match opt(spec, "targetCPUUtilizationPercentage") {
            Some(n) => ctx.int(
                n,
                "spec.targetCPUUtilizationPercentage",
                1,
                I32,
                "a percentage > 0",
            )? as i32,
            None => 80,
        };
        metrics.push(MetricSpec::Resource {
            resource: "cpu".into(),
            target: MetricTarget::Utilization(pct),
        });
    } else {
        ctx.known_keys(spec, "spec", &HPA_SPEC_KEYS)?;
        if let Some(ms) = opt(spec, "metrics") {
            for (i, m) in ctx.seq(ms, "spec.metrics")?.iter().enumerate() {
                metrics.push(hpa_metric(ctx, m, &format!("spec.metrics[{i}]"))?);
            }
        }
        if metrics.is_empty() {
            metrics.push(MetricSpec::Resource {
                resource: "cpu".into(),
                target: MetricTarget::Utilization(80),
            });
        }
        behavior_v = opt(spec, "behavior")
            .map(|b| behavior(ctx, b, "spec.behavior", &mut lines))
            .transpose()?;
    }
    Ok(HorizontalPodAutoscaler {
        name,
        namespace,
        api_version: api,
        target_kind,
        target_name,
        spec: HpaSpec {
            min_replicas: min,
            max_replicas: max,
            metrics,
            behavior: behavior_v,
        },
        source,
        lines,
    })
}
