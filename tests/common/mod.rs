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
