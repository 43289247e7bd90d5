//! The testbed's `/metrics`: request counters and a latency histogram under common HTTP
//! metric names, replicas under the names kube-state-metrics uses, the HPA's desired
//! replicas, queue lengths and the model clock.

use super::world::World;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepCode {
    namespace: String,
    deployment: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PodLabel {
    namespace: String,
    pod: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PodContainer {
    namespace: String,
    pod: String,
    container: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PodResource {
    namespace: String,
    pod: String,
    container: String,
    resource: String,
    unit: String,
}

/// A testbed pod's name as a ReplicaSet would give it (`<deployment>-<hash>-<suffix>`), in
/// the exported pod series.
pub(super) fn cluster_pod_name(deployment: &str, serial: u64) -> String {
    // FNV-1a of the deployment's name: a stable stand-in for the pod-template hash.
    let h = deployment.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{deployment}-{:010x}-{serial:05}", h & 0xff_ffff_ffff)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DepLabel {
    deployment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NsDep {
    namespace: String,
    deployment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NsHpa {
    namespace: String,
    horizontalpodautoscaler: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

/// The labels of KEDA's per-trigger series (named as KEDA's exporter names them).
#[allow(non_snake_case)]
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScalerLabel {
    namespace: String,
    metric: String,
    scaledObject: String,
    scaler: String,
    triggerIndex: String,
    r#type: String,
}

type FGauge = Gauge<f64, AtomicU64>;

/// Histograms with the testbed's buckets.
#[derive(Clone)]
struct Buckets(Vec<f64>);

impl MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

pub(super) struct Exported {
    registry: Registry,
    namespace: String,
    entry: String,
    requests: Family<DepCode, Counter>,
    duration: Family<NsDep, Histogram, Buckets>,
    jobs: Family<NsDep, Counter>,
    job_duration: Family<NsDep, Histogram, Buckets>,
    pod_created: Family<PodLabel, FGauge>,
    pod_ready: Family<PodLabel, FGauge>,
    pod_requests: Family<PodResource, FGauge>,
    pod_cpu: Family<PodContainer, Counter<f64, AtomicU64>>,
    pod_memory: Family<PodContainer, FGauge>,
    /// The pods exported at the last refresh and their CPU counter's value.
    pods_seen: std::sync::Mutex<std::collections::HashMap<String, (String, f64)>>,
    spec: Family<NsDep, Gauge>,
    status: Family<NsDep, Gauge>,
    ready: Family<NsDep, Gauge>,
    available: Family<NsDep, Gauge>,
    in_flight: Family<DepLabel, Gauge>,
    desired: Family<NsHpa, Gauge>,
    current: Family<NsHpa, Gauge>,
    min: Family<NsHpa, Gauge>,
    max: Family<NsHpa, Gauge>,
    queue: Family<QueueLabel, Gauge>,
    scaler_value: Family<ScalerLabel, FGauge>,
    model_time: FGauge,
    scale: FGauge,
}

/// A metric registered under `name` with its help, and a handle to it.
fn family<M>(registry: &mut Registry, name: &str, help: &str) -> M
where
    M: prometheus_client::registry::Metric + Clone + Default,
{
    let m = M::default();
    registry.register(name, help, m.clone());
    m
}

impl Exported {
    pub(super) fn new(w: &World, namespace: &str) -> Exported {
        let mut registry = Registry::default();
        // Wall-clock buckets: the model's, shortened by the time scale.
        let buckets: Vec<f64> =
            w.m.metrics
                .latency_buckets_s
                .iter()
                .map(|b| b / w.time_scale())
                .collect();
        let requests = Family::<DepCode, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by deployment and status code",
            requests.clone(),
        );
        let duration =
            Family::<NsDep, Histogram, Buckets>::new_with_constructor(Buckets(buckets.clone()));
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency (wall-clock seconds)",
            duration.clone(),
        );
        // A queue worker's own series: jobs processed, and each job's processing time (from
        // taking it off the queue to done, as a worker measures it).
        let jobs: Family<NsDep, Counter> = family(
            &mut registry,
            "jobs_processed",
            "Jobs a queue consumer processed, by deployment",
        );
        let job_duration =
            Family::<NsDep, Histogram, Buckets>::new_with_constructor(Buckets(buckets));
        registry.register(
            "job_duration_seconds",
            "Processing time of a job (wall-clock seconds)",
            job_duration.clone(),
        );
        let mut g = |name: &str, help: &str| {
            let f = Family::<NsDep, Gauge>::default();
            registry.register(name, help, f.clone());
            f
        };
        let spec = g(
            "kube_deployment_spec_replicas",
            "Desired pods of the deployment (spec.replicas)",
        );
        let status = g(
            "kube_deployment_status_replicas",
            "Pods of the deployment not being deleted",
        );
        let ready = g(
            "kube_deployment_status_replicas_ready",
            "Ready pods of the deployment",
        );
        let available = g(
            "kube_deployment_status_replicas_available",
            "Available pods of the deployment",
        );
        let mut h = |name: &str, help: &str| {
            let f = Family::<NsHpa, Gauge>::default();
            registry.register(name, help, f.clone());
            f
        };
        let desired = h(
            "kube_horizontalpodautoscaler_status_desired_replicas",
            "Replicas the HPA last computed",
        );
        let current = h(
            "kube_horizontalpodautoscaler_status_current_replicas",
            "Replicas of the HPA's target",
        );
        let min = h(
            "kube_horizontalpodautoscaler_spec_min_replicas",
            "The HPA's minReplicas",
        );
        let max = h(
            "kube_horizontalpodautoscaler_spec_max_replicas",
            "The HPA's maxReplicas",
        );
        let pod_created: Family<PodLabel, FGauge> = family(
            &mut registry,
            "kube_pod_created",
            "Unix creation timestamp of the pod",
        );
        let pod_ready: Family<PodLabel, FGauge> = family(
            &mut registry,
            "kube_pod_status_ready_time",
            "Unix time the pod became ready",
        );
        let pod_requests: Family<PodResource, FGauge> = family(
            &mut registry,
            "kube_pod_container_resource_requests",
            "Resources requested by a container (cpu in cores, memory in bytes)",
        );
        let pod_cpu: Family<PodContainer, Counter<f64, AtomicU64>> = family(
            &mut registry,
            "container_cpu_usage_seconds",
            "Cumulative CPU time consumed by the container (model seconds)",
        );
        let pod_memory: Family<PodContainer, FGauge> = family(
            &mut registry,
            "container_memory_working_set_bytes",
            "Working-set memory of the container",
        );
        let in_flight = Family::<DepLabel, Gauge>::default();
        registry.register(
            "testbed_in_flight_requests",
            "Requests (or jobs) in service or waiting, per deployment",
            in_flight.clone(),
        );
        let queue = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "testbed_queue_length",
            "Items waiting in a broker queue",
            queue.clone(),
        );
        let scaler_value = Family::<ScalerLabel, FGauge>::default();
        registry.register(
            "keda_scaler_metrics_value",
            "The value of each ScaledObject trigger's metric, as KEDA's exporter reports it",
            scaler_value.clone(),
        );
        let model_time = FGauge::default();
        registry.register(
            "testbed_model_time_seconds",
            "Model seconds since the testbed's clock started",
            model_time.clone(),
        );
        let scale = FGauge::default();
        registry.register(
            "testbed_time_scale",
            "Model seconds per wall-clock second",
            scale.clone(),
        );
        let e = Exported {
            registry,
            namespace: namespace.into(),
            entry: w.m.deployments[w.m.entry].name.clone(),
            requests,
            duration,
            jobs,
            job_duration,
            pod_created,
            pod_ready,
            pod_requests,
            pod_cpu,
            pod_memory,
            pods_seen: Default::default(),
            spec,
            status,
            ready,
            available,
            in_flight,
            desired,
            current,
            min,
            max,
            queue,
            scaler_value,
            model_time,
            scale,
        };
        e.refresh(w);
        e
    }

    /// A job of consumer `deployment` processed in `secs` (wall clock).
    pub(super) fn job(&self, deployment: &str, secs: f64) {
        let l = NsDep {
            namespace: self.namespace.clone(),
            deployment: deployment.to_string(),
        };
        self.jobs.get_or_create(&l).inc();
        self.job_duration.get_or_create(&l).observe(secs);
    }

    /// A request of the entry deployment answered with `code` after `secs` (wall clock).
    pub(super) fn request(&self, code: u16, secs: f64) {
        self.requests
            .get_or_create(&DepCode {
                namespace: self.namespace.clone(),
                deployment: self.entry.clone(),
                code: code.to_string(),
            })
            .inc();
        self.duration
            .get_or_create(&NsDep {
                namespace: self.namespace.clone(),
                deployment: self.entry.clone(),
            })
            .observe(secs);
    }

    /// Copy the world's gauges.
    pub(super) fn refresh(&self, w: &World) {
        let deps = w.deployments();
        for (name, spec, alive, ready, in_system) in deps.iter().cloned() {
            let l = NsDep {
                namespace: self.namespace.clone(),
                deployment: name.clone(),
            };
            self.spec.get_or_create(&l).set(spec as i64);
            self.status.get_or_create(&l).set(alive as i64);
            self.ready.get_or_create(&l).set(ready as i64);
            self.available.get_or_create(&l).set(ready as i64);
            self.in_flight
                .get_or_create(&DepLabel { deployment: name })
                .set(in_system as i64);
        }
        for (hpa, dep, desired, min, max) in w.hpas() {
            let l = NsHpa {
                namespace: self.namespace.clone(),
                horizontalpodautoscaler: hpa,
            };
            let cur = deps.iter().find(|d| d.0 == dep).map(|d| d.1).unwrap_or(0);
            self.desired.get_or_create(&l).set(desired as i64);
            self.current.get_or_create(&l).set(cur as i64);
            self.min.get_or_create(&l).set(min as i64);
            self.max.get_or_create(&l).set(max as i64);
        }
        for (q, n) in w.queue_lengths() {
            self.queue
                .get_or_create(&QueueLabel { queue: q })
                .set(n as i64);
        }
        for (so, idx, scaler, metric, v) in w.scaler_values() {
            let l = ScalerLabel {
                namespace: self.namespace.clone(),
                metric,
                scaledObject: so,
                scaler,
                triggerIndex: idx.to_string(),
                r#type: "scaledobject".into(),
            };
            self.scaler_value.get_or_create(&l).set(v);
        }
        self.refresh_pods(w);
        self.model_time.set(w.model_seconds());
        self.scale.set(w.time_scale());
    }

    /// The pod series: one set per pod not gone; a gone pod's series disappear, as
    /// kube-state-metrics and cAdvisor drop them.
    /// The label sets of one pod's series: the pod's, its container's, and its cpu and
    /// memory requests'.
    fn pod_labels(&self, pod: &str, container: &str) -> (PodLabel, PodContainer, [PodResource; 2]) {
        let request = |resource: &str, unit: &str| PodResource {
            namespace: self.namespace.clone(),
            pod: pod.to_string(),
            container: container.to_string(),
            resource: resource.into(),
            unit: unit.into(),
        };
        (
            PodLabel {
                namespace: self.namespace.clone(),
                pod: pod.to_string(),
            },
            PodContainer {
                namespace: self.namespace.clone(),
                pod: pod.to_string(),
                container: container.to_string(),
            },
            [request("cpu", "core"), request("memory", "byte")],
        )
    }

    fn refresh_pods(&self, w: &World) {
        let mut seen = self.pods_seen.lock().unwrap_or_else(|e| e.into_inner());
        let mut now = std::collections::HashMap::new();
        for p in w.pod_rows() {
            let pod = cluster_pod_name(&p.deployment, p.serial);
            let (l, c, [cpu, mem]) = self.pod_labels(&pod, &p.container);
            self.pod_created.get_or_create(&l).set(p.created_unix);
            if let Some(r) = p.ready_unix {
                self.pod_ready.get_or_create(&l).set(r);
            }
            self.pod_requests
                .get_or_create(&cpu)
                .set(p.cpu_request_cores);
            self.pod_requests
                .get_or_create(&mem)
                .set(p.memory_request_bytes);
            let last = seen.get(&pod).map(|s| s.1).unwrap_or(0.0);
            if p.cpu_seconds > last {
                self.pod_cpu.get_or_create(&c).inc_by(p.cpu_seconds - last);
            }
            self.pod_memory.get_or_create(&c).set(p.memory_bytes);
            now.insert(pod, (p.container, p.cpu_seconds.max(last)));
        }
        for (pod, (container, _)) in seen.iter() {
            if now.contains_key(pod) {
                continue;
            }
            let (l, c, requests) = self.pod_labels(pod, container);
            self.pod_created.remove(&l);
            self.pod_ready.remove(&l);
            self.pod_cpu.remove(&c);
            self.pod_memory.remove(&c);
            for r in &requests {
                self.pod_requests.remove(r);
            }
        }
        *seen = now;
    }

    pub(super) fn encode(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}
