//! A model's structure read from its manifests alone: every Deployment, the queues its
//! triggers read and who consumes them, the entry, and each trigger's binding inferred from
//! its query or metric name. What the manifests cannot say (service times, CPU, start-up, the
//! workload, the SLOs) is assumed and listed, for `calibrate` to measure or a person to set.

use super::ServiceFile;
use crate::engine::dist::{CountDist, DurationDist};
use crate::engine::model::{Counted, Signal};
use crate::manifest::ManifestSet;
use crate::policy::keda::{Scaler, StreamMode};
use std::collections::{BTreeMap, BTreeSet};

/// A value the manifests do not give, and what was written instead.
#[derive(Clone, Debug, PartialEq)]
pub struct Assumed {
    /// The deployment it belongs to (`None`: the model's).
    pub deployment: Option<String>,
    /// The service.yaml field.
    pub field: String,
    pub value: String,
    pub why: String,
}

/// How to read the manifests.
#[derive(Clone, Debug, Default)]
pub struct SkeletonOptions {
    /// The model's name.
    pub name: String,
    /// The deployment that receives the requests, when known (else inferred).
    pub entry: Option<String>,
    /// Requests one pod serves at once, by deployment (`""`: every deployment), ahead of the
    /// Deployment's annotation.
    pub concurrency: BTreeMap<String, u32>,
}

/// The structure read, and what had to be assumed.
#[derive(Clone, Debug)]
pub struct Skeleton {
    pub service: ServiceFile,
    pub assumed: Vec<Assumed>,
}

/// What a prometheus trigger's query counts: only successes when it filters the status code
/// to 2xx (`code=~"2.."`, `code="200"`, likewise `status`), else every answer.
pub fn counted_by(query: &str) -> Counted {
    let q = query.replace(' ', "");
    let ok = ["code", "status", "status_code"].iter().any(|l| {
        ["=~\"2", "=\"2"]
            .iter()
            .any(|op| q.contains(&format!("{l}{op}")))
    });
    if ok { Counted::Ok } else { Counted::All }
}

/// The range of the first `[...]` selector of a query, seconds (60 when there is none or it
/// is not a plain duration).
fn range_window(query: &str) -> f64 {
    query
        .split_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .and_then(|(d, _)| crate::engine::output::parse_duration(d).ok())
        .unwrap_or(60.0)
}

/// The signal a Prometheus query reads, when its metric names say: a request counter's rate,
/// a latency histogram's quantile, requests in flight, or a token counter's rate. `own` is the
/// trigger's deployment; a query that names another deployment (`"<name>"` in a label
/// matcher) reads that one.
pub fn signal_of_query(query: &str, own: &str, deployments: &[String]) -> Option<Signal> {
    let q = query.to_ascii_lowercase();
    let mut names: Vec<&String> = deployments.iter().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let deployment = names
        .iter()
        .find(|d| query.contains(&format!("\"{d}\"")))
        .filter(|d| d.as_str() != own)
        .map(|d| d.to_string());
    let window_s = range_window(query);
    if let Some(rest) = q.split_once("histogram_quantile(").map(|x| x.1) {
        let quantile = rest.split(',').next()?.trim().parse::<f64>().ok()?;
        return (quantile > 0.0 && quantile < 1.0).then_some(Signal::LatencyQuantile {
            deployment,
            quantile,
            window_s,
        });
    }
    let rated = ["rate(", "irate(", "increase("]
        .iter()
        .any(|f| q.contains(f));
    if rated && q.contains("token") {
        return Some(Signal::TokenRate {
            deployment,
            window_s,
        });
    }
    if rated
        && [
            "requests_total",
            "request_count",
            "requests_count",
            "requests",
        ]
        .iter()
        .any(|m| q.contains(m))
    {
        return Some(Signal::RequestRate {
            deployment,
            window_s,
            count: counted_by(query),
        });
    }
    if ["in_flight", "inflight", "in_progress", "inprogress"]
        .iter()
        .any(|m| q.contains(m))
    {
        return Some(Signal::InFlight { deployment });
    }
    None
}

/// The signal an HPA Pods/Object/External metric reads, from its name.
pub fn signal_of_metric(name: &str) -> Option<Signal> {
    let n = name.to_ascii_lowercase();
    if n.contains("token") {
        Some(Signal::TokenRate {
            deployment: None,
            window_s: 60.0,
        })
    } else if n.contains("latency") || n.contains("duration") {
        let quantile = if n.contains("p99") { 0.99 } else { 0.95 };
        Some(Signal::LatencyQuantile {
            deployment: None,
            quantile,
            window_s: 60.0,
        })
    } else if ["in_flight", "inflight", "in_progress", "inprogress"]
        .iter()
        .any(|m| n.contains(m))
    {
        Some(Signal::InFlight { deployment: None })
    } else if n.contains("request") || n.contains("rps") || n.contains("qps") {
        Some(Signal::RequestRate {
            deployment: None,
            window_s: 60.0,
            count: Counted::All,
        })
    } else {
        None
    }
}

/// A queue a trigger reads: its name and kind (`list` or `stream`), and the stream signal.
fn queue_of(s: &Scaler) -> Option<(&str, &'static str, Option<Signal>)> {
    match s {
        Scaler::Redis { list_name, .. } => Some((list_name, "list", None)),
        Scaler::RedisStreams { stream, mode, .. } => {
            let queue = stream.clone();
            let sig = match mode {
                StreamMode::PendingEntries => Signal::StreamPending { queue },
                StreamMode::StreamLength => Signal::StreamLength { queue },
                StreamMode::Lag => Signal::StreamLag { queue },
            };
            Some((stream, "stream", Some(sig)))
        }
        _ => None,
    }
}

/// Is this a signal of the HTTP requests a deployment serves?
fn serves_requests(s: &Signal) -> bool {
    matches!(
        s,
        Signal::RequestRate { .. } | Signal::LatencyQuantile { .. } | Signal::InFlight { .. }
    )
}

/// Read the structure of a model from manifests: see the module's documentation.
pub fn from_manifests(set: &ManifestSet, o: &SkeletonOptions) -> Result<Skeleton, String> {
    let names: Vec<String> = set
        .deployments
        .iter()
        .map(|d| d.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if names.is_empty() {
        return Err(format!(
            "the manifests ({}) hold no Deployment: give the folder with your Deployments and their ScaledObjects/HPAs",
            set.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let mut assumed = Vec::new();
    let mut assume = |deployment: Option<&str>, field: &str, value: String, why: &str| {
        assumed.push(Assumed {
            deployment: deployment.map(str::to_string),
            field: field.into(),
            value,
            why: why.into(),
        })
    };
    // Per deployment: the queues its triggers read (name -> kind), and whether a trigger
    // reads its HTTP requests. Bindings: autoscaler -> trigger -> signal.
    let mut reads: BTreeMap<&str, Vec<(String, &'static str)>> = BTreeMap::new();
    let mut http: BTreeSet<&str> = BTreeSet::new();
    let mut bindings: BTreeMap<String, BTreeMap<String, Signal>> = BTreeMap::new();
    let mut unbound: Vec<(String, String, String)> = Vec::new();
    for so in &set.scaled_objects {
        let Some(dep) = names.iter().find(|n| **n == so.spec.target_name) else {
            continue;
        };
        for (i, t) in so.spec.triggers.iter().enumerate() {
            let key = t.name.clone().unwrap_or_else(|| i.to_string());
            if let Some((q, kind, sig)) = queue_of(&t.scaler) {
                reads.entry(dep).or_default().push((q.to_string(), kind));
                if let Some(sig) = sig {
                    bindings
                        .entry(so.spec.name.clone())
                        .or_default()
                        .insert(key, sig);
                }
                continue;
            }
            let sig = match &t.scaler {
                Scaler::Resource { .. } => continue,
                Scaler::Prometheus { query, .. } => signal_of_query(query, dep, &names),
                _ => None,
            };
            match sig {
                Some(s) => {
                    if serves_requests(&s) {
                        http.insert(dep);
                    }
                    bindings
                        .entry(so.spec.name.clone())
                        .or_default()
                        .insert(key, s);
                }
                None => unbound.push((so.spec.name.clone(), key, t.type_name().to_string())),
            }
        }
    }
    for h in &set.hpas {
        let Some(dep) = names.iter().find(|n| **n == h.target_name) else {
            continue;
        };
        for m in &h.spec.metrics {
            let Some(metric) = m.bound_metric() else {
                continue;
            };
            match signal_of_metric(metric) {
                Some(s) => {
                    if serves_requests(&s) {
                        http.insert(dep);
                    }
                    bindings
                        .entry(h.name.clone())
                        .or_default()
                        .insert(metric.to_string(), s);
                }
                None => unbound.push((h.name.clone(), metric.to_string(), "metric".into())),
            }
        }
    }
    for (a, key, kind) in unbound {
        assume(
            None,
            &format!("bindings.{a}.{key}"),
            "{signal: constant, value: 0}".into(),
            &format!(
                "the {kind} trigger reads a metric whose meaning its query or name does not say; it never scales the model until bound (bindings.{a}.{key}: {{signal: ...}})"
            ),
        );
        bindings
            .entry(a)
            .or_default()
            .insert(key, Signal::Constant { value: 0.0 });
    }
    // The entry: said, else the one deployment whose triggers read HTTP requests, else the
    // one that reads no queue.
    let reads_none: Vec<&String> = names
        .iter()
        .filter(|n| !reads.contains_key(n.as_str()))
        .collect();
    let entry = match &o.entry {
        Some(e) if names.contains(e) => e.clone(),
        Some(e) => {
            return Err(format!(
                "the entry {e} is not a Deployment of the manifests ({})",
                names.join(", ")
            ));
        }
        None if http.len() == 1 => http
            .iter()
            .next()
            .map(|s| s.to_string())
            .unwrap_or_default(),
        None => {
            let pick = if http.is_empty() {
                reads_none.first().copied().unwrap_or(&names[0])
            } else {
                names
                    .iter()
                    .find(|n| http.contains(n.as_str()))
                    .unwrap_or(&names[0])
            };
            assume(
                None,
                "entry",
                pick.clone(),
                "no single deployment is the one whose triggers read HTTP requests; the first candidate receives the workload (set entry in service.yaml)",
            );
            pick.clone()
        }
    };
    // Queues: each read by a trigger; consumed by the first deployment other than the entry
    // whose triggers read it.
    let mut queues: BTreeMap<String, &'static str> = BTreeMap::new();
    let mut consumer: BTreeMap<String, String> = BTreeMap::new();
    for (dep, qs) in &reads {
        for (q, kind) in qs {
            queues.entry(q.clone()).or_insert(kind);
            if *dep != entry && !consumer.contains_key(q) {
                consumer.insert(q.clone(), dep.to_string());
            } else if *dep != entry && consumer.get(q).is_some_and(|c| c != dep) {
                assume(
                    Some(dep),
                    "consumes",
                    format!("(not {q})"),
                    &format!(
                        "{q} is read by the triggers of {} and {dep}; one deployment consumes a queue in the model, the first is taken",
                        consumer[q]
                    ),
                );
            }
        }
    }
    for q in queues.keys().filter(|q| !consumer.contains_key(*q)) {
        assume(
            Some(&entry),
            "queues",
            q.clone(),
            "only the entry's triggers read this queue: nothing is modelled to fill or drain it",
        );
    }
    let mut deployments = serde_json::Map::new();
    for d in &set.deployments {
        if deployments.contains_key(&d.name) {
            continue;
        }
        let name = d.name.as_str();
        let concurrency = match o.concurrency.get(name).or_else(|| o.concurrency.get("")) {
            Some(k) => *k,
            None => match d.concurrency {
                Some(k) => k,
                None => {
                    assume(
                        Some(name),
                        "serving.concurrency",
                        "1".into(),
                        &format!(
                            "the manifests do not say how many requests a pod serves at once: set --concurrency {name}=N, the annotation {} or serving.concurrency",
                            crate::manifest::CONCURRENCY_ANNOTATION
                        ),
                    );
                    1
                }
            },
        };
        let consumes: Vec<&String> = consumer
            .iter()
            .filter(|(_, c)| c.as_str() == name)
            .map(|(q, _)| q)
            .collect();
        let fan_out: Vec<serde_json::Value> = if name == entry {
            consumer
                .keys()
                .map(|q| {
                    assume(
                        Some(name),
                        &format!("fan_out[{q}].count"),
                        "1".into(),
                        "one job per request until measured",
                    );
                    serde_json::json!({"queue": q, "count": CountDist::Fixed { value: 1 }})
                })
                .collect()
        } else {
            Vec::new()
        };
        let service_time = DurationDist::Lognormal {
            mean: 0.1,
            p95: 0.3,
        };
        for (field, value) in [
            ("work.service_time", "lognormal mean 0.1 s, p95 0.3 s"),
            ("work.cpu_seconds_per_request", "0"),
            ("lifecycle.startup", "10 s"),
        ] {
            assume(
                Some(name),
                field,
                value.into(),
                "not in the manifests; measured by `scaletwin calibrate`",
            );
        }
        deployments.insert(
            d.name.clone(),
            serde_json::json!({
                "serving": {"concurrency": concurrency},
                "work": {"service_time": service_time},
                "consumes": consumes,
                "fan_out": fan_out,
            }),
        );
    }
    assume(
        None,
        "scenario.workload",
        "open loop, constant 1 request/s".into(),
        "not in the manifests; replace it with your traffic (or a recorded trace)",
    );
    assume(
        None,
        "scenario.slo",
        "p95 1500 ms, success 99 %, in 99 % of windows".into(),
        "not in the manifests; set your service's objectives",
    );
    let queues: Vec<serde_json::Value> = queues
        .iter()
        .map(|(q, kind)| serde_json::json!({"name": q, "kind": kind}))
        .collect();
    let value = serde_json::json!({
        "format_version": super::SERVICE_FORMAT_VERSION,
        "name": o.name,
        "entry": entry,
        "scenario": {
            "duration_s": 3600.0,
            "window_s": 60.0,
            "workload": {"loop": "open", "pattern": "constant", "rate": 1.0},
        },
        "queues": queues,
        "deployments": deployments,
        "bindings": bindings,
    });
    let service: ServiceFile = serde_json::from_value(value)
        .map_err(|e| format!("the structure read from the manifests does not form a model: {e}"))?;
    Ok(Skeleton { service, assumed })
}

impl Skeleton {
    /// Read the manifests of folder `dir` (every `.yaml`/`.yml` but a `service.yaml`): the
    /// structure, and the model's sources with it as their service file.
    pub fn read_dir(
        dir: &std::path::Path,
        o: &SkeletonOptions,
    ) -> Result<(Skeleton, super::ModelSources), String> {
        let files = super::manifest_files(dir).map_err(|e| e.to_string())?;
        let set = crate::manifest::load_paths(&files).map_err(|e| {
            format!("{e}; name the folder with your Deployments and their ScaledObjects/HPAs")
        })?;
        let sk = from_manifests(&set, o).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = sk.yaml("")?;
        let sources = super::ModelSources {
            dir: dir.to_path_buf(),
            service: (dir.join("service.yaml"), text),
            manifests: Vec::new(),
        }
        .with_manifests(dir)
        .map_err(|e| e.to_string())?;
        Ok((sk, sources))
    }

    /// The service.yaml text: a header listing each assumed value and why, then the model.
    pub fn yaml(&self, header: &str) -> Result<String, String> {
        let body = serde_saphyr::to_string(&self.service).map_err(|e| e.to_string())?;
        let mut text = String::new();
        for l in header.lines() {
            text.push_str(&format!("# {l}\n"));
        }
        if !self.assumed.is_empty() {
            text.push_str("# Assumed, not read from the manifests:\n");
            for a in &self.assumed {
                let at = a
                    .deployment
                    .as_deref()
                    .map(|d| format!("{d}: "))
                    .unwrap_or_default();
                text.push_str(&format!("#   {at}{} = {} ({})\n", a.field, a.value, a.why));
            }
        }
        text.push_str(&body);
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_says_which_signal_it_reads() {
        let names = vec!["api".to_string(), "api-gw".to_string()];
        let q = |s: &str| signal_of_query(s, "api", &names);
        assert_eq!(
            q(r#"sum(rate(http_requests_total{deployment="api"}[1m]))"#),
            Some(Signal::RequestRate {
                deployment: None,
                window_s: 60.0,
                count: Counted::All
            })
        );
        assert_eq!(
            q(r#"sum(rate(http_requests_total{service="api-gw",code=~"2.."}[30s]))"#),
            Some(Signal::RequestRate {
                deployment: Some("api-gw".into()),
                window_s: 30.0,
                count: Counted::Ok
            })
        );
        assert_eq!(
            q(
                "histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket[2m])) by (le))"
            ),
            Some(Signal::LatencyQuantile {
                deployment: None,
                quantile: 0.99,
                window_s: 120.0
            })
        );
        assert_eq!(
            q("sum(rate(llm_tokens_total[1m]))"),
            Some(Signal::TokenRate {
                deployment: None,
                window_s: 60.0
            })
        );
        assert_eq!(
            q("sum(http_requests_in_flight)"),
            Some(Signal::InFlight { deployment: None })
        );
        assert_eq!(q("sum(kafka_consumergroup_lag)"), None);
        assert_eq!(
            signal_of_metric("http_requests_per_second"),
            Some(Signal::RequestRate {
                deployment: None,
                window_s: 60.0,
                count: Counted::All
            })
        );
        assert_eq!(signal_of_metric("queue_messages_ready"), None);
    }
}
