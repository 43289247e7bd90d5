//! Fixtures shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fresh, empty folder under the temporary directory; tests run in parallel, so every
/// call gets its own.
pub fn fresh_dir(prefix: &str, name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!(
        "scaletwin-{prefix}-{}-{k}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// An M/M/c model folder in `dir`: one deployment `server` with 4 fixed replicas (one
/// request at a time each, a shared queue, exponential service of mean 1 s) under Poisson
/// arrivals at 2.5 req/s for `duration_s`.
pub fn write_mmc_model(dir: &Path, duration_s: u64) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("server.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: server}\nspec:\n  replicas: 4\n  template:\n    spec:\n      containers:\n        - name: s\n          resources: {requests: {cpu: '1'}}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("service.yaml"),
        format!(
            "format_version: 1\nname: mmc\nentry: server\nscenario:\n  duration_s: {duration_s}\n  workload: {{loop: open, pattern: constant, rate: 2.5}}\ndeployments:\n  server:\n    serving: {{concurrency: 1, queue_limit: 100000, shared_queue: true}}\n    work:\n      service_time: {{dist: exponential, mean: 1.0}}\n"
        ),
    )
    .unwrap();
}

/// A child process killed (and reaped) when dropped.
pub struct Kill(pub std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether Debian's `prometheus` is on PATH; CI (SCALETWIN_REQUIRE_SHARED=1) insists.
pub fn have_prometheus() -> bool {
    let ok = std::process::Command::new("prometheus")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var("SCALETWIN_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("`prometheus` is not on PATH (CI installs Debian's prometheus package)");
    }
    ok
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server on a free loopback port scraping `target` every `interval`, its
/// data and log in `dir`. Returns its port and the guard that stops it.
pub fn start_prometheus(dir: &Path, target: &str, interval: &str) -> (u16, Kill) {
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\nscrape_configs:\n  - job_name: target\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = std::process::Command::new("prometheus")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus");
    (port, Kill(child))
}

/// Wait (bounded, 60 s) until the Prometheus on `port` answers `query` with text holding
/// `needle` (it has scraped its target); its log (in `dir`) is shown when it never does.
pub fn wait_for_prometheus(port: u16, dir: &Path, query: &str, needle: &str) {
    let started = std::time::Instant::now();
    loop {
        let ok = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http_get(
                &format!("127.0.0.1:{port}"),
                &format!("/api/v1/query?query={query}"),
            )
            .contains(needle);
        if ok {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "Prometheus never scraped its target: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

/// A testbed serving `model` (see [`start_testbed`]) scraped every 500 ms by a Prometheus
/// whose files are in a fresh folder named after `name`; returns once Prometheus has its
/// replica series: the testbed's address, the folder, Prometheus' port and its guard.
pub fn testbed_with_prometheus(
    model: &Path,
    scale: f64,
    secs: f64,
    name: &str,
) -> (std::net::SocketAddr, PathBuf, u16, Kill) {
    let tb = start_testbed(model, scale, secs);
    let dir = fresh_dir("prom", name);
    let (port, guard) = start_prometheus(&dir, &tb.to_string(), "500ms");
    wait_for_prometheus(
        port,
        &dir,
        "kube_deployment_spec_replicas",
        "\"deployment\":\"api\"",
    );
    (tb, dir, port, guard)
}

/// The testbed serving the model folder `dir` on a free loopback port for `secs` wall
/// seconds, on its own thread, its clock starting at the first request.
pub fn start_testbed(dir: &Path, scale: f64, secs: f64) -> std::net::SocketAddr {
    let loaded = scaletwin::scenario::ModelSources::read_dir(dir)
        .unwrap()
        .load()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let opts = scaletwin::testbed::Options {
            listen: "127.0.0.1:0".parse().unwrap(),
            time_scale: scale,
            duration_s: Some(secs),
            clock_from_first_request: true,
            ..scaletwin::testbed::Options::default()
        };
        let ready = move |a: std::net::SocketAddr| {
            let _ = tx.send(a);
        };
        scaletwin::testbed::serve(&loaded, &opts, &ready).unwrap();
    });
    rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap()
}

/// GET `path` from `addr` over a fresh connection; the whole answer, headers included.
pub fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// A two-deployment pipeline in `dir`: `front` (the entry, 2 fixed replicas of 100 slots,
/// 10 ms deterministic service) takes Poisson requests at 2.5 req/s and puts one job per request
/// on the Redis list `jobs`, which `worker` (3 fixed replicas, one job at a time, exponential
/// service of mean 1 s, p95 SLO `worker_slo_ms`) consumes: the worker side is an M/M/c queue.
/// `front_scaler`, when given, is a ScaledObject written for `front`.
pub fn write_pipeline_model(
    dir: &Path,
    duration_s: u64,
    worker_slo_ms: f64,
    front_scaler: Option<&str>,
) {
    std::fs::create_dir_all(dir).unwrap();
    let deployment = |name: &str, replicas: u32| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  template:\n    spec:\n      containers:\n        - name: c\n          resources: {{requests: {{cpu: '1'}}}}\n"
        )
    };
    std::fs::write(dir.join("front.yaml"), deployment("front", 2)).unwrap();
    std::fs::write(dir.join("worker.yaml"), deployment("worker", 3)).unwrap();
    if let Some(s) = front_scaler {
        std::fs::write(dir.join("front-scaler.yaml"), s).unwrap();
    }
    std::fs::write(
        dir.join("service.yaml"),
        format!(
            "format_version: 1\nname: pipeline\nentry: front\nscenario:\n  duration_s: {duration_s}\n  workload: {{loop: open, pattern: constant, rate: 2.5}}\nqueues:\n  - {{name: jobs, kind: list}}\ndeployments:\n  front:\n    serving: {{concurrency: 100}}\n    work:\n      service_time: {{dist: deterministic, value: 0.01}}\n    fan_out:\n      - {{queue: jobs, count: {{dist: fixed, value: 1}}}}\n  worker:\n    consumes: [jobs]\n    serving: {{concurrency: 1}}\n    work:\n      service_time: {{dist: exponential, mean: 1.0}}\n    slo_p95_ms: {worker_slo_ms}\n"
        ),
    )
    .unwrap();
}

/// A ScaledObject for the pipeline model's front: a trigger on the `jobs` queue (which only
/// the worker consumes) and a cpu trigger.
pub const FRONT_SCALER: &str = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: front}\nspec:\n  scaleTargetRef: {name: front}\n  minReplicaCount: 1\n  maxReplicaCount: 10\n  triggers:\n    - type: redis\n      name: backlog\n      metadata: {address: redis:6379, listName: jobs, listLength: '2'}\n    - type: cpu\n      metricType: Utilization\n      metadata: {value: '70'}\n";
