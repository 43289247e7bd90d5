//! `record`, `calibrate` and `backtest` on bundles built here (no server): the fits recover
//! known figures exactly enough, and every bad bundle or flag ends in exit 2 naming what to
//! change (or 3 when nobody answers).

use scaletwin::prom::Series;
use scaletwin::twin::bundle::{Bundle, BundleInfo, SeriesEntry};
use statrs::distribution::{ContinuousCDF, Normal};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const BOUNDS: [f64; 14] = [
    0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0,
];

fn series(labels: &[(&str, &str)], samples: Vec<(f64, f64)>) -> Series {
    Series {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        samples,
    }
}

/// The lognormal of mean 0.5 s and p95 1.1 s.
fn lognormal_cdf() -> impl Fn(f64) -> f64 {
    lognormal(0.5, 1.1)
}

/// A lognormal's CDF by its mean and p95.
fn lognormal(mean: f64, p95: f64) -> impl Fn(f64) -> f64 {
    let (mut lo, mut hi) = (1e-3f64, 3.0f64);
    for _ in 0..100 {
        let m = (lo + hi) / 2.0;
        if (1.644_853_6 * m - m * m / 2.0).exp() < p95 / mean {
            lo = m
        } else {
            hi = m
        }
    }
    let mu = mean.ln() - lo * lo / 2.0;
    let n01 = Normal::new(0.0, 1.0).unwrap();
    move |b: f64| n01.cdf((b.ln() - mu) / lo)
}

fn synthetic(dir: &Path) -> Bundle {
    synthetic_with(dir, &lognormal_cdf())
}

/// 10 minutes at 5-s steps of 10-16 requests/s on 2 pods, latency distributed as `cdf`
/// exactly, CPU 0.03 s per request plus 20 millicores per pod.
fn synthetic_with(dir: &Path, cdf: &dyn Fn(f64) -> f64) -> Bundle {
    let (start, step) = (1_700_000_000.0, 5.0);
    let ts: Vec<f64> = (0..=120).map(|i| start + i as f64 * step).collect();
    let at = |v: f64| ts.iter().map(|t| (*t, v)).collect::<Vec<_>>();
    // The load varies (10..16 requests/s) so that CPU can be split into idle and per request.
    let rate = |i: usize| 10.0 + (i % 7) as f64;
    let by_rate = |share: f64| {
        ts.iter()
            .enumerate()
            .map(|(i, t)| (*t, rate(i) * share))
            .collect::<Vec<_>>()
    };
    let mut latency: Vec<Series> = BOUNDS
        .iter()
        .map(|b| {
            let le = format!("{b}");
            series(&[("le", &le)], by_rate(cdf(*b)))
        })
        .collect();
    latency.push(series(&[("le", "+Inf")], by_rate(1.0)));
    let mut data = BTreeMap::new();
    let mut put = |k: &str, s: Vec<Series>| {
        data.insert(("api".to_string(), k.to_string()), s);
    };
    put("requests", vec![series(&[("code", "200")], by_rate(1.0))]);
    put("latency", latency);
    put("spec_replicas", vec![series(&[], at(2.0))]);
    put("ready_replicas", vec![series(&[], at(2.0))]);
    // Each of the two pods: its idle CPU and half the requests' CPU.
    let cpu: Vec<(f64, f64)> = ts
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, 0.02 + 0.03 * rate(i) / 2.0))
        .collect();
    put(
        "cpu",
        ["api-x-1", "api-x-2"]
            .iter()
            .map(|p| series(&[("pod", p)], cpu.clone()))
            .collect(),
    );
    let entries = data
        .iter()
        .map(|((d, k), s)| SeriesEntry {
            deployment: d.clone(),
            key: k.clone(),
            purpose: "test".into(),
            query: format!("{k}{{}}"),
            file: format!("series/{d}/{k}.csv"),
            series: s.len(),
            points: s.iter().map(|x| x.samples.len()).sum(),
        })
        .collect();
    let b = Bundle {
        dir: dir.to_path_buf(),
        info: BundleInfo {
            format_version: 1,
            prometheus: "http://127.0.0.1:9090".into(),
            namespace: "default".into(),
            deployments: vec!["api".into()],
            start_unix_s: start,
            end_unix_s: start + 600.0,
            step_s: step,
            rate_window: "5s".into(),
            series: entries,
            absent: vec![],
            manifests: vec![],
            recorded_by: "test".into(),
            time_scale: 1.0,
        },
        data,
    };
    b.write().unwrap();
    b
}

fn guess() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/twin/guess")
}

fn run(args: &[&str], paths: &[&Path]) -> (i32, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scaletwin"));
    c.args(args);
    for p in paths {
        c.arg(p);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `calibrate` the bundle from guess/ into `out` (exit 0 asserted): its calibration.json and
/// the command's output.
fn calibrated(bundle: &Path, out: &Path) -> (scaletwin::twin::calibrate::Calibration, String) {
    let (code, text) = run(
        &["calibrate"],
        &[bundle, Path::new("--model"), &guess(), Path::new("-o"), out],
    );
    assert_eq!(code, 0, "{text}");
    let json = std::fs::read_to_string(out.join("calibration.json")).unwrap();
    (serde_json::from_str(&json).unwrap(), text)
}

#[test]
fn calibrate_recovers_the_figures_of_an_exact_bundle() {
    let dir = crate::common::fresh_dir("twin", "exact");
    let b = dir.join("bundle");
    synthetic(&b);
    let read = Bundle::read(&b).unwrap();
    assert_eq!(read.get("api", "latency").len(), BOUNDS.len() + 1);
    let out = dir.join("model");
    let (c, text) = calibrated(&b, &out);
    let e = |p: &str| c.estimates.iter().find(|e| e.parameter == p).unwrap();
    let st = &e("work.service_time");
    assert_eq!(st.value["dist"], "lognormal", "{text}");
    let (mean, p95) = (st.summary["mean"], st.summary["p95"]);
    assert!((mean / 0.5 - 1.0).abs() < 0.01, "{mean}\n{text}");
    assert!((p95 / 1.1 - 1.0).abs() < 0.01, "{p95}\n{text}");
    let cpu = e("work.cpu_seconds_per_request").estimate;
    let idle = e("work.idle_cpu_millicores").estimate;
    assert!(
        (cpu - 0.03).abs() < 1e-6 && (idle - 20.0).abs() < 1e-3,
        "{cpu} {idle}"
    );
    // Not measurable here, and said so: start-up (no pod created in the range), concurrency.
    for p in ["lifecycle.startup", "serving.concurrency"] {
        assert!(c.not_identified.iter().any(|n| n.parameter == p), "{text}");
    }
    // The folder is a model: it simulates.
    assert_simulates(&out, &dir.join("sim"));
}

/// The calibrated folder `model` is a model: a minute of it simulates.
fn assert_simulates(model: &Path, out: &Path) {
    let (code, text) = run(
        &["simulate", "--duration", "60", "--model"],
        &[model, Path::new("-o"), out],
    );
    assert_eq!(code, 0, "{text}");
}

#[test]
fn bad_bundles_are_refused_naming_the_series_and_what_to_do() {
    let dir = crate::common::fresh_dir("twin", "bad");
    let check = |name: &str, edit: &dyn Fn(&mut Bundle), cmd: &str, want: &[&str]| {
        let b = dir.join(name);
        let mut bundle = synthetic(&b);
        edit(&mut bundle);
        bundle.write().unwrap();
        let out = dir.join(format!("{name}-out"));
        let (code, text) = run(
            &[cmd],
            &[&b, Path::new("--model"), &guess(), Path::new("-o"), &out],
        );
        assert_eq!(code, 2, "{name}: {text}");
        for w in want {
            assert!(text.contains(w), "{name}: `{w}` missing from: {text}");
        }
    };
    let set = |b: &mut Bundle, k: &str, s: Vec<Series>| {
        b.data.insert(("api".into(), k.into()), s);
    };
    check(
        "version",
        &|b| b.info.format_version = 2,
        "backtest",
        &["bundle.json", "format_version 2", "record the bundle again"],
    );
    check(
        "noload",
        &|b| {
            let s = b.get("api", "requests")[0].clone();
            let zero = s.samples.iter().map(|x| (x.0, 0.0)).collect();
            set(b, "requests", vec![series(&[("code", "200")], zero)]);
        },
        "backtest",
        &["no load recorded", "requests{}"],
    );
    check(
        "gaps",
        &|b| {
            let s = b.get("api", "requests")[0].clone();
            let sparse = s.samples.iter().step_by(4).copied().collect();
            set(b, "requests", vec![series(&[("code", "200")], sparse)]);
        },
        "backtest",
        &["no sample in", "without gaps"],
    );
    check(
        "several",
        &|b| {
            let mut l = b.get("api", "latency").to_vec();
            let mut dup = l[0].clone();
            dup.labels.insert("instance".into(), "b".into());
            l.push(dup);
            set(b, "latency", l);
        },
        "calibrate",
        &["several latency series", "sum by (le)"],
    );
    check(
        "otherdeployment",
        &|b| {
            b.info.deployments = vec!["web".into()];
            for e in b.info.series.iter_mut() {
                e.deployment = "web".into();
                e.file = e.file.replace("/api/", "/web/");
            }
            let d = std::mem::take(&mut b.data);
            b.data = d
                .into_iter()
                .map(|((_, k), v)| (("web".into(), k), v))
                .collect();
        },
        "backtest",
        &["records web but not api", "--deployment api"],
    );
    check(
        "reset",
        &|b| {
            // A raw counter (no rate()): it climbs, then the service restarts and it resets.
            for e in b.info.series.iter_mut().filter(|e| e.key == "requests") {
                e.query = "sum by (code) (http_requests_total{job=\"api\"})".into();
            }
            let s = b.get("api", "requests")[0].clone();
            let raw = s
                .samples
                .iter()
                .enumerate()
                .map(|(i, x)| (x.0, (i % 60) as f64 * 70.0))
                .collect();
            set(b, "requests", vec![series(&[("code", "200")], raw)]);
        },
        "calibrate",
        &[
            "raw counter",
            "resets at",
            "4130 -> 0",
            "rate(...[$rate_window])",
        ],
    );
}

#[test]
fn record_refuses_bad_flags_and_a_server_nobody_runs() {
    let dir = crate::common::fresh_dir("twin", "flags");
    let base = [
        "record",
        "--namespace",
        "default",
        "--deployment",
        "api",
        "-o",
    ];
    let out = dir.join("b");
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "--prometheus",
                "http://127.0.0.1:9",
                "--start",
                "100",
                "--end",
                "50",
            ],
            2,
            "must be after --start",
        ),
        (
            &[
                "--prometheus",
                "http://127.0.0.1:9",
                "--start",
                "0",
                "--end",
                "100",
                "--rate-window",
                "1.5m",
            ],
            2,
            "not a Prometheus duration",
        ),
        (
            &[
                "--prometheus",
                "http://127.0.0.1:9",
                "--start",
                "0",
                "--end",
                "1e9",
                "--step",
                "1s",
            ],
            2,
            "at most 2000000",
        ),
        (
            &["--prometheus", "ftp://x", "--start", "0", "--end", "100"],
            2,
            "only http://",
        ),
        // Nobody listens on loopback port 9 (discard): exit 3, nothing written.
        (
            &[
                "--prometheus",
                "http://127.0.0.1:9",
                "--start",
                "0",
                "--end",
                "100",
                "--timeout",
                "2s",
            ],
            3,
            "cannot reach Prometheus",
        ),
    ];
    for (extra, code, want) in cases {
        let mut c = Command::new(env!("CARGO_BIN_EXE_scaletwin"));
        c.args(base).arg(&out).args(*extra);
        let o = c.output().unwrap();
        let text = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(*code), "{extra:?}: {text}");
        assert!(text.contains(want), "{extra:?}: {text}");
    }
    assert!(!out.join("bundle.json").exists());
    // A queries file with an unknown key names the keys there are.
    let q = dir.join("q.yaml");
    std::fs::write(&q, "queries:\n  request_rate: 'sum(rate(x[1m]))'\n").unwrap();
    let err = scaletwin::twin::record::QuerySet::from_file(&q)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("q.yaml")
            && err.contains("queries.request_rate")
            && err.contains("requests, latency"),
        "{err}"
    );
    // A counter query without rate() is refused before anything is recorded.
    std::fs::write(
        &q,
        "queries:\n  cpu: 'sum by (pod) (container_cpu_usage_seconds_total)'\n",
    )
    .unwrap();
    let err = scaletwin::twin::record::QuerySet::from_file(&q)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("queries.cpu") && err.contains("raw counter"),
        "{err}"
    );
    // An empty template drops a query; a selector is used by every template.
    std::fs::write(&q, "selector: 'job=\"web\"'\nqueries:\n  keda_active: ''\n").unwrap();
    let qs = scaletwin::twin::record::QuerySet::from_file(&q).unwrap();
    assert!(qs.queries.iter().all(|(k, _, _)| k != "keda_active"));
    let t = &qs
        .queries
        .iter()
        .find(|(k, _, _)| k == "requests")
        .unwrap()
        .2;
    assert_eq!(
        qs.fill(t, "ns", "api", "1m"),
        "sum by (code) (rate(http_requests_total{job=\"web\"}[1m]))"
    );
}

/// Calibrate the exact bundle whose latency follows `cdf` (into `<dir>/model`): the service
/// time estimate, the command's output and the test's folder.
fn service_time_of(
    name: &str,
    cdf: &dyn Fn(f64) -> f64,
) -> (scaletwin::twin::calibrate::Estimate, String, PathBuf) {
    let dir = crate::common::fresh_dir("twin", name);
    let b = dir.join("bundle");
    synthetic_with(&b, cdf);
    let (c, text) = calibrated(&b, &dir.join("model"));
    let st = c
        .estimates
        .into_iter()
        .find(|e| e.parameter == "work.service_time")
        .unwrap();
    (st, text, dir)
}

#[test]
fn a_heavy_tailed_service_time_is_fitted_as_a_gamma() {
    // Gamma service times of mean 0.5 s and cv 1.5 (a lognormal fits these buckets worse).
    use statrs::distribution::Gamma;
    let shape = 1.0 / (1.5f64 * 1.5);
    let g = Gamma::new(shape, shape / 0.5).unwrap();
    let (st, text, dir) = service_time_of("gamma", &|x| g.cdf(x));
    let out = dir.join("model");
    assert_eq!(st.value["dist"], "gamma", "{text}");
    let (mean, cv) = (
        st.value["mean"].as_f64().unwrap(),
        st.value["cv"].as_f64().unwrap(),
    );
    assert!((mean / 0.5 - 1.0).abs() < 0.02, "mean {mean}\n{text}");
    assert!((cv / 1.5 - 1.0).abs() < 0.05, "cv {cv}\n{text}");
    assert!(
        (st.summary["p95"] / g.inverse_cdf(0.95) - 1.0).abs() < 0.02,
        "{text}"
    );
    // The model it wrote reads the gamma back.
    assert!(
        std::fs::read_to_string(out.join("service.yaml"))
            .unwrap()
            .contains("dist: gamma")
    );
}

#[test]
fn a_mix_of_two_request_types_is_fitted_by_its_own_buckets() {
    // 70 % fast requests (mean 0.2 s) and 30 % slow ones (mean 1.5 s): no lognormal or gamma
    // follows both humps, so the buckets themselves are the service time.
    let (fast, slow) = (lognormal(0.2, 0.35), lognormal(1.5, 2.5));
    let mix = move |b: f64| 0.7 * fast(b) + 0.3 * slow(b);
    let (st, text, dir) = service_time_of("mix", &mix);
    let out = dir.join("model");
    assert_eq!(st.value["dist"], "empirical", "{text}");
    assert!(st.fit.contains("no parametric family"), "{}", st.fit);
    // Mean 0.7 x 0.2 + 0.3 x 1.5 = 0.59 s; p95 by bisection of the mixture's CDF.
    let (mut lo, mut hi) = (0.01f64, 10.0f64);
    for _ in 0..100 {
        let m = (lo + hi) / 2.0;
        if mix(m) < 0.95 { lo = m } else { hi = m }
    }
    let (mean, p95) = (st.summary["mean"], st.summary["p95"]);
    assert!((mean / 0.59 - 1.0).abs() < 0.05, "mean {mean}\n{text}");
    assert!((p95 / lo - 1.0).abs() < 0.10, "p95 {p95} vs {lo}\n{text}");
    // The file it names sits next to service.yaml, and the folder simulates.
    let file = std::fs::read_to_string(out.join("service_time-api.txt")).unwrap();
    assert_eq!(file.lines().count(), 1000);
    assert_simulates(&out, &dir.join("sim"));
}

#[test]
fn concurrency_is_read_from_the_throughput_ceiling_when_saturation_was_recorded() {
    // The exact bundle, then 40 steps where both pods were saturated: 8 slots each at a mean
    // service time of 0.5 s serve 16 requests/s per pod, every request queued about 3 s, and
    // 5 requests/s more were refused with 503.
    let dir = crate::common::fresh_dir("twin", "saturated");
    let b = dir.join("bundle");
    let mut bundle = synthetic(&b);
    let cdf = lognormal_cdf();
    let sat = |i: usize| (60..100).contains(&i);
    let lat = bundle
        .data
        .get_mut(&("api".into(), "latency".into()))
        .unwrap();
    for s in lat.iter_mut() {
        let le: f64 = s.labels["le"].parse().unwrap_or(f64::INFINITY);
        for (i, x) in s.samples.iter_mut().enumerate() {
            if sat(i) {
                x.1 = 32.0
                    * if le.is_finite() {
                        cdf((le - 3.0).max(1e-9))
                    } else {
                        1.0
                    };
            }
        }
    }
    let req = bundle
        .data
        .get_mut(&("api".into(), "requests".into()))
        .unwrap();
    let mut refused = req[0].clone();
    refused.labels.insert("code".into(), "503".into());
    for (i, (x, r)) in req[0]
        .samples
        .iter_mut()
        .zip(refused.samples.iter_mut())
        .enumerate()
    {
        x.1 = if sat(i) { 32.0 } else { x.1 };
        r.1 = if sat(i) { 5.0 } else { 0.0 };
    }
    req.push(refused);
    bundle.write().unwrap();
    let (c, text) = calibrated(&b, &dir.join("model"));
    let e = c
        .estimates
        .iter()
        .find(|e| e.parameter == "serving.concurrency")
        .unwrap_or_else(|| panic!("concurrency not identified:\n{text}"));
    assert_eq!(e.value, serde_json::json!(8), "{text}");
    // The service time still comes from the quiet steps.
    let st = c
        .estimates
        .iter()
        .find(|e| e.parameter == "work.service_time")
        .unwrap();
    assert!((st.summary["mean"] / 0.5 - 1.0).abs() < 0.02, "{text}");
    assert!(
        std::fs::read_to_string(dir.join("model/service.yaml"))
            .unwrap()
            .contains("concurrency: 8")
    );
}

#[test]
fn a_trigger_query_that_keeps_2xx_makes_its_binding_count_successes_only() {
    use scaletwin::engine::model::Counted;
    use scaletwin::scenario::skeleton::counted_by;
    for (q, want) in [
        (
            "sum(rate(http_requests_total{deployment=\"api\"}[1m]))",
            Counted::All,
        ),
        (
            "sum(rate(http_requests_total{code=~\"2..\"}[1m]))",
            Counted::Ok,
        ),
        (
            "sum(rate(http_requests_total{status = \"200\"}[1m]))",
            Counted::Ok,
        ),
        (
            "sum(rate(http_requests_total{code!~\"2..\"}[1m]))",
            Counted::All,
        ),
    ] {
        assert_eq!(counted_by(q), want, "{q}");
    }
    // The guess's ScaledObject, its query filtered to 2xx: the calibrated binding says ok.
    let dir = crate::common::fresh_dir("twin", "counted");
    let b = dir.join("bundle");
    synthetic(&b);
    let man = dir.join("manifests");
    std::fs::create_dir_all(&man).unwrap();
    let api = std::fs::read_to_string(guess().join("api.yaml")).unwrap();
    let filtered = api.replace("{deployment=\"api\"}", "{deployment=\"api\",code=~\"2..\"}");
    assert_ne!(api, filtered);
    std::fs::write(man.join("api.yaml"), filtered).unwrap();
    let out = dir.join("model");
    let (code, text) = run(
        &["calibrate"],
        &[
            &b,
            Path::new("--model"),
            &guess(),
            Path::new("--manifests"),
            &man,
            Path::new("-o"),
            &out,
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("bindings.api.request_rate.count")
            && text.contains("ok (the trigger's query keeps 2xx"),
        "{text}"
    );
    let svc = std::fs::read_to_string(out.join("service.yaml")).unwrap();
    assert!(svc.contains("count: ok"), "{svc}");
}

#[test]
fn a_fan_out_the_bundle_cannot_measure_is_said_and_kept() {
    // guess-mix's API fills a list its worker drains; the bundle records the API only.
    let dir = crate::common::fresh_dir("twin", "fanout");
    let b = dir.join("bundle");
    synthetic(&b);
    let model = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/twin/guess-mix");
    let out = dir.join("model");
    let (code, text) = run(
        &["calibrate"],
        &[&b, Path::new("--model"), &model, Path::new("-o"), &out],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("fan_out[jobs].count") && text.contains("record it with --deployment worker"),
        "{text}"
    );
    let svc = std::fs::read_to_string(out.join("service.yaml")).unwrap();
    assert!(
        svc.contains("value: 2"),
        "the model's fan-out is kept:\n{svc}"
    );
}

#[test]
fn calibrate_without_a_model_reads_the_structure_from_the_manifests() {
    let dir = crate::common::fresh_dir("twin", "skeleton");
    let b = dir.join("bundle");
    synthetic(&b);
    let out = dir.join("model");
    let (code, text) = run(
        &["calibrate"],
        &[
            &b,
            Path::new("--manifests"),
            &guess(),
            Path::new("--concurrency"),
            Path::new("api=16"),
            Path::new("-o"),
            &out,
        ],
    );
    assert_eq!(code, 0, "{text}");
    let c: scaletwin::twin::calibrate::Calibration =
        serde_json::from_str(&std::fs::read_to_string(out.join("calibration.json")).unwrap())
            .unwrap();
    let m = scaletwin::scenario::ModelSources::read_dir(&out)
        .unwrap()
        .load()
        .unwrap();
    let api = &m.model.deployments[m.model.entry];
    assert_eq!(api.name, "api");
    // The concurrency given is kept (no saturation in the bundle); the service time measured.
    assert_eq!(api.concurrency, 16, "{text}");
    let st = c
        .estimates
        .iter()
        .find(|e| e.parameter == "work.service_time")
        .unwrap();
    assert!((st.summary["mean"] / 0.5 - 1.0).abs() < 0.01, "{text}");
    // The range gives the workload (13 requests/s on average) and the latency buckets.
    let rate = c
        .estimates
        .iter()
        .find(|e| e.parameter == "scenario.workload")
        .unwrap();
    assert!((rate.estimate - 13.0).abs() < 0.1, "{text}");
    assert_eq!(m.model.metrics.latency_buckets_s, BOUNDS.to_vec());
    // The trigger's binding is read from its query; what nothing measured is said as assumed,
    // in calibration.json and in the written service.yaml.
    let svc = std::fs::read_to_string(out.join("service.yaml")).unwrap();
    assert!(svc.contains("signal: request_rate"), "{svc}");
    let assumed: Vec<&str> = c
        .not_identified
        .iter()
        .filter(|n| n.reason.starts_with("assumed"))
        .map(|n| n.parameter.as_str())
        .collect();
    assert_eq!(assumed, ["scenario.slo"], "{text}");
    assert!(svc.contains("# scenario.slo = "), "{svc}");
    assert_simulates(&out, &dir.join("sim"));
    // Neither a model nor manifests: said what to give, exit 2.
    let (code, text) = run(&["calibrate"], &[&b, Path::new("-o"), &dir.join("none")]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("--model DIR") && text.contains("--manifests DIR"),
        "{text}"
    );
    let (code, text) = run(
        &["calibrate"],
        &[
            &b,
            Path::new("--concurrency"),
            Path::new("api=0"),
            Path::new("--manifests"),
            &guess(),
            Path::new("-o"),
            &dir.join("zero"),
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("api=0") && text.contains(">= 1"), "{text}");
}
