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

/// Run `scaletwin <cmd> <range> <flag> models/demo -o out` on the api deployment's wall-clock
/// range `t0..t1` at 1-s steps and a 5-s rate window; exit 0 asserted; its output.
fn on_range(cmd: &[&str; 2], port: u16, (t0, t1): (f64, f64), out: &std::path::Path) -> String {
    let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .arg(cmd[0])
        .args(range(port, t0, t1))
        .arg(cmd[1])
        .arg(demo())
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&run.stdout).into_owned();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{text}\n{err}");
    text
}

fn range(port: u16, t0: f64, t1: f64) -> Vec<String> {
    [
        "--prometheus".to_string(),
        format!("http://127.0.0.1:{port}"),
        "--namespace".into(),
        "default".into(),
        "--deployment".into(),
        "api".into(),
        "--start".into(),
        format!("{t0:.3}"),
        "--end".into(),
        format!("{t1:.3}"),
        "--step".into(),
        "1s".into(),
        "--rate-window".into(),
        "5s".into(),
    ]
    .to_vec()
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
    let text = on_range(&["record", "--manifests"], port, (t0, t1), &out);
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
        assert!(!b.get("api", key).is_empty(), "{key} missing:\n{text}");
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
    // Calibrate straight from the server: the same range recorded into the model folder.
    let cal = dir.join("direct");
    let text = on_range(&["calibrate", "--model"], port, (t0, t1), &cal);
    assert!(text.contains("work.service_time"), "{text}");
    let direct = Bundle::read(&cal.join("bundle")).unwrap();
    assert_eq!(
        direct.get("api", "latency").len(),
        b.get("api", "latency").len()
    );
    assert!(cal.join("calibration.json").is_file() && cal.join("service.yaml").is_file());
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/twin")
        .join(name)
}

/// Send a load given in model time (a scenario's `load: ...` or `trace: ...` line, `$DATA`
/// standing for tests/data/twin) to the testbed running 10x faster; the wall-clock range it
/// covered (plus two seconds for the last scrapes).
fn send(tb: &std::net::SocketAddr, load: &str, model_s: f64, min_success: f64) -> (f64, f64) {
    let load = load.replace("$DATA", &data("").display().to_string());
    let s = scaletwin::loadtest::Scenario::parse(
        std::path::Path::new("t.yaml"),
        &format!(
            "format_version: 1\nname: t\ntarget: http://{tb}\nduration_s: {model_s}\nseed: 7\n{load}\n"
        ),
    )
    .unwrap();
    let s = scaletwin::loadtest::run::compressed(&s, 10.0).unwrap();
    let t0 = now_unix();
    let r = scaletwin::loadtest::run::run(&s, &Default::default()).unwrap();
    assert!(r.success_rate >= min_success, "{}", r.summary());
    std::thread::sleep(Duration::from_secs(2));
    (t0, now_unix())
}

fn record(
    port: u16,
    (a, b): (f64, f64),
    deployments: &[&str],
    rate_window: &str,
    out: &std::path::Path,
) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_scaletwin"));
    cmd.args([
        "record",
        "--prometheus",
        &format!("http://127.0.0.1:{port}"),
    ]);
    for d in deployments {
        cmd.args(["--deployment", d]);
    }
    let run = cmd
        .args(["--namespace", "default", "--time-scale", "10"])
        .args(["--start", &format!("{a:.3}"), "--end", &format!("{b:.3}")])
        .args(["--step", "0.5s", "--rate-window", rate_window, "-o"])
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
    exit_and_output(
        Command::new(env!("CARGO_BIN_EXE_scaletwin"))
            .arg("backtest")
            .arg(bundle)
            .arg("--model")
            .arg(model)
            .arg("-o")
            .arg(out),
    )
}

/// Run a command: its exit code and its output (stdout then stderr).
fn exit_and_output(c: &mut Command) -> (i32, String) {
    let run = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (run.status.code().unwrap_or(-1), text)
}

/// One hidden-model case: the testbed serves `truth` ten times faster while Prometheus
/// scrapes it; load A is recorded and calibrated from `guess`, load B (another period) is
/// recorded and backtested against the calibrated model.
struct Case {
    truth: &'static str,
    guess: &'static str,
    /// Loads in model time: (scenario `load:` value, seconds).
    a: (&'static str, f64),
    b: (&'static str, f64),
    /// The deployments recorded.
    deployments: &'static [&'static str],
    /// The rate window of the recording (wall clock).
    rate_window: &'static str,
    /// Share of requests that must succeed in each period (below 1 where the case saturates
    /// the service on purpose).
    min_success: f64,
}

/// What a case gives: the calibration, calibrate's output, the backtest's exit code and
/// output, and the folder (calibrated/, bundle-b/, bt/).
struct CaseRun {
    cal: scaletwin::twin::calibrate::Calibration,
    text: String,
    code: i32,
    out: String,
    dir: PathBuf,
}

/// The hidden-model cases run one at a time: each is a live testbed at ten times real time,
/// and two at once on a small machine would time each other out.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Case {
    fn run(&self) -> CaseRun {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let secs = (self.a.1 + self.b.1) / 10.0 + 80.0;
        let (tb, dir, port, _guard) =
            common::testbed_with_prometheus(&data(self.truth), 10.0, secs, self.truth);
        let a = send(&tb, self.a.0, self.a.1, self.min_success);
        std::thread::sleep(Duration::from_secs(12));
        let b = send(&tb, self.b.0, self.b.1, self.min_success);
        let (ba, bb) = (dir.join("bundle-a"), dir.join("bundle-b"));
        record(port, a, self.deployments, self.rate_window, &ba);
        record(port, b, self.deployments, self.rate_window, &bb);
        let cal = dir.join("calibrated");
        let run = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
            .arg("calibrate")
            .arg(&ba)
            .arg("--model")
            .arg(data(self.guess))
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
        let (code, out) = backtest(&bb, &cal, &dir.join("bt"));
        eprintln!("{}: {out}", self.truth);
        CaseRun {
            cal: c,
            text,
            code,
            out,
            dir,
        }
    }
}

impl CaseRun {
    fn est(&self, p: &str) -> &scaletwin::twin::calibrate::Estimate {
        self.cal
            .estimates
            .iter()
            .find(|e| e.parameter == p)
            .unwrap_or_else(|| panic!("no estimate of {p}:\n{}", self.text))
    }

    /// Service-time mean within 10 %, p95 within 20 %, CPU per request within 10 %, start-up
    /// mean within 15 % of the truth; printed.
    fn assert_recovered(&self, name: &str, mean: f64, p95: f64, cpu: f64, startup: f64) {
        let st = self.est("work.service_time");
        let (m, p) = (st.summary["mean"], st.summary["p95"]);
        let c = self.est("work.cpu_seconds_per_request").estimate;
        let s = self.est("lifecycle.startup");
        eprintln!(
            "twin figures ({name}): service {} mean {m:.4} s (truth {mean}), p95 {p:.4} s (truth {p95}), CPU {c:.4} s/request (truth {cpu}), start-up mean {:.2} s (truth {startup}, {} pods)",
            st.value["dist"], s.estimate, s.n
        );
        let t = &self.text;
        assert!((m / mean - 1.0).abs() <= 0.10, "service mean {m}\n{t}");
        assert!((p / p95 - 1.0).abs() <= 0.20, "service p95 {p}\n{t}");
        assert!((c / cpu - 1.0).abs() <= 0.10, "CPU per request {c}\n{t}");
        assert!(
            (s.estimate / startup - 1.0).abs() <= 0.15,
            "start-up {}\n{t}",
            s.estimate
        );
    }

    /// The backtest of the other period passed: replicas within 1 pod at >= 90 % of the sync
    /// ticks, p95 within 25 % in >= 75 % of the windows.
    fn assert_backtest_passed(&self) {
        let out = &self.out;
        assert_eq!(self.code, 0, "the calibrated model must pass:\n{out}");
        let bt: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.dir.join("bt/backtest.json")).unwrap(),
        )
        .unwrap();
        assert!(bt["tick_agreement"].as_f64().unwrap() >= 0.9, "{out}");
        assert!(bt["window_agreement"].as_f64().unwrap() >= 0.75, "{out}");
    }
}

#[test]
fn record_calibrate_backtest_recovers_a_hidden_model_and_fails_a_wrong_one() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    // A recorded trace drives it: period A (fit) is the morning ramp of 24 July 1995 in the
    // NASA web server's log (06:00-12:00 EDT played 36 times faster, in 600 s, and x0.8: about 10 to 45 req/s);
    // period B (backtest) is 26 July's (07:00-11:30 EDT in 450 s), after the service settled.
    let r = Case {
        truth: "truth",
        guess: "guess",
        a: (
            "trace: {path: $DATA/nasa-1995-07-24_to_26.per-minute.csv, from_s: '1995-07-24 10:00:00', to_s: '1995-07-24 16:00:00', compress: 36, scale: 0.8}",
            600.0,
        ),
        b: (
            "trace: {path: $DATA/nasa-1995-07-24_to_26.per-minute.csv, from_s: '1995-07-26 11:00:00', to_s: '1995-07-26 15:30:00', compress: 36, scale: 0.8}",
            450.0,
        ),
        deployments: &["api"],
        rate_window: "5s",
        min_success: 0.99,
    }
    .run();
    r.assert_recovered("truth", 0.5, 1.1, 0.03, 20.0);
    let (dir, cal) = (r.dir.clone(), r.dir.join("calibrated"));
    let bb = dir.join("bundle-b");
    let st = r.est("work.service_time");
    r.assert_backtest_passed();
    assert!(dir.join("bt/charts/backtest.svg").is_file());
    let page = std::fs::read_to_string(dir.join("bt/report.html")).unwrap();
    assert!(
        page.contains("<b>Passed.</b>") && page.contains("<svg"),
        "{page}"
    );
    // The page lists the calibration the model came from: each estimate and what was kept.
    assert!(
        page.contains("<h2>Calibration</h2>")
            && page.contains("work.service_time")
            && page.contains("serving.concurrency"),
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

#[test]
fn a_saturated_cpu_scaled_service_gives_its_concurrency_and_backtests() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    // Period A: 8 req/s with a x8 spike that 6 pods (the HPA's maximum) cannot serve: the
    // pods saturate and refuse the excess. Period B: 16 req/s with a x2 spike (enough requests
    // per 30-s window for its p95 to be a steady figure).
    let r = Case {
        truth: "truth-cpu",
        guess: "guess-cpu",
        a: (
            "load: {loop: open, pattern: spike, base: 8, multiplier: 8, duration_s: 200, period_s: 600, first_at_s: 150}",
            600.0,
        ),
        b: (
            "load: {loop: open, pattern: spike, base: 16, multiplier: 2, duration_s: 150, period_s: 450, first_at_s: 150}",
            450.0,
        ),
        deployments: &["api"],
        rate_window: "2s",
        min_success: 0.5,
    }
    .run();
    let g = statrs::distribution::Gamma::new(1.0 / 2.25, 1.0 / 2.25 / 0.4).unwrap();
    let p95 = statrs::distribution::ContinuousCDF::inverse_cdf(&g, 0.95);
    r.assert_recovered("truth-cpu", 0.4, p95, 0.02, 40.0);
    let k = r.est("serving.concurrency");
    eprintln!(
        "twin figures (truth-cpu): concurrency {} (truth 4): {}",
        k.value, k.figure
    );
    assert_eq!(k.value, serde_json::json!(4), "{}", r.text);
    r.assert_backtest_passed();
}

#[test]
fn a_mix_of_request_types_with_a_queue_worker_is_fitted_by_its_buckets_and_backtests() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    // Period A: 6 req/s with a x4 spike; period B: 8 req/s with a x2.5 spike. Both
    // deployments are recorded: the worker has no HTTP series; its jobs and pods have.
    let r = Case {
        truth: "truth-mix",
        guess: "guess-mix",
        a: (
            "load: {loop: open, pattern: spike, base: 6, multiplier: 4, duration_s: 200, period_s: 600, first_at_s: 150}",
            600.0,
        ),
        b: (
            "load: {loop: open, pattern: spike, base: 8, multiplier: 2.5, duration_s: 150, period_s: 450, first_at_s: 150}",
            450.0,
        ),
        deployments: &["api", "worker"],
        rate_window: "5s",
        min_success: 0.99,
    }
    .run();
    // The truth is the 4,000 draws the testbed samples from.
    let mut draws: Vec<f64> = std::fs::read_to_string(data("truth-mix").join("service_time.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    draws.sort_by(f64::total_cmp);
    let mean = draws.iter().sum::<f64>() / draws.len() as f64;
    let p95 = draws[(0.95 * draws.len() as f64) as usize];
    r.assert_recovered("truth-mix", mean, p95, 0.01, 12.0);
    assert_eq!(
        r.est("work.service_time").value["dist"],
        "empirical",
        "{}",
        r.text
    );
    assert!(r.dir.join("calibrated/service_time-api.txt").is_file());
    // The worker's figures come from its own series (jobs processed, processing time, CPU)
    // and its pods; the fan-out from its jobs per API request.
    let of = |d: &str, p: &str| {
        r.cal
            .estimates
            .iter()
            .find(|e| e.deployment == d && e.parameter == p)
            .unwrap_or_else(|| panic!("no {d} {p}:\n{}", r.text))
    };
    let st = of("worker", "work.service_time");
    let (wm, wp) = (st.summary["mean"], st.summary["p95"]);
    let wc = of("worker", "work.cpu_seconds_per_request").estimate;
    let ws = of("worker", "lifecycle.startup");
    let fan = of("api", "fan_out[jobs].count");
    // The worker's queue backed up in the spike: its concurrency (1) from its throughput
    // ceiling while jobs waited.
    let wk = of("worker", "serving.concurrency");
    eprintln!(
        "twin figures (truth-mix): worker concurrency {} ({:.3}, {} steps; truth 1)",
        wk.value, wk.estimate, wk.n
    );
    assert_eq!(wk.value, serde_json::json!(1), "{}", r.text);
    eprintln!(
        "twin figures (truth-mix): worker service {} mean {wm:.4} s (truth 0.3), p95 {wp:.4} s (truth 0.6), CPU {wc:.4} s/job (truth 0.05), start-up mean {:.2} s (truth 15, {} pods); fan-out {:.4} jobs per request (truth 1)",
        st.value["dist"], ws.estimate, ws.n, fan.estimate
    );
    assert!((wm / 0.3 - 1.0).abs() <= 0.10, "{}", r.text);
    assert!((wp / 0.6 - 1.0).abs() <= 0.20, "{}", r.text);
    assert!((wc / 0.05 - 1.0).abs() <= 0.10, "{}", r.text);
    assert!((ws.estimate / 15.0 - 1.0).abs() <= 0.15, "{}", r.text);
    assert_eq!(
        fan.value,
        serde_json::json!({"dist": "fixed", "value": 1}),
        "{}",
        r.text
    );
    r.assert_backtest_passed();
    // The same recording without the guess: the structure read from the manifests alone (the
    // API's threads in its annotation), the rest measured or said as assumed; the other
    // period backtests as well.
    let bare = r.dir.join("from-manifests");
    let (code, text) = exit_and_output(
        Command::new(env!("CARGO_BIN_EXE_scaletwin"))
            .arg("calibrate")
            .arg(r.dir.join("bundle-a"))
            .arg("--manifests")
            .arg(data("truth-mix"))
            .arg("-o")
            .arg(&bare),
    );
    assert_eq!(code, 0, "{text}");
    let m = scaletwin::scenario::ModelSources::read_dir(&bare)
        .and_then(|s| s.load())
        .unwrap()
        .model;
    let worker = m.deployments.iter().find(|d| d.name == "worker").unwrap();
    assert_eq!(worker.consumes.len(), 1, "{text}");
    assert_eq!(m.queues[worker.consumes[0]].name, "jobs", "{text}");
    let (code, out) = backtest(&r.dir.join("bundle-b"), &bare, &r.dir.join("bt-bare"));
    eprintln!("truth-mix, calibrated from its manifests alone: {out}");
    assert_eq!(code, 0, "{text}\n{out}");
}

#[test]
fn a_probe_of_a_pinned_service_finds_its_service_time_and_its_concurrency() {
    // truth-cpu's service (gamma mean 0.4 s cv 1.5, 4 requests at once per pod) on 2 pinned
    // pods (no autoscaler): 20 req/s at most. The probe steps up from 2 req/s by x1.5.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::fresh_dir("twin", "probe");
    let pinned = dir.join("pinned");
    std::fs::create_dir_all(&pinned).unwrap();
    std::fs::copy(
        data("truth-cpu").join("service.yaml"),
        pinned.join("service.yaml"),
    )
    .unwrap();
    let manifests = std::fs::read_to_string(data("truth-cpu").join("api.yaml")).unwrap();
    let deployment = manifests.split("\n---\n").next().unwrap();
    assert!(
        deployment.contains("kind: Deployment") && !deployment.contains("HorizontalPodAutoscaler")
    );
    std::fs::write(pinned.join("api.yaml"), deployment).unwrap();
    let tb = common::start_testbed(&pinned, 10.0, 300.0);
    let out = dir.join("probed");
    let (code, text) = exit_and_output(
        Command::new(env!("CARGO_BIN_EXE_scaletwin"))
            .args([
                "calibrate",
                "--probe",
                "--target",
                &format!("http://{tb}/"),
                "--pods",
                "2",
            ])
            .args([
                "--probe-start-rps",
                "2",
                "--probe-step",
                "180s",
                "--probe-time-scale",
                "10",
            ])
            .arg("--model")
            .arg(data("guess-cpu"))
            .arg("-o")
            .arg(&out),
    );
    assert_eq!(code, 0, "{text}");
    let c: scaletwin::twin::calibrate::Calibration =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap())
            .unwrap();
    let est = |p: &str| {
        c.estimates
            .iter()
            .find(|e| e.parameter == p)
            .unwrap_or_else(|| panic!("no {p}:\n{text}"))
    };
    let st = est("work.service_time");
    let (mean, p95) = (st.summary["mean"], st.summary["p95"]);
    let k = est("serving.concurrency");
    let g = statrs::distribution::Gamma::new(1.0 / 2.25, 1.0 / 2.25 / 0.4).unwrap();
    let truth95 = statrs::distribution::ContinuousCDF::inverse_cdf(&g, 0.95);
    eprintln!(
        "probe figures: service {} mean {mean:.4} s (truth 0.4), p95 {p95:.4} s (truth {truth95:.4}), concurrency {} (truth 4): {}",
        st.value["dist"], k.value, k.figure
    );
    assert!((mean / 0.4 - 1.0).abs() <= 0.10, "{text}");
    assert!((p95 / truth95 - 1.0).abs() <= 0.20, "{text}");
    assert_eq!(k.value, serde_json::json!(4), "{text}");
    // What a probe cannot see is said.
    assert!(
        c.not_identified
            .iter()
            .any(|n| n.parameter == "lifecycle.startup"),
        "{text}"
    );
}
