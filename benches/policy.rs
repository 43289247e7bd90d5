//! Cost of the policy code on the simulator's hot path: one HPA reconcile and one KEDA poll.
//!
//! `cargo bench --bench policy`

use criterion::{Criterion, criterion_group, criterion_main};
use scaletwin::policy::hpa::*;
use scaletwin::policy::keda::{self, KedaState, Trigger};
use scaletwin::time::{SimDuration, SimTime};
use std::hint::black_box;

struct Cluster {
    pods: Vec<PodInfo>,
    samples: Vec<ResourceSample>,
    queue: i64,
}

impl MetricsApi for Cluster {
    fn pods(&mut self) -> Vec<PodInfo> {
        self.pods.clone()
    }
    fn resource_metrics(&mut self, _: &str) -> Result<Vec<ResourceSample>, String> {
        Ok(self.samples.clone())
    }
    fn pods_metric(&mut self, _: &str) -> Result<Vec<PodMetricSample>, String> {
        Err("none".into())
    }
    fn object_metric(&mut self, _: &str, _: &ObjectRef) -> Result<i64, String> {
        Err("none".into())
    }
    fn external_metric(&mut self, _: &str) -> Result<Vec<i64>, String> {
        Ok(vec![self.queue])
    }
}

fn cluster(n: usize) -> Cluster {
    let pods = (0..n)
        .map(|i| PodInfo {
            name: format!("pod-{i}").into(),
            phase: PodPhase::Running,
            ready: Some(ReadyCondition {
                status: ConditionStatus::True,
                last_transition: SimTime::from_secs(0),
            }),
            deleting: false,
            start_time: Some(SimTime::from_secs(0)),
            containers: vec![ContainerRequest::new("app", "cpu", Some(500))].into(),
            pod_requests: vec![],
        })
        .collect();
    let samples = (0..n)
        .map(|i| ResourceSample {
            pod: format!("pod-{i}").into(),
            timestamp: SimTime::from_secs(3600),
            window: SimDuration::from_secs(30),
            containers: vec![ContainerUsage {
                name: "app".into(),
                usage_milli: Some(300 + (i as i64 * 7) % 200),
            }],
        })
        .collect();
    Cluster {
        pods,
        samples,
        queue: 180_000,
    }
}

fn bench(c: &mut Criterion) {
    let spec = HpaSpec {
        min_replicas: 2,
        max_replicas: 100,
        metrics: vec![
            MetricSpec::Resource {
                resource: "cpu".into(),
                target: MetricTarget::Utilization(70),
            },
            MetricSpec::External {
                metric: "s0-redis-jobs".into(),
                target: MetricTarget::AverageValue(8_000),
            },
        ],
        behavior: Some(Behavior::default()),
    };
    let cfg = ControllerConfig::default();
    for n in [10usize, 50] {
        let mut api = cluster(n);
        let mut state = HpaState::default();
        let mut t = 3600;
        c.bench_function(&format!("hpa_reconcile_cpu_and_queue_{n}_pods"), |b| {
            b.iter(|| {
                t += 15;
                let mut ok = |_: i32| Ok(());
                let d = reconcile(
                    &spec,
                    &mut state,
                    ScaleInfo {
                        spec_replicas: n as i32,
                        status_replicas: n as i32,
                    },
                    &mut api,
                    &cfg,
                    SimTime::from_secs(t),
                    &mut ok,
                );
                black_box(d.desired)
            })
        });
    }
    let set = scaletwin::models::default_manifests().expect("embedded model");
    let so = set
        .scaled_objects
        .iter()
        .find(|s| s.spec.name == "amas-orchestrator")
        .unwrap()
        .spec
        .clone();
    let mut st = KedaState::new(SimTime::ZERO);
    let mut t = 0;
    c.bench_function("keda_poll_amas_orchestrator", |b| {
        b.iter(|| {
            t += 15;
            let mut read = |i: usize, _: &Trigger| Ok(Some(10.0 + i as f64));
            black_box(keda::poll(&so, &mut st, 4, 4, SimTime::from_secs(t), &mut read).active)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
