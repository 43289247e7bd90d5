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
