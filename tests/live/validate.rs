//! `scaletwin validate` end to end, on loopback only (127.0.0.1): a real Prometheus server
//! (Debian's package) scrapes the testbed serving the demo model ten times faster than life;
//! validate load-tests it with the model's spike scenario (ten minutes of model time, about
//! a minute on the wall clock), reads the replicas from Prometheus, simulates the arrivals
//! it sent and must find agreement within the default thresholds. Bad observer input is
//! refused before any load. The Kubernetes observer is tested against an in-process API
//! server answering with real API shapes (Deployment, Status, watch events).

use crate::common;

use scaletwin::validate::kube_observer::KubeObserver;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scaletwin")
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo")
}

#[test]
fn validate_agrees_with_a_live_testbed_observed_through_prometheus() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    let (tb, dir, port, _guard) = common::testbed_with_prometheus(&demo(), 10.0, 150.0, "validate");
    let prom = format!("http://127.0.0.1:{port}");
    let validate = |extra: &[&str], out: &Path| {
        let mut c = Command::new(bin());
        c.args(["validate", "--model"])
            .arg(demo())
            .args(["--time-scale", "10", "--quiet", "--target"])
            .arg(format!("http://{tb}"))
            .args(["--prometheus", &prom, "-o"])
            .arg(out)
            .args(extra);
        c.output().unwrap()
    };
    // Bad observer input: refused before any load, exit 2.
    let none = validate(
        &[
            "--replicas-query",
            "kube_deployment_spec_replicas{deployment=\"nope\"}",
        ],
        &dir.join("none"),
    );
    let err = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(2), "{err}");
    assert!(
        err.contains("returned nothing") && err.contains("no load was sent"),
        "{err}"
    );
    let many = validate(
        &[
            "--replicas-query",
            "{__name__=~\"kube_deployment_.*replicas.*\"}",
        ],
        &dir.join("many"),
    );
    let err = String::from_utf8_lossy(&many.stderr);
    assert_eq!(many.status.code(), Some(2), "{err}");
    assert!(
        err.contains("series") && err.contains("must return one"),
        "{err}"
    );
    let status = common::http_get(&tb.to_string(), "/status");
    assert!(
        status.contains("\"requests\":0"),
        "no load was sent: {status}"
    );

    // The run: the demo model's ten-minute spike scenario in about a minute.
    let out = dir.join("run");
    let r = validate(&[], &out);
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert!(stdout.contains("VALIDATED"), "{stdout}");
    // Ten model minutes at time scale 10, said before the load starts.
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(
        stderr.contains("planned wall-clock time 1 min ") && stderr.contains("(60 s of load + "),
        "{stderr}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap())
            .unwrap();
    assert_eq!(v["validated"], true);
    assert!(v["tick_agreement"].as_f64().unwrap() >= 0.9, "{v}");
    assert!(v["p95_error"].as_f64().unwrap().abs() <= 0.25, "{v}");
    assert_eq!(v["verdicts_agree"], true);
    // The spike made the autoscaler act, on both sides.
    assert!(v["observed_max_replicas"].as_f64().unwrap() >= 4.0, "{v}");
    assert!(v["simulated_max_replicas"].as_u64().unwrap() >= 4, "{v}");
    assert_eq!(
        v["ticks"].as_array().unwrap().len(),
        39,
        "600 s / 15 s sync ticks"
    );
    // The overlaid timelines are in the report.
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("<svg") && page.contains("Validated."),
        "report"
    );
    let svg = std::fs::read_to_string(out.join("charts/validation.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .count();
    assert!(
        lines >= 4,
        "simulated and observed replicas and p95: {lines}"
    );
    for f in [
        "load/report.json",
        "simulation/outcome.json",
        "ticks.csv",
        "windows.csv",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
}

// ---- the Kubernetes observer ------------------------------------------------------------

fn deployment_json(replicas: u32, rv: u32) -> String {
    format!(
        r#"{{"apiVersion":"apps/v1","kind":"Deployment","metadata":{{"name":"api","namespace":"demo","resourceVersion":"{rv}","uid":"0b1c","generation":{rv}}},"spec":{{"replicas":{replicas},"selector":{{"matchLabels":{{"app":"api"}}}},"template":{{"metadata":{{"labels":{{"app":"api"}}}},"spec":{{"containers":[{{"name":"api","image":"demo/api:1.0.0"}}]}}}}}},"status":{{"observedGeneration":{rv},"replicas":{replicas},"readyReplicas":{replicas},"availableReplicas":{replicas}}}}}"#
    )
}

fn status_json(code: u16, reason: &str, message: &str) -> String {
    format!(
        r#"{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":"{message}","reason":"{reason}","details":{{"name":"api","group":"apps","kind":"deployments"}},"code":{code}}}"#
    )
}

/// A fake API server: token `ok` may read deployment `api` in namespace `demo` (get, list,
/// and a watch that scales it 2 -> 3 -> 5 over a second); any other token is forbidden.
fn fake_api() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&buf).to_string();
                let line = req.lines().next().unwrap_or("").to_string();
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                let authorized = req
                    .to_ascii_lowercase()
                    .contains("authorization: bearer ok");
                let send = |s: &mut std::net::TcpStream, code: u16, body: &str| {
                    let _ = write!(
                        s,
                        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                };
                if !authorized {
                    send(
                        &mut s,
                        403,
                        &status_json(
                            403,
                            "Forbidden",
                            "deployments.apps \\\"api\\\" is forbidden: User \\\"viewer\\\" cannot get resource \\\"deployments\\\" in API group \\\"apps\\\" in the namespace \\\"demo\\\"",
                        ),
                    );
                    return;
                }
                let base = "/apis/apps/v1/namespaces/demo/deployments";
                if path == format!("{base}/api") {
                    send(&mut s, 200, &deployment_json(2, 1));
                } else if path.starts_with(base) && path.contains("watch=true") {
                    let _ = write!(
                        s,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    );
                    for (i, n) in [3u32, 5].iter().enumerate() {
                        std::thread::sleep(Duration::from_millis(400));
                        let ev = format!(
                            "{{\"type\":\"MODIFIED\",\"object\":{}}}\n",
                            deployment_json(*n, 2 + i as u32)
                        );
                        let _ = write!(s, "{:x}\r\n{ev}\r\n", ev.len());
                        let _ = s.flush();
                    }
                    // Hold the watch open a little, then end it (the watcher re-lists).
                    std::thread::sleep(Duration::from_secs(3));
                    let _ = write!(s, "0\r\n\r\n");
                } else if path.starts_with(base) {
                    let list = format!(
                        r#"{{"apiVersion":"apps/v1","kind":"DeploymentList","metadata":{{"resourceVersion":"1"}},"items":[{}]}}"#,
                        deployment_json(2, 1)
                    );
                    send(&mut s, 200, &list);
                } else {
                    send(&mut s, 404, &status_json(404, "NotFound", "not found"));
                }
            });
        }
    });
    port
}

fn kubeconfig(dir: &Path, port: u16, token: &str) -> PathBuf {
    let p = dir.join(format!("kubeconfig-{token}"));
    std::fs::write(
        &p,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: viewer\n  user:\n    token: {token}\ncontexts:\n- name: local\n  context:\n    cluster: local\n    user: viewer\n    namespace: demo\ncurrent-context: local\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn the_kubernetes_observer_watches_the_deployment_and_names_missing_access() {
    let port = fake_api();
    let dir = common::fresh_dir("validate", "kube");
    let ok = KubeObserver {
        kubeconfig: Some(kubeconfig(&dir, port, "ok")),
        ..Default::default()
    };
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let w = ok.start("api").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let o = w.finish(start, 1.0).unwrap();
    let seen: Vec<f64> = o.replicas.iter().map(|r| r.1).collect();
    assert_eq!(seen.first(), Some(&2.0), "{seen:?}");
    assert!(seen.contains(&3.0) && seen.contains(&5.0), "{seen:?}");
    assert!(
        o.replicas.windows(2).all(|w| w[0].0 <= w[1].0),
        "in time order"
    );
    assert!(o.source.contains("demo/api"), "{}", o.source);

    // A kubeconfig without access: a clear error before any load.
    let denied = KubeObserver {
        kubeconfig: Some(kubeconfig(&dir, port, "nope")),
        ..Default::default()
    };
    let e = denied.start("api").err().expect("forbidden").to_string();
    assert!(
        e.contains("may not read deployment api in namespace demo") && e.contains("403"),
        "{e}"
    );
    assert!(e.contains("no load was sent"), "{e}");
    // A missing file is named.
    let missing = KubeObserver {
        kubeconfig: Some(dir.join("no-such-kubeconfig")),
        ..Default::default()
    };
    let e = missing.start("api").err().expect("missing").to_string();
    assert!(e.contains("no-such-kubeconfig"), "{e}");
}
