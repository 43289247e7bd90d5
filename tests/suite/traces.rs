//! Recorded traces: every shared trace imports with the totals its `.source.md` states, bad
//! input is reported clearly, transforms behave, and a real day replays through AMAS.

use scaletwin::engine::{self, RunConfig, Workload};
use scaletwin::trace::read::{self, ReadOptions};
use scaletwin::trace::{Interpolation, Trace, TraceData};
use std::path::{Path, PathBuf};

fn traces_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/traces");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("SCALETWIN_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "shared traces not found at {} and SCALETWIN_REQUIRE_SHARED=1",
            dir.display()
        );
    }
    eprintln!("skipping: shared traces not found at {}", dir.display());
    None
}

fn read_shared(dir: &Path, name: &str) -> Trace {
    read::read(&dir.join(name), &ReadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_shared_trace_imports_with_its_stated_totals() {
    let Some(dir) = traces_dir() else { return };
    // (file, rows, total requests) from each file's .source.md.
    let cases: [(&str, u64, f64); 13] = [
        ("worldcup98.per-minute.csv", 125_310, 1_352_804_107.0),
        (
            "worldcup98.invocation_count.orig.csv",
            125_300,
            1_352_804_107.0,
        ),
        (
            "nasa-http-1995-07-09_to_15.per-second.csv",
            604_800,
            544_913.0,
        ),
        (
            "nasa-http-1995-07-01_to_21.per-minute.csv",
            30_240,
            1_542_640.0,
        ),
        ("nasa-http-1995-08.per-minute.csv", 44_640, 1_569_898.0),
        (
            "nasa-http-1995-07-22_to_28.per-second.csv",
            567_146,
            349_074.0,
        ),
        (
            "nasa-http-1995-07-22_to_28.per-minute.csv",
            9_453,
            349_074.0,
        ),
        (
            "twitter-stream-2021-08.per-second.orig.txt",
            1_899_061,
            120_774_326.0,
        ),
        (
            "twitter-stream-2021-08.per-minute.csv",
            31_652,
            120_774_326.0,
        ),
        (
            "azure-llm-inference-2023.conv.requests.csv",
            19_366,
            19_366.0,
        ),
        ("azure-llm-inference-2023.code.requests.csv", 8_819, 8_819.0),
        (
            "azure-llm-inference-2023.conv.per-second.csv",
            3_503,
            19_366.0,
        ),
        (
            "azure-llm-inference-2023.code.per-second.csv",
            3_437,
            8_819.0,
        ),
    ];
    for (name, rows, total) in cases {
        let t = read_shared(&dir, name);
        assert_eq!(t.report.rows, rows, "{name}: rows");
        assert_eq!(t.total(), total, "{name}: total");
        assert_eq!(t.report.bad_lines, 0, "{name}");
    }
    // The World Cup original has 10 minutes with no row: missing, not zero.
    let wc = read_shared(&dir, "worldcup98.invocation_count.orig.csv");
    assert_eq!(wc.report.missing_bins, 10);
    assert_eq!(
        read_shared(&dir, "worldcup98.per-minute.csv")
            .report
            .missing_bins,
        0
    );
    // Peaks and spans stated in the sources.
    let nasa = read_shared(&dir, "nasa-http-1995-07-09_to_15.per-second.csv");
    let info = nasa.info();
    assert_eq!(
        (info.span_s, info.peak_rps_1s, info.start_unix_s),
        (604_800.0, Some(20.0), 805_262_400.0)
    );
    assert_eq!(
        info.peak_rps_1min.map(|p| (p * 60.0).round()),
        Some(405.0),
        "busiest minute 405"
    );
    let code = read_shared(&dir, "azure-llm-inference-2023.code.requests.csv").info();
    assert_eq!(code.peak_rps_1s, Some(67.0));
}

#[test]
fn canonical_import_round_trips() {
    let Some(dir) = traces_dir() else { return };
    let tmp = std::env::temp_dir().join(format!("scaletwin-trace-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for name in [
        "worldcup98.invocation_count.orig.csv",
        "azure-llm-inference-2023.conv.requests.csv",
    ] {
        let t = read_shared(&dir, name);
        for ext in ["parquet", "csv"] {
            let out = tmp.join(format!("{name}.{ext}"));
            read::write(&t, &out).unwrap();
            let back = read::read(&out, &ReadOptions::default()).unwrap();
            assert_eq!(back.total(), t.total(), "{name} -> {ext}");
            assert_eq!(back.span_s(), t.span_s(), "{name} -> {ext}");
            assert_eq!(back.start_unix_s, t.start_unix_s, "{name} -> {ext}");
        }
    }
    // Another format_version is rejected clearly.
    let bad = tmp.join("v9.csv");
    std::fs::write(&bad, "unix_s,requests,bin_s,format_version\n0,1,1,9\n").unwrap();
    let t = read::read(&bad, &ReadOptions::default()).unwrap();
    assert_eq!(t.total(), 1.0, "CSV exports read as plain binned CSV");
}

#[test]
fn a_nasa_day_scaled_to_300_rps_replays_through_the_amas_orchestrator() {
    let Some(dir) = traces_dir() else { return };
    let mut t = read_shared(&dir, "nasa-http-1995-07-09_to_15.per-second.csv");
    // Thursday 13 July 1995 (EDT), the busiest day of the week.
    t.window(4.0 * 86_400.0, 5.0 * 86_400.0);
    let k = t.scale_to_peak(300.0).unwrap();
    assert!((k - 15.0).abs() < 1e-9, "peak 20 req/s -> x15");
    let expected = t.total();
    let mut model = scaletwin::scenario::embedded_amas().load().unwrap().model;
    model.restrict(&["amas-orchestrator".into()]).unwrap();
    let wl = t.to_workload(Interpolation::Constant);
    let o = engine::run(
        &model,
        &wl,
        RunConfig {
            duration_s: 86_400.0,
            ..RunConfig::default()
        },
    );
    let d = &o.deployments[0];
    // Poisson arrivals within each 1 s bin: the count matches the trace's within noise.
    assert!(
        (d.arrived as f64 - expected).abs() < 4.0 * expected.sqrt(),
        "{} arrivals vs {expected}",
        d.arrived
    );
    assert!(
        d.scaling_events > 0 && d.max_replicas > 2,
        "the day's peaks make it scale: {d:?}"
    );
    assert_eq!(
        d.arrived,
        d.succeeded + d.failures.total() + d.in_system_at_end
    );
}

fn tmp_file(name: &str, text: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-trace-bad-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_input_is_counted_or_rejected_with_the_reason() {
    let opts = ReadOptions::default();
    // Malformed lines are counted with their line numbers...
    let p = tmp_file(
        "bad.csv",
        "unix_s,requests\n0,1\n1,x\n2,3\nnot-a-time,4\n3,-2\n",
    );
    let t = read::read(&p, &opts).unwrap();
    assert_eq!((t.report.rows, t.report.bad_lines, t.total()), (2, 3, 4.0));
    assert_eq!(t.report.bad_examples[0].0, 3);
    assert!(t.report.bad_examples[0].1.contains("`x` is not a count"));
    // ...and too many are an error.
    let strict = ReadOptions {
        max_bad_lines: 2,
        ..ReadOptions::default()
    };
    let e = read::read(&p, &strict).unwrap_err().to_string();
    assert!(
        e.contains("more than 2 malformed lines") && e.contains("line 3"),
        "{e}"
    );
    // Out-of-order timestamps are sorted (counted), or rejected on request.
    let p = tmp_file(
        "unsorted.csv",
        "TIMESTAMP\n2023-11-16 18:17:05\n2023-11-16 18:17:03\n2023-11-16 18:17:04\n",
    );
    let t = read::read(&p, &opts).unwrap();
    assert_eq!(t.report.out_of_order, 1);
    assert!(matches!(&t.data, TraceData::Requests { times_s } if times_s == &vec![0.0, 1.0, 2.0]));
    let e = read::read(
        &p,
        &ReadOptions {
            reject_unsorted: true,
            ..ReadOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("out of order"), "{e}");
    // Empty file, unknown column, bad zone.
    assert!(
        read::read(&tmp_file("empty.csv", ""), &opts)
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    let e = read::read(
        &tmp_file("c.csv", "unix_s,requests\n0,1\n"),
        &ReadOptions {
            count_col: Some("hits".into()),
            ..ReadOptions::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("no column `hits`") && e.contains("unix_s, requests"),
        "{e}"
    );
    assert!(
        ReadOptions::default()
            .with_tz("Mars/Olympus")
            .unwrap_err()
            .contains("time zone")
    );
    // Prometheus answers: an error status, several series.
    let e = read::read(
        &tmp_file(
            "err.json",
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 5"}"#,
        ),
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("status `error`") && e.contains("parse error at char 5"),
        "{e}"
    );
    let two = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[0,"1"]]},{"metric":{"a":"2"},"values":[[0,"1"]]}]}}"#;
    let e = read::read(&tmp_file("two.json", two), &opts)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exactly one series, found 2"), "{e}");
    let one = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[100,"2"],[115,"4"],[145,"6"]]}]}}"#;
    let t = read::read(&tmp_file("one.json", one), &opts).unwrap();
    assert!(
        matches!(&t.data, TraceData::Binned { bin_s, counts } if *bin_s == 15.0 && counts == &vec![Some(30.0), Some(60.0), None, Some(90.0)])
    );
}

#[test]
fn access_logs_plain_and_gzip() {
    let log = "199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] \"GET /history/apollo/ HTTP/1.0\" 200 6245\n\
               unicomp6.unicomp.net - - [01/Jul/1995:00:00:06 -0400] \"GET /shuttle/countdown/ HTTP/1.0\" 200 3985\n\
               garbage line\n\
               burger.letters.com - - [01/Jul/1995:00:00:12 -0400] \"GET /images/NASA-logosmall.gif HTTP/1.0\" 304 0\n";
    let p = tmp_file("access.log", log);
    let t = read::read(&p, &ReadOptions::default()).unwrap();
    assert_eq!((t.report.rows, t.report.bad_lines), (3, 1));
    assert_eq!(t.report.bad_examples[0].0, 3);
    assert_eq!(t.start_unix_s, 804_571_201.0);
    let gz = p.with_extension("log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    std::io::Write::write_all(&mut enc, log.as_bytes()).unwrap();
    enc.finish().unwrap();
    let z = read::read(&gz, &ReadOptions::default()).unwrap();
    assert_eq!(z.total(), 3.0);
}

#[test]
fn transforms_and_interpolation() {
    let p = tmp_file("counts.txt", "10 20 30\n40\n");
    let mut t = read::read(&p, &ReadOptions::default()).unwrap();
    assert_eq!(t.total(), 100.0);
    t.compress(2.0);
    assert_eq!(t.span_s(), 2.0);
    let mut w = read::read(&p, &ReadOptions::default()).unwrap();
    w.window(1.0, 3.0);
    assert_eq!(w.total(), 50.0);
    w.shift(2.0);
    assert_eq!((w.total(), w.span_s()), (50.0, 4.0));
    let mut s = read::read(&p, &ReadOptions::default()).unwrap();
    s.scale_to_peak(8.0).unwrap();
    assert_eq!(s.total(), 20.0);
    let mut sp = read::read(&p, &ReadOptions::default()).unwrap();
    let other = read::read(&p, &ReadOptions::default()).unwrap();
    sp.splice(&other);
    assert_eq!((sp.total(), sp.span_s()), (200.0, 8.0));
    // Linear interpolation passes through the bin centres.
    let Workload::Open { schedule } = read::read(&p, &ReadOptions::default())
        .unwrap()
        .to_workload(Interpolation::Linear)
    else {
        panic!()
    };
    assert_eq!(
        (
            schedule.rate(0.5),
            schedule.rate(1.0),
            schedule.rate(3.9),
            schedule.rate(4.1)
        ),
        (10.0, 15.0, 40.0, 0.0)
    );
}

#[test]
fn per_request_attributes_map_to_work() {
    // Access logs keep status and bytes.
    let log = "a - - [01/Jul/1995:00:00:01 -0400] \"GET / HTTP/1.0\" 200 6245\nb - - [01/Jul/1995:00:00:02 -0400] \"GET /x HTTP/1.0\" 304 -\n";
    let p = tmp_file("attrs.log", log);
    let t = read::read(
        &p,
        &ReadOptions {
            attr: Some("bytes".into()),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(t.attrs, Some(vec![6245.0, 0.0]));
    let s = read::read(
        &p,
        &ReadOptions {
            attr: Some("status".into()),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(s.attrs, Some(vec![200.0, 304.0]));
    assert!(
        read::read(
            &p,
            &ReadOptions {
                attr: Some("agent".into()),
                ..ReadOptions::default()
            }
        )
        .is_err()
    );

    // Token counts of the Azure LLM trace drive each request's service time.
    let Some(dir) = traces_dir() else { return };
    let opts = ReadOptions {
        attr: Some("GeneratedTokens".into()),
        ..ReadOptions::default()
    };
    let mut t = read::read(
        &dir.join("azure-llm-inference-2023.code.requests.csv"),
        &opts,
    )
    .unwrap();
    t.window(0.0, 1200.0);
    let attrs = t.attrs.clone().unwrap();
    let n = attrs.len();
    assert_eq!(
        Some(n),
        match &t.data {
            TraceData::Requests { times_s } => Some(times_s.len()),
            _ => None,
        }
    );
    let mean_tokens = attrs.iter().sum::<f64>() / n as f64;
    let mut d = engine::DeploymentModel::new(
        "llm",
        engine::dist::DurationDist::Deterministic { value: 0.05 },
    )
    .unwrap();
    d.initial_replicas = 500;
    d.per_unit_s = 0.01;
    d.tokens_per_unit = 1.0;
    let model = engine::Model::single(d);
    let o = engine::run(
        &model,
        &t.to_workload(Interpolation::Constant),
        RunConfig {
            duration_s: 1300.0,
            ..RunConfig::default()
        },
    );
    let dd = &o.deployments[0];
    assert_eq!(
        dd.arrived as usize, n,
        "exact replay: one arrival per recorded request"
    );
    let want_ms = (0.05 + 0.01 * mean_tokens) * 1000.0;
    assert!(
        (dd.latency_ms.mean - want_ms).abs() / want_ms < 0.01,
        "mean latency {} ms, expected {want_ms} ms",
        dd.latency_ms.mean
    );
}

#[test]
fn a_request_type_column_picks_the_service_time_by_label() {
    let csv = "TIMESTAMP,kind\n2023-11-16 18:00:00,chat\n2023-11-16 18:00:01,code\n2023-11-16 18:00:02,chat\n2023-11-16 18:00:03,batch\n";
    let p = tmp_file("kinds.csv", csv);
    let t = read::read(
        &p,
        &ReadOptions {
            attr: Some("kind".into()),
            ..ReadOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        t.attr_labels,
        Some(vec![
            "chat".to_string(),
            "code".to_string(),
            "batch".to_string()
        ])
    );
    assert_eq!(t.attrs, Some(vec![0.0, 1.0, 0.0, 2.0]));
    let mut d = engine::DeploymentModel::new(
        "svc",
        engine::dist::DurationDist::Deterministic { value: 0.5 },
    )
    .unwrap();
    d.initial_replicas = 10;
    for (label, v) in [("chat", 0.1), ("code", 0.2)] {
        d.service_by_label.push((
            label.into(),
            engine::dist::DurationDist::Deterministic { value: v }
                .sampler()
                .unwrap(),
        ));
    }
    let model = engine::Model::single(d);
    let o = engine::run(
        &model,
        &t.to_workload(Interpolation::Constant),
        RunConfig {
            duration_s: 10.0,
            ..RunConfig::default()
        },
    );
    // chat 0.1 s twice, code 0.2 s, batch (no label entry) the default 0.5 s.
    assert_eq!(o.deployments[0].succeeded, 4);
    assert!(
        (o.deployments[0].latency_ms.mean - 225.0).abs() < 1.0,
        "{}",
        o.deployments[0].latency_ms.mean
    );
}

#[test]
fn traces_written_by_earlier_builds_still_read_and_write_the_same_bytes() {
    // Two hours of the NASA per-minute trace, imported by the build before the redesign:
    // its Parquet (zstd pages, written by another Parquet writer) and its CSV.
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/traces");
    let old = read::read(
        &data.join("nasa-2h-written-by-0.1-zstd.parquet"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!((old.report.rows, old.total()), (120, 6569.0));
    let TraceData::Binned { bin_s, .. } = old.data else {
        panic!("a binned trace")
    };
    assert_eq!(bin_s, 60.0);
    let tmp = std::env::temp_dir().join(format!("scaletwin-trace-old-{}", std::process::id()));
    let out = tmp.join("again.csv");
    read::write(&old, &out).unwrap();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(data.join("nasa-2h-written-by-0.1.csv")).unwrap(),
        "the canonical CSV is byte for byte what earlier builds wrote"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_ragged_csv_row_is_a_malformed_line_with_its_number() {
    let tmp = std::env::temp_dir().join(format!("scaletwin-trace-ragged-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let f = tmp.join("ragged.csv");
    std::fs::write(&f, "unix_s,requests\n0,5\n60,7,extra\n120,3\n").unwrap();
    let t = read::read(&f, &ReadOptions::default()).unwrap();
    assert_eq!((t.report.rows, t.report.bad_lines, t.total()), (2, 1, 8.0));
    assert_eq!(t.report.bad_examples[0].0, 3, "{:?}", t.report.bad_examples);
    assert!(
        t.report.bad_examples[0]
            .1
            .contains("3 fields where the header has 2")
    );
    let strict = ReadOptions {
        max_bad_lines: 0,
        ..ReadOptions::default()
    };
    let e = read::read(&f, &strict).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("ragged.csv"), "{e}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
