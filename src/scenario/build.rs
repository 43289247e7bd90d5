//! Compiling a model: service.yaml and the manifests resolved into the engine's model (every
//! deployment, queue, autoscaler and signal checked and bound).

use super::*;
use crate::cluster::pods::MAX_PODS;

pub(super) fn build(
    dir: &Path,
    spath: &Path,
    mut f: ServiceFile,
    set: ManifestSet,
) -> Result<LoadedModel, ModelError> {
    let e = |field: &str, msg: String| merr(spath, field, msg);
    if f.format_version != SERVICE_FORMAT_VERSION {
        return Err(e(
            "format_version",
            format!(
                "this build reads format_version {SERVICE_FORMAT_VERSION} (found {})",
                f.format_version
            ),
        ));
    }
    let pos = |field: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(())
        } else {
            Err(e(field, format!("must be > 0 (found {v})")))
        }
    };
    let nonneg = |field: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(())
        } else {
            Err(e(field, format!("must be >= 0 (found {v})")))
        }
    };
    pos("scenario.duration_s", f.scenario.duration_s)?;
    pos("scenario.window_s", f.scenario.window_s)?;
    f.scenario
        .workload
        .validate()
        .map_err(|m| e("scenario.workload", m))?;
    let slo = f.scenario.slo;
    pos("scenario.slo.p95_ms", slo.p95_ms)?;
    if !(0.0..=1.0).contains(&slo.success_rate) || !(0.0..=1.0).contains(&slo.window_attainment) {
        return Err(e(
            "scenario.slo",
            "success_rate and window_attainment are fractions between 0 and 1".into(),
        ));
    }
    pos("metrics.scrape_interval_s", f.metrics.scrape_interval_s)?;
    pos(
        "metrics.metrics_server_resolution_s",
        f.metrics.metrics_server_resolution_s,
    )?;
    if f.metrics.latency_buckets_s.is_empty()
        || f.metrics.latency_buckets_s.windows(2).any(|w| w[1] <= w[0])
    {
        return Err(e(
            "metrics.latency_buckets_s",
            "must be a non-empty, strictly increasing list of seconds".into(),
        ));
    }
    let c = &f.controller;
    pos("controller.sync_period_s", c.sync_period_s)?;
    nonneg("controller.tolerance", c.tolerance)?;
    nonneg(
        "controller.downscale_stabilization_s",
        c.downscale_stabilization_s,
    )?;
    nonneg(
        "controller.cpu_initialization_period_s",
        c.cpu_initialization_period_s,
    )?;
    nonneg(
        "controller.initial_readiness_delay_s",
        c.initial_readiness_delay_s,
    )?;
    nonneg("cost.cpu_hour", f.cost.cpu_hour)?;
    nonneg("cost.gib_hour", f.cost.gib_hour)?;
    nonneg("cost.pod_hour", f.cost.pod_hour)?;
    let secs = |s: f64| SimDuration::from_micros((s * 1e6).round() as i64);
    let controller = ControllerConfig {
        sync_period: secs(c.sync_period_s),
        tolerance: c.tolerance,
        downscale_stabilization: secs(c.downscale_stabilization_s),
        cpu_initialization_period: secs(c.cpu_initialization_period_s),
        initial_readiness_delay: secs(c.initial_readiness_delay_s),
        ..ControllerConfig::default()
    };

    let mut queue_names = Vec::new();
    for (i, q) in f.queues.iter().enumerate() {
        if queue_names.contains(&q.name) {
            return Err(e(
                &format!("queues[{i}].name"),
                format!("queue {} is declared twice", q.name),
            ));
        }
        queue_names.push(q.name.clone());
    }
    let queue_idx = |field: &str, name: &str| {
        queue_names.iter().position(|q| q == name).ok_or_else(|| {
            e(
                field,
                format!(
                    "unknown queue `{name}` (declared: {})",
                    queue_names.join(", ")
                ),
            )
        })
    };

    let names: Vec<String> = f.deployments.keys().cloned().collect();
    let mut deployments = Vec::new();
    for (name, d) in f.deployments.iter_mut() {
        let p = format!("deployments.{name}");
        let Some(m) = set.deployments.iter().find(|x| &x.name == name) else {
            let known: Vec<&str> = set.deployments.iter().map(|d| d.name.as_str()).collect();
            return Err(e(
                &p,
                format!(
                    "no Deployment named {name} in the model's manifests (found: {})",
                    known.join(", ")
                ),
            ));
        };
        let s = &d.serving;
        if s.concurrency == 0 {
            return Err(e(
                &format!("{p}.serving.concurrency"),
                "must be >= 1 (found 0)".into(),
            ));
        }
        if let Some(t) = s.timeout_s {
            pos(&format!("{p}.serving.timeout_s"), t)?;
        }
        for dist in [&mut d.work.service_time, &mut d.lifecycle.startup] {
            dist.load(dir).map_err(|m| e(&p, m))?;
        }
        d.work
            .service_time
            .validate()
            .map_err(|m| e(&format!("{p}.work.service_time"), m))?;
        d.lifecycle
            .startup
            .validate()
            .map_err(|m| e(&format!("{p}.lifecycle.startup"), m))?;
        if let Some(t) = &d.work.tokens {
            t.validate()
                .map_err(|m| e(&format!("{p}.work.tokens"), m))?;
        }
        for (k, v) in [
            (
                "work.cpu_seconds_per_request",
                d.work.cpu_seconds_per_request,
            ),
            ("work.idle_cpu_millicores", d.work.idle_cpu_millicores),
            ("work.per_unit_s", d.work.per_unit_s),
            ("work.tokens_per_unit", d.work.tokens_per_unit),
            ("work.memory_base_mib", d.work.memory_base_mib),
            (
                "work.memory_per_inflight_mib",
                d.work.memory_per_inflight_mib,
            ),
            (
                "lifecycle.endpoint_removal_delay_s",
                d.lifecycle.endpoint_removal_delay_s,
            ),
        ] {
            nonneg(&format!("{p}.{k}"), v)?;
        }
        let probe = m.readiness();
        let initial_delay = d
            .lifecycle
            .readiness_initial_delay_s
            .unwrap_or(probe.map(|r| r.initial_delay_seconds as f64).unwrap_or(0.0));
        let period = d
            .lifecycle
            .readiness_period_s
            .unwrap_or(probe.map(|r| r.period_seconds as f64).unwrap_or(10.0));
        nonneg(
            &format!("{p}.lifecycle.readiness_initial_delay_s"),
            initial_delay,
        )?;
        pos(&format!("{p}.lifecycle.readiness_period_s"), period)?;
        let grace = d
            .lifecycle
            .grace_period_s
            .unwrap_or(m.termination_grace_period_seconds as f64);
        nonneg(&format!("{p}.lifecycle.grace_period_s"), grace)?;
        let consumes = d
            .consumes
            .iter()
            .enumerate()
            .map(|(i, q)| queue_idx(&format!("{p}.consumes[{i}]"), q))
            .collect::<Result<Vec<_>, _>>()?;
        let mut fan_out = Vec::new();
        for (i, fo) in d.fan_out.iter().enumerate() {
            fo.count
                .validate()
                .map_err(|m| e(&format!("{p}.fan_out[{i}].count"), m))?;
            fan_out.push((
                queue_idx(&format!("{p}.fan_out[{i}].queue"), &fo.queue)?,
                fo.count.sampler(),
            ));
        }
        let mut dm = DeploymentModel::new(name, d.work.service_time.clone())
            .map_err(|m| e(&format!("{p}.work.service_time"), m))?;
        dm.concurrency = s.concurrency;
        dm.queue_limit = s.queue_limit;
        dm.timeout_us = s.timeout_s.map(|t| (t * 1e6) as i64).unwrap_or(i64::MAX);
        dm.routing = s.routing;
        dm.shared_queue = s.shared_queue;
        dm.cpu_seconds_per_request = d.work.cpu_seconds_per_request;
        dm.per_unit_s = d.work.per_unit_s;
        dm.tokens_per_unit = d.work.tokens_per_unit;
        for (label, dist) in d.work.service_time_by_label.iter_mut() {
            let field = format!("{p}.work.service_time_by_label.{label}");
            dist.load(dir).map_err(|m| e(&field, m))?;
            dist.validate().map_err(|m| e(&field, m))?;
            dm.service_by_label
                .push((label.clone(), dist.sampler().map_err(|m| e(&field, m))?));
        }
        dm.idle_cpu_millicores = d.work.idle_cpu_millicores;
        dm.memory_base_bytes = d.work.memory_base_mib * 1048576.0;
        dm.memory_per_inflight_bytes = d.work.memory_per_inflight_mib * 1048576.0;
        dm.startup = d
            .lifecycle
            .startup
            .sampler()
            .map_err(|m| e(&format!("{p}.lifecycle.startup"), m))?;
        dm.readiness_initial_delay_us = (initial_delay * 1e6) as i64;
        dm.readiness_period_us = (period * 1e6) as i64;
        dm.endpoint_removal_delay_us = (d.lifecycle.endpoint_removal_delay_s * 1e6) as i64;
        dm.grace_period_us = (grace * 1e6) as i64;
        dm.consumes = consumes;
        dm.fan_out = fan_out;
        dm.tokens = d
            .work
            .tokens
            .as_ref()
            .map(|t| t.sampler())
            .transpose()
            .map_err(|m| e(&format!("{p}.work.tokens"), m))?;
        dm.cpu_request_milli = m.cpu_request_milli().unwrap_or(0);
        dm.memory_request_bytes = m
            .containers
            .iter()
            .filter_map(|c| c.memory_request_milli)
            .sum::<i64>() as f64
            / 1000.0;
        dm.container = m
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "app".into());
        dm.initial_replicas = d.replicas.unwrap_or(m.replicas.unwrap_or(1).max(0) as u32);
        if dm.initial_replicas > MAX_PODS {
            let (file, field) = match d.replicas {
                Some(_) => (spath.display().to_string(), format!("{p}.replicas")),
                None => (
                    m.lines
                        .get("spec.replicas")
                        .map(|l| format!("{}:{l}", m.source.file.display()))
                        .unwrap_or_else(|| m.source.file.display().to_string()),
                    "spec.replicas".to_string(),
                ),
            };
            return Err(ModelError {
                file,
                field,
                message: format!(
                    "{} replicas is above {MAX_PODS}, the most pods Kubernetes supports in a \
                     cluster; lower it",
                    dm.initial_replicas
                ),
            });
        }
        if let Some(v) = d.slo_p95_ms {
            pos(&format!("{p}.slo_p95_ms"), v)?;
        }
        dm.slo_p95_ms = d.slo_p95_ms;
        deployments.push(dm);
    }
    for (qi, q) in queue_names.iter().enumerate() {
        let consumers = deployments
            .iter()
            .filter(|d| d.consumes.contains(&qi))
            .count();
        if consumers == 0 {
            return Err(e(
                "queues",
                format!(
                    "queue {q} has no consumer: add it to `consumes:` of the deployment that processes it"
                ),
            ));
        }
        if consumers > 1 {
            return Err(e(
                "queues",
                format!("queue {q} has {consumers} consumers; one deployment consumes a queue"),
            ));
        }
    }
    let entry = names.iter().position(|n| *n == f.entry).ok_or_else(|| {
        e(
            "entry",
            format!(
                "`{}` is not one of the model's deployments ({})",
                f.entry,
                names.join(", ")
            ),
        )
    })?;

    let mut autoscalers = Vec::new();
    let mut bound_names: Vec<String> = Vec::new();
    for so in &set.scaled_objects {
        let Some(dep) = names.iter().position(|n| *n == so.spec.target_name) else {
            continue;
        };
        let bindings = f.bindings.get(&so.spec.name);
        bound_names.push(so.spec.name.clone());
        if let Some(b) = bindings {
            for k in b.keys() {
                let known = so
                    .spec
                    .triggers
                    .iter()
                    .enumerate()
                    .any(|(i, t)| t.name.as_deref() == Some(k.as_str()) || i.to_string() == *k);
                if !known {
                    let names: Vec<String> = so
                        .spec
                        .triggers
                        .iter()
                        .enumerate()
                        .map(|(i, t)| t.name.clone().unwrap_or_else(|| i.to_string()))
                        .collect();
                    return Err(e(
                        &format!("bindings.{}.{k}", so.spec.name),
                        format!(
                            "ScaledObject {} has no trigger `{k}` (triggers: {})",
                            so.spec.name,
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        let mut signals = Vec::new();
        for (i, t) in so.spec.triggers.iter().enumerate() {
            let key = t.name.clone().unwrap_or_else(|| i.to_string());
            let field = format!("bindings.{}.{key}", so.spec.name);
            let explicit = bindings.and_then(|b| b.get(&key).or_else(|| b.get(&i.to_string())));
            let sig = match (explicit, &t.scaler) {
                (_, Scaler::Resource { .. }) => None,
                (Some(s), _) => Some(resolve(s, &field, dep, &names, &queue_names, spath)?),
                (None, Scaler::Redis { list_name, .. }) => {
                    match queue_names.iter().position(|q| q == list_name) {
                        Some(q) => Some(SignalRef::QueueLength { queue: q }),
                        None => {
                            return Err(e(
                                &field,
                                format!(
                                    "trigger {key} of {} reads Redis list {list_name}, which is not a model queue; declare it under queues or bind the trigger",
                                    so.spec.name
                                ),
                            ));
                        }
                    }
                }
                (None, Scaler::RedisStreams { stream, mode, .. }) => {
                    match queue_names.iter().position(|q| q == stream) {
                        Some(q) => Some(match mode {
                            StreamMode::PendingEntries => SignalRef::StreamPending { queue: q },
                            StreamMode::StreamLength => SignalRef::StreamLength { queue: q },
                            StreamMode::Lag => SignalRef::StreamLag { queue: q },
                        }),
                        None => {
                            return Err(e(
                                &field,
                                format!(
                                    "trigger {key} of {} reads stream {stream}, which is not a model queue",
                                    so.spec.name
                                ),
                            ));
                        }
                    }
                }
                (None, _) => {
                    return Err(e(
                        &field,
                        format!(
                            "trigger {key} ({}) of ScaledObject {} is bound to no signal: add bindings.{}.{key}: {{signal: request_rate|in_flight|latency_quantile|queue_length|stream_pending|stream_length|stream_lag|token_rate|constant, ...}}",
                            t.type_name(),
                            so.spec.name,
                            so.spec.name
                        ),
                    ));
                }
            };
            signals.push(sig);
        }
        autoscalers.push(Autoscaler {
            name: so.spec.name.clone(),
            deployment: dep,
            kind: AutoscalerKind::Keda {
                spec: Box::new(so.spec.clone()),
                signals,
            },
        });
        replica_range(
            &so.source.file,
            &so.lines,
            ("minReplicaCount", so.spec.min_replica_count),
            ("maxReplicaCount", so.spec.max_replica_count),
            "KEDA refuses such a ScaledObject",
        )?;
        start_within(
            &mut deployments[dep],
            f.deployments[&names[dep]].replicas.is_some(),
            so.spec.min_replica_count,
            so.spec.max_replica_count,
        );
    }
    for h in &set.hpas {
        let Some(dep) = names.iter().position(|n| *n == h.target_name) else {
            continue;
        };
        let bindings = f.bindings.get(&h.name);
        bound_names.push(h.name.clone());
        let mut signals = Vec::new();
        for m in &h.spec.metrics {
            let Some(metric) = m.bound_metric() else {
                continue;
            };
            let field = format!("bindings.{}.{metric}", h.name);
            let s = bindings.and_then(|b| b.get(metric)).ok_or_else(|| {
                e(
                    &field,
                    format!("metric {metric} of HPA {} is bound to no signal", h.name),
                )
            })?;
            signals.push((
                metric.to_string(),
                resolve(s, &field, dep, &names, &queue_names, spath)?,
            ));
        }
        autoscalers.push(Autoscaler {
            name: h.name.clone(),
            deployment: dep,
            kind: AutoscalerKind::Hpa {
                spec: h.spec.clone(),
                signals,
            },
        });
        replica_range(
            &h.source.file,
            &h.lines,
            ("minReplicas", h.spec.min_replicas),
            ("maxReplicas", h.spec.max_replicas),
            "the API server refuses such an HPA",
        )?;
        start_within(
            &mut deployments[dep],
            f.deployments[&names[dep]].replicas.is_some(),
            h.spec.min_replicas,
            h.spec.max_replicas,
        );
    }
    for k in f.bindings.keys() {
        if !bound_names.contains(k) {
            return Err(e(
                &format!("bindings.{k}"),
                format!("no ScaledObject or HPA named {k} targets a model deployment"),
            ));
        }
    }
    let model = Model {
        name: f.name.clone(),
        deployments,
        queues: f
            .queues
            .iter()
            .map(|q| QueueModel {
                name: q.name.clone(),
                kind: q.kind,
                max_length: q.max_length,
            })
            .collect(),
        autoscalers,
        entry,
        metrics: f.metrics.clone(),
        controller,
        cost: f.cost,
    };
    Ok(LoadedModel {
        model,
        scenario: f.scenario,
        manifests: set,
        dir: dir.to_path_buf(),
    })
}

pub(super) fn resolve(
    s: &Signal,
    field: &str,
    default_dep: usize,
    deps: &[String],
    queues: &[String],
    file: &Path,
) -> Result<SignalRef, ModelError> {
    let dep = |d: &Option<String>| match d {
        None => Ok(default_dep),
        Some(n) => deps.iter().position(|x| x == n).ok_or_else(|| {
            merr(
                file,
                field,
                format!(
                    "unknown deployment `{n}` (model deployments: {})",
                    deps.join(", ")
                ),
            )
        }),
    };
    let queue = |q: &str| {
        queues.iter().position(|x| x == q).ok_or_else(|| {
            merr(
                file,
                field,
                format!("unknown queue `{q}` (declared: {})", queues.join(", ")),
            )
        })
    };
    let window = |w: f64| {
        if w.is_finite() && w > 0.0 {
            Ok((w * 1e6) as i64)
        } else {
            Err(merr(
                file,
                format!("{field}.window_s"),
                format!("must be > 0 (found {w})"),
            ))
        }
    };
    Ok(match s {
        Signal::RequestRate {
            deployment,
            window_s,
            count,
        } => SignalRef::RequestRate {
            dep: dep(deployment)?,
            window_us: window(*window_s)?,
            count: *count,
        },
        Signal::InFlight { deployment } => SignalRef::InFlight {
            dep: dep(deployment)?,
        },
        Signal::LatencyQuantile {
            deployment,
            quantile,
            window_s,
        } => {
            if !(0.0..=1.0).contains(quantile) {
                return Err(merr(
                    file,
                    format!("{field}.quantile"),
                    format!("must be between 0 and 1 (found {quantile})"),
                ));
            }
            SignalRef::LatencyQuantile {
                dep: dep(deployment)?,
                q: *quantile,
                window_us: window(*window_s)?,
            }
        }
        Signal::QueueLength { queue: q } => SignalRef::QueueLength { queue: queue(q)? },
        Signal::StreamPending { queue: q } => SignalRef::StreamPending { queue: queue(q)? },
        Signal::StreamLength { queue: q } => SignalRef::StreamLength { queue: queue(q)? },
        Signal::StreamLag { queue: q } => SignalRef::StreamLag { queue: queue(q)? },
        Signal::TokenRate {
            deployment,
            window_s,
        } => SignalRef::TokenRate {
            dep: dep(deployment)?,
            window_us: window(*window_s)?,
        },
        Signal::Constant { value } => SignalRef::Constant(*value),
        Signal::Schedule { points } => {
            let bad = |m: String| Err(merr(file, format!("{field}.points"), m));
            if points.is_empty() {
                return bad("give at least one [seconds, value] point".into());
            }
            if let Some((t, v)) = points
                .iter()
                .find(|(t, v)| !(t.is_finite() && *t >= 0.0 && v.is_finite()))
            {
                return bad(format!(
                    "[{t}, {v}]: times are seconds >= 0 and values finite numbers"
                ));
            }
            if let Some(w) = points.windows(2).find(|w| w[1].0 <= w[0].0) {
                return bad(format!(
                    "times must increase: {} is followed by {}",
                    w[0].0, w[1].0
                ));
            }
            SignalRef::Schedule(std::sync::Arc::new(
                points
                    .iter()
                    .map(|(t, v)| ((t * 1e6).round() as i64, *v))
                    .collect(),
            ))
        }
        Signal::OfferedRate => SignalRef::OfferedRate,
    })
}

/// An autoscaler's replica range must not be empty: a minimum above the maximum is refused
/// where the cluster would refuse it, naming the manifest, the line and both values.
/// A deployment starts within its autoscaler's range, unless service.yaml set its replicas.
fn start_within(d: &mut DeploymentModel, explicit: bool, min: i32, max: i32) {
    if !explicit {
        d.initial_replicas = d
            .initial_replicas
            .clamp(min.max(0) as u32, max.max(1) as u32);
    }
}

fn replica_range(
    file: &Path,
    lines: &manifest::FieldLines,
    (min_name, min): (&str, i32),
    (max_name, max): (&str, i32),
    who_refuses: &str,
) -> Result<(), ModelError> {
    let at = |field: &str| {
        lines
            .get(field)
            .map(|l| format!("{}:{l}", file.display()))
            .unwrap_or_else(|| file.display().to_string())
    };
    if i64::from(max) > i64::from(MAX_PODS) {
        let field = format!("spec.{max_name}");
        return Err(ModelError {
            file: at(&field),
            field,
            message: format!(
                "{max_name} ({max}) is above {MAX_PODS}, the most pods Kubernetes supports in a \
                 cluster; lower it"
            ),
        });
    }
    if min <= max {
        return Ok(());
    }
    let field = format!("spec.{min_name}");
    Err(ModelError {
        file: at(&field),
        field,
        message: format!(
            "{min_name} ({min}) is above {max_name} ({max}); {who_refuses}: lower {min_name} or raise {max_name}"
        ),
    })
}
