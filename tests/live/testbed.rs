//! The testbed as a live service on loopback (127.0.0.1, a free port): real waiting behind
//! a concurrency limit and queue, rejections when the queue is full, replicas changed by
//! the real KEDA/HPA code under load, and the Prometheus series an observer reads. Every
//! testbed stops by itself after a bounded time; every load is bounded in time and count.

use crate::common;

use scaletwin::loadtest::Scenario;
use scaletwin::loadtest::run::{RunOptions, run};
use scaletwin::scenario::ModelSources;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

fn scenario(addr: SocketAddr, extra: &str) -> Scenario {
    Scenario::parse(
        Path::new("test.yaml"),
        &format!("format_version: 1\nname: t\ntarget: http://{addr}\n{extra}"),
    )
    .unwrap()
}

fn get(addr: SocketAddr, path: &str) -> String {
    common::http_get(&addr.to_string(), path)
}

/// The value of the first series of `name` whose labels contain `labels`.
fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(labels))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

fn one_pod_model(queue_limit: u32) -> PathBuf {
    let dir = common::fresh_dir("testbed", "one-pod");
    std::fs::write(
        dir.join("svc.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: s\n          resources: {requests: {cpu: '1'}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("service.yaml"),
        format!(
            "format_version: 1\nname: one\nentry: svc\nscenario:\n  duration_s: 60\n  workload: {{loop: open, pattern: constant, rate: 1}}\ndeployments:\n  svc:\n    serving: {{concurrency: 1, queue_limit: {queue_limit}}}\n    work:\n      service_time: {{dist: deterministic, value: 0.05}}\n"
        ),
    )
    .unwrap();
    dir
}

#[test]
fn requests_wait_for_a_free_slot_and_are_refused_when_the_queue_is_full() {
    // One pod serving one request at a time for 50 ms, three places in its queue; ten users
    // send one request each at the same moment.
    let addr = common::start_testbed(&one_pod_model(3), 1.0, 15.0);
    let s = scenario(
        addr,
        "duration_s: 10\nload: {loop: closed, users: 10, think_s: 0}\nlimits: {max_requests: 10}\nexpect: {status: [200]}\n",
    );
    let r = run(&s, &RunOptions::default()).unwrap();
    assert_eq!(r.completed, 10);
    assert_eq!(r.ok, 4, "one in service and three queued: {r:?}");
    assert_eq!(r.status_codes.get("503"), Some(&6), "{:?}", r.status_codes);
    // The fourth waits for the three before it: about 4 x 50 ms.
    let max = r.latency_ms.corrected.max;
    assert!((180.0..400.0).contains(&max), "max latency {max} ms");
}

#[test]
fn the_testbed_scales_with_the_real_policy_and_exports_what_an_observer_reads() {
    // The demo model 20 times faster: KEDA adds a pod per 5 req/s (model time) over 2 pods;
    // 600 req/s on the wall clock is 30 req/s of model load.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let addr = common::start_testbed(&dir, 20.0, 25.0);
    let s = scenario(
        addr,
        "duration_s: 12\nload: {loop: open, pattern: constant, rate: 600}\nlimits: {max_requests: 10000, connections: 64}\n",
    );
    let r = run(&s, &RunOptions::default()).unwrap();
    assert!(r.success_rate > 0.99, "{}", r.summary());
    // Service times are lognormal with mean 0.2 s (median ~0.17 s) of model time: 1/20 of
    // that on the wall clock.
    let p50 = r.latency_ms.corrected.p50;
    assert!((5.0..20.0).contains(&p50), "p50 {p50} ms");
    let m = get(addr, "/metrics");
    let spec = metric(&m, "kube_deployment_spec_replicas", "deployment=\"api\"").unwrap();
    assert!((5.0..=8.0).contains(&spec), "replicas {spec}\n{m}");
    let desired = metric(
        &m,
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "horizontalpodautoscaler=\"keda-hpa-api\"",
    )
    .unwrap();
    assert!(desired >= 5.0, "desired {desired}");
    let ready = metric(
        &m,
        "kube_deployment_status_replicas_ready",
        "deployment=\"api\"",
    )
    .unwrap();
    assert!(ready >= 2.0 && ready <= spec, "ready {ready}");
    let answered = metric(&m, "http_requests_total", "code=\"200\"").unwrap();
    assert_eq!(answered as u64, r.ok, "the server counted every answer");
    assert!(m.contains("http_request_duration_seconds_bucket{"), "{m}");
    let model_t = metric(&m, "testbed_model_time_seconds", "").or_else(|| {
        m.lines()
            .find(|l| l.starts_with("testbed_model_time_seconds "))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    });
    assert!(
        model_t.unwrap() > 200.0,
        "the model clock runs 20 times faster"
    );
    let status = get(addr, "/status");
    assert!(status.contains("\"time_scale\":20"), "{status}");
}

/// A Prometheus HTTP API stand-in on loopback answering every instant query with one series
/// of value `value`; it keeps the queries it was asked.
fn fake_prometheus(value: f64) -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for c in l.incoming().take(200) {
            let Ok(mut c) = c else { continue };
            let mut buf = [0u8; 8192];
            let n = c.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split(' ').nth(1).unwrap_or("").to_string();
            s2.lock().unwrap().push(path);
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000.0,"{value}"]}}]}}}}"#
            );
            let _ = write!(
                c,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, seen)
}

#[test]
fn prometheus_triggers_query_a_real_server_as_keda_does() {
    // One pod; KEDA polls every second and the HPA syncs every second; the trigger's query
    // answers 30 against a threshold of 5 per pod, so the HPA wants 6 (reached within two
    // syncs under the scale-up limits).
    let dir = common::fresh_dir("testbed", "prom-trigger");
    std::fs::write(
        dir.join("api.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: a\n          resources: {requests: {cpu: 100m}}\n---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: api}\nspec:\n  scaleTargetRef: {name: api}\n  minReplicaCount: 1\n  maxReplicaCount: 10\n  pollingInterval: 1\n  triggers:\n    - type: prometheus\n      metadata:\n        serverAddress: http://prometheus.monitoring.svc:9090\n        query: sum(rate(http_requests_total{deployment=\"api\"}[1m]))\n        threshold: \"5\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("service.yaml"),
        "format_version: 1\nname: p\nentry: api\nscenario:\n  duration_s: 60\n  workload: {loop: open, pattern: constant, rate: 1}\ncontroller: {sync_period_s: 1}\ndeployments:\n  api:\n    work:\n      service_time: {dist: deterministic, value: 0.01}\nbindings:\n  api:\n    \"0\": {signal: request_rate, window_s: 60}\n",
    )
    .unwrap();
    let (prom, seen) = fake_prometheus(30.0);
    let loaded = ModelSources::read_dir(&dir).unwrap().load().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opts = scaletwin::testbed::Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            prometheus: Some(format!("http://{prom}")),
            duration_s: Some(8.0),
            ..scaletwin::testbed::Options::default()
        };
        let ready = move |a: SocketAddr| {
            let _ = tx.send(a);
        };
        scaletwin::testbed::serve(&loaded, &opts, &ready).unwrap();
    });
    let addr = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    let started = std::time::Instant::now();
    let spec = loop {
        let m = get(addr, "/metrics");
        let v = metric(&m, "kube_deployment_spec_replicas", "deployment=\"api\"").unwrap();
        if v >= 6.0 || started.elapsed() > std::time::Duration::from_secs(6) {
            break v;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(spec, 6.0, "ceil(30 / 5) replicas");
    let q = seen.lock().unwrap().clone();
    assert!(
        q.iter()
            .any(|p| p.starts_with("/api/v1/query?query=sum%28rate%28http_requests_total")),
        "the trigger's own query was sent: {q:?}"
    );
    // At another time scale a real Prometheus cannot be used: refused with the reason.
    let loaded = ModelSources::read_dir(&dir).unwrap().load().unwrap();
    let e = scaletwin::testbed::check(
        &loaded,
        &scaletwin::testbed::Options {
            prometheus: Some(format!("http://{prom}")),
            time_scale: 10.0,
            ..scaletwin::testbed::Options::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("--time-scale 10") && e.contains("wall-clock"),
        "{e}"
    );
}

/// A model whose autoscaler reads a scheduled metric: its inputs are the same on the engine's
/// clock and on the testbed's, whatever the requests do.
fn scheduled_model() -> PathBuf {
    let dir = common::fresh_dir("testbed", "same-decisions");
    std::fs::write(
        dir.join("api.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n        - name: api\n          resources: {requests: {cpu: 250m, memory: 128Mi}}\n---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: api}\nspec:\n  scaleTargetRef: {name: api}\n  minReplicaCount: 1\n  maxReplicaCount: 12\n  pollingInterval: 5\n  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown: {stabilizationWindowSeconds: 45}\n  triggers:\n    - type: prometheus\n      name: backlog\n      metadata: {serverAddress: 'http://prometheus:9090', query: 'sum(backlog)', threshold: '10'}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("service.yaml"),
        "format_version: 1\nname: same-decisions\nentry: api\nscenario:\n  duration_s: 600\n  workload: {loop: open, pattern: constant, rate: 0}\ncontroller: {sync_period_s: 15}\ndeployments:\n  api:\n    work:\n      service_time: {dist: exponential, mean: 0.1}\n    lifecycle:\n      startup: {dist: lognormal, mean: 12, p95: 25}\nbindings:\n  api:\n    backlog: {signal: schedule, points: [[0, 5], [50, 45], [140, 115], [290, 25], [420, 5]]}\n",
    )
    .unwrap();
    dir
}

#[test]
fn the_testbed_and_the_engine_decide_the_same_at_every_poll_and_sync() {
    use scaletwin::engine::{self, DecisionRecord, RunConfig};
    let loaded = ModelSources::read_dir(&scheduled_model())
        .unwrap()
        .load()
        .unwrap();
    // The engine: ten minutes of model time.
    let cfg = RunConfig {
        duration_s: 600.0,
        seed: 1,
        record_decisions: true,
        ..RunConfig::default()
    };
    let sim = engine::run(&loaded.model, &loaded.scenario.workload, cfg).decisions;
    // The testbed: the same ten minutes 50 times faster on the wall clock (12.5 s).
    let opts = scaletwin::testbed::Options {
        listen: "127.0.0.1:0".parse().unwrap(),
        time_scale: 50.0,
        duration_s: Some(12.5),
        seed: 1,
        log_decisions: false,
        ..scaletwin::testbed::Options::default()
    };
    let live = scaletwin::testbed::serve(&loaded, &opts, &|_| {})
        .unwrap()
        .decisions;
    let key = |d: &DecisionRecord| {
        (
            (d.t_s * 1e3).round() as i64,
            d.controller.clone(),
            d.current,
            d.desired,
            d.changed,
        )
    };
    let upto =
        |v: &[DecisionRecord]| -> Vec<_> { v.iter().filter(|d| d.t_s < 590.0).map(key).collect() };
    let (a, b) = (upto(&sim), upto(&live));
    let syncs = a.iter().filter(|k| k.1 == "hpa").count();
    assert!(syncs >= 39, "{syncs} HPA syncs in the engine's first 590 s");
    assert_eq!(
        a, b,
        "engine vs testbed decisions (ms, controller, current, desired, changed)"
    );
    // The schedule really moved the replicas: up to ceil(115 / 10) = 12, then down again.
    let peak = a.iter().map(|k| k.3).max().unwrap();
    assert_eq!(peak, 12, "{a:?}");
    assert!(
        a.iter().any(|k| k.1 == "hpa" && k.4 && k.3 < k.2),
        "no scale-down: {a:?}"
    );
}
