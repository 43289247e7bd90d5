//! `record` against a real Prometheus (Debian's package) scraping a live testbed: the bundle
//! holds the series a cluster's exporters would give, lists what was absent, and reads back.

use crate::common;

use scaletwin::twin::bundle::Bundle;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo")
}

#[test]
fn record_pulls_a_testbeds_series_from_prometheus_into_a_bundle() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    let (tb, dir, port, _guard) = common::testbed_with_prometheus(&demo(), 1.0, 90.0, "record");
    // 20 s of 10 requests/s.
    let t0 = now_unix();
    let s = scaletwin::loadtest::Scenario::parse(
        std::path::Path::new("t.yaml"),
        &format!(
            "format_version: 1\nname: t\ntarget: http://{tb}\nduration_s: 20\narrivals: uniform\nload: {{loop: open, pattern: constant, rate: 10}}\n"
        ),
    )
    .unwrap();
    let r = scaletwin::loadtest::run::run(&s, &Default::default()).unwrap();
    assert!(r.ok >= 190, "{}", r.summary());
    std::thread::sleep(Duration::from_secs(2));
    let t1 = now_unix();
    let out = dir.join("bundle");
    let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "record",
            "--prometheus",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args(["--namespace", "default", "--deployment", "api"])
        .args(["--start", &format!("{t0:.3}"), "--end", &format!("{t1:.3}")])
        .args(["--step", "1s", "--rate-window", "5s", "--manifests"])
        .arg(demo())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{text}\n{err}");
    let b = Bundle::read(&out).unwrap();
    for key in [
        "requests",
        "latency",
        "spec_replicas",
        "ready_replicas",
        "hpa_desired",
        "pod_created",
        "pod_ready_time",
        "pod_requests",
        "cpu",
        "memory",
    ] {
        assert!(
            !b.get("api", key).is_empty(),
            "{key} missing:\n{text}\n{err}"
        );
    }
    // The request rate while the load ran: about 10/s, all answered 200.
    let req = b.get("api", "requests");
    let ok = req
        .iter()
        .find(|s| s.labels.get("code").map(String::as_str) == Some("200"))
        .unwrap();
    let mid: Vec<f64> = ok
        .samples
        .iter()
        .filter(|(t, _)| *t > t0 + 8.0 && *t < t0 + 18.0)
        .map(|s| s.1)
        .collect();
    let mean = mid.iter().sum::<f64>() / mid.len().max(1) as f64;
    assert!(
        (8.0..12.0).contains(&mean),
        "request rate {mean:.2}/s: {mid:?}"
    );
    // Each pod's creation precedes its readiness, by the model's start-up and readiness.
    let created = b.get("api", "pod_created");
    assert!(!created.is_empty());
    for s in created {
        assert!(s.labels["pod"].starts_with("api-"), "{:?}", s.labels);
    }
    // KEDA's own series are not exported by a testbed: listed as absent, with their use.
    assert!(
        b.info
            .absent
            .iter()
            .any(|a| a.key == "keda_metric" && a.query.contains("keda_scaler_metrics_value")),
        "{:?}",
        b.info.absent
    );
    assert!(text.contains("absent: api keda_metric"), "{text}");
    assert_eq!(b.info.manifests, vec!["api.yaml".to_string()]);
    assert!(out.join("manifests/api.yaml").is_file());
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/twin")
        .join(name)
}

/// Send a load given in model time to the testbed running 10x faster; the wall-clock range
/// it covered (plus two seconds for the last scrapes).
fn send(tb: &std::net::SocketAddr, load: &str, model_s: f64) -> (f64, f64) {
    let s = scaletwin::loadtest::Scenario::parse(
        std::path::Path::new("t.yaml"),
        &format!(
            "format_version: 1\nname: t\ntarget: http://{tb}\nduration_s: {model_s}\nseed: 7\nload: {load}\n"
        ),
    )
    .unwrap();
    let s = scaletwin::loadtest::run::compressed(&s, 10.0).unwrap();
    let t0 = now_unix();
    let r = scaletwin::loadtest::run::run(&s, &Default::default()).unwrap();
    assert!(r.success_rate > 0.99, "{}", r.summary());
    std::thread::sleep(Duration::from_secs(2));
    (t0, now_unix())
}

fn record(port: u16, (a, b): (f64, f64), out: &std::path::Path) {
    let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "record",
            "--prometheus",
            &format!("http://127.0.0.1:{port}"),
        ])
        .args([
            "--namespace",
            "default",
            "--deployment",
            "api",
            "--time-scale",
            "10",
        ])
        .args(["--start", &format!("{a:.3}"), "--end", &format!("{b:.3}")])
        .args(["--step", "0.5s", "--rate-window", "5s", "-o"])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

fn backtest(
    bundle: &std::path::Path,
    model: &std::path::Path,
    out: &std::path::Path,
) -> (i32, String) {
    let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .arg("backtest")
        .arg(bundle)
        .arg("--model")
        .arg(model)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (run.status.code().unwrap_or(-1), text)
}

#[test]
fn record_calibrate_backtest_recovers_a_hidden_model_and_fails_a_wrong_one() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    // The testbed serves truth/ ten times faster; calibration starts from guess/.
    let (tb, dir, port, _guard) =
        common::testbed_with_prometheus(&data("truth"), 10.0, 200.0, "twin");
    // Period A (fit): 8 req/s with a x5 spike; period B (backtest): 12 req/s with a x3
    // spike, after the service has settled.
    let a = send(
        &tb,
        "{loop: open, pattern: spike, base: 8, multiplier: 5, duration_s: 200, period_s: 600, first_at_s: 200}",
        600.0,
    );
    std::thread::sleep(Duration::from_secs(12));
    let b = send(
        &tb,
        "{loop: open, pattern: spike, base: 12, multiplier: 3, duration_s: 150, period_s: 450, first_at_s: 150}",
        450.0,
    );
    let (ba, bb) = (dir.join("bundle-a"), dir.join("bundle-b"));
    record(port, a, &ba);
    record(port, b, &bb);
    // Calibrate on A.
    let cal = dir.join("calibrated");
    let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .arg("calibrate")
        .arg(&ba)
        .arg("--model")
        .arg(data("guess"))
        .arg("-o")
        .arg(&cal)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let c: scaletwin::twin::calibrate::Calibration =
        serde_json::from_str(&std::fs::read_to_string(cal.join("calibration.json")).unwrap())
            .unwrap();
    let est = |p: &str| {
        c.estimates
            .iter()
            .find(|e| e.parameter == p)
            .unwrap_or_else(|| panic!("no estimate of {p}:\n{text}"))
    };
    let st = est("work.service_time");
    let (mean, p95) = (st.summary["mean"], st.summary["p95"]);
    let cpu = est("work.cpu_seconds_per_request").estimate;
    let startup = est("lifecycle.startup").estimate;
    eprintln!(
        "twin figures: service mean {mean:.4} s (truth 0.5), p95 {p95:.4} s (truth 1.1), CPU {cpu:.4} s/request (truth 0.03), start-up mean {startup:.2} s (truth 20, {} pods)",
        est("lifecycle.startup").n
    );
    assert!(
        (mean / 0.5 - 1.0).abs() <= 0.10,
        "service mean {mean}\n{text}"
    );
    assert!((p95 / 1.1 - 1.0).abs() <= 0.20, "service p95 {p95}\n{text}");
    assert!(
        (cpu / 0.03 - 1.0).abs() <= 0.10,
        "CPU per request {cpu}\n{text}"
    );
    assert!(
        (startup / 20.0 - 1.0).abs() <= 0.15,
        "start-up {startup}\n{text}"
    );
    // Backtest on B, a period the fit never saw.
    let (code, out) = backtest(&bb, &cal, &dir.join("bt"));
    eprintln!("{out}");
    assert_eq!(code, 0, "the calibrated model must pass:\n{out}");
    let bt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bt/backtest.json")).unwrap())
            .unwrap();
    assert!(bt["tick_agreement"].as_f64().unwrap() >= 0.9, "{out}");
    assert!(bt["window_agreement"].as_f64().unwrap() >= 0.75, "{out}");
    assert!(dir.join("bt/charts/backtest.svg").is_file());
    let page = std::fs::read_to_string(dir.join("bt/report.html")).unwrap();
    assert!(
        page.contains("<b>Passed.</b>") && page.contains("<svg"),
        "{page}"
    );
    // A deliberately wrong model (service time halved) must fail the same backtest.
    let wrong = dir.join("wrong");
    std::fs::create_dir_all(&wrong).unwrap();
    for f in ["service.yaml", "api.yaml"] {
        std::fs::copy(cal.join(f), wrong.join(f)).unwrap();
    }
    let svc = std::fs::read_to_string(wrong.join("service.yaml")).unwrap();
    // The figures as written in the YAML (a gamma has no p95 there; halving its mean halves
    // every quantile).
    let mut halved = svc.clone();
    for k in ["mean", "p95"] {
        if let Some(v) = st.value[k].as_f64() {
            halved = halved.replacen(&format!("{k}: {v}"), &format!("{k}: {}", v / 2.0), 1);
        }
    }
    assert_ne!(svc, halved, "the service time must be found in the YAML");
    std::fs::write(wrong.join("service.yaml"), halved).unwrap();
    let (code, out) = backtest(&bb, &wrong, &dir.join("bt-wrong"));
    eprintln!("{out}");
    assert_eq!(
        code, 1,
        "a model with half the service time must fail:\n{out}"
    );
    assert!(out.contains("window p95"), "{out}");
    let page = std::fs::read_to_string(dir.join("bt-wrong/report.html")).unwrap();
    assert!(
        page.contains("<b>Failed.</b>") && page.contains("window p95"),
        "{page}"
    );
}
