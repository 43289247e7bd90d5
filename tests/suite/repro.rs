//! Regression tests for the defects found by fuzzing and by a first-time user: each input
//! (copied into tests/data/repro) ends in a right answer or a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/repro")
}

/// Run the binary in tests/data/repro within the bounds every input must end in: 60 s and
/// 1 GB of address space (the defects include runs that never end and files that ask for
/// tens of gigabytes).
fn scaletwin(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000 && exec timeout 60 \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_scaletwin"))
        .args(args)
        .current_dir(data())
        .output()
        .expect("run scaletwin")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run the binary and check it refuses the input: exit 2 and a message saying `says`.
fn assert_refused(args: &[&str], says: &str) -> String {
    let o = scaletwin(args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {t}");
    assert!(t.contains(says), "{args:?}: no `{says}` in {t}");
    t
}

/// tests/data/repro/tune_deployments_bad.yaml (the demo model, a 3 x 4 grid, seeds 1 and 2)
/// without its bad `deployments`, with `edits` applied, written into `dir`.
fn experiment(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(data().join("tune_deployments_bad.yaml"))
        .unwrap()
        .replace(
            "model: demo",
            &format!("model: {}", data().join("demo").display()),
        )
        .replace("deployments: [nope]\n", "");
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-repro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_minimum_above_the_maximum_is_refused_naming_the_manifest_line() {
    let o = scaletwin(&[
        "simulate",
        "--model",
        "model_min_gt_max",
        "--duration",
        "600",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("model_min_gt_max/api.yaml:34: spec.minReplicaCount")
            && t.contains("minReplicaCount (50) is above maxReplicaCount (20)"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
    // The same through --set.
    assert_refused(
        &[
            "simulate",
            "--model",
            "demo",
            "--duration",
            "600",
            "--set",
            "manifest.api.spec.minReplicaCount=50",
        ],
        "minReplicaCount (50) is above maxReplicaCount",
    );
}

#[test]
fn a_sweep_that_samples_a_minimum_above_the_maximum_fails_those_configurations_only() {
    let out = out_dir("min-gt-max");
    let o = scaletwin(&[
        "tune",
        "tune_min_gt_max_random.yaml",
        "-o",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains("is above maxReplicaCount"), "{t}");
    // The analysis, with its failed configurations, reads back and the report is written.
    let a: scaletwin::tune::Analysis =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert!(
        a.rows
            .iter()
            .any(|r| r.error.is_some() && r.violation.is_infinite()),
        "no failed configuration among {} rows",
        a.rows.len()
    );
    assert!(out.join("report.html").exists(), "{t}");
}

#[test]
fn a_testbed_time_scale_it_cannot_honour_is_refused_before_it_starts() {
    for scale in ["1e-20", "0", "-1", "1e9", "NaN"] {
        let flag = format!("--time-scale={scale}");
        let o = scaletwin(&[
            "testbed",
            "--model",
            "demo",
            &flag,
            "--duration",
            "5s",
            "--listen",
            "127.0.0.1:0",
        ]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "--time-scale {scale}: {t}");
        assert!(t.contains("--time-scale"), "{t}");
    }
}

#[test]
fn deep_nesting_and_alias_bombs_end_in_a_clear_error() {
    for (file, says) in [
        (
            "manifest_deep_seq_stackoverflow.yaml",
            "nest more than 256 levels",
        ),
        ("billion_laughs.yaml", "aliases here copy more than"),
    ] {
        let o = scaletwin(&["lint", file]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(t.contains(&format!("{file}:")) && t.contains(says), "{t}");
    }
}

#[test]
fn two_requests_years_apart_are_summarised_without_a_bin_per_second() {
    for (file, span) in [
        ("trace_req_widegap_oom.csv", "4000000001 s"),
        ("trace_req_1900_2023_oom.csv", "3881520001 s"),
    ] {
        let o = scaletwin(&["trace", "info", file]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{file}: {t}");
        for line in [
            span,
            "requests       2",
            "peak 1 s       1.00 req/s",
            "peak 1 min     0.02 req/s",
            "busiest hour   from +0 s: 1 requests",
        ] {
            assert!(t.contains(line), "{file}: no `{line}` in\n{t}");
        }
    }
}

#[test]
fn a_repeated_axis_or_seed_is_refused_before_the_first_evaluation() {
    for (file, field, says) in [
        ("tune_dup_axis.yaml", "axes[2].path", "is an axis already"),
        ("tune_seeds_dup.yaml", "seeds[1]", "seed 1 is listed twice"),
    ] {
        let out = out_dir(file);
        let o = scaletwin(&["tune", file, "-o", out.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(
            t.contains(&format!("{file}: {field}: ")) && t.contains(says),
            "{t}"
        );
        assert!(
            !out.join("checkpoint.jsonl").exists(),
            "{file}: evaluations ran"
        );
    }
}

#[test]
fn a_file_ending_in_a_document_separator_is_valid() {
    for (file, objects) in [
        (
            "manifest_trailing_docsep_min.yaml",
            "0 ScaledObject(s), 0 HPA(s), 0 Deployment(s)",
        ),
        (
            "manifest_trailing_docsep_kedify.yaml",
            "4 ScaledObject(s), 0 HPA(s), 4 Deployment(s)",
        ),
    ] {
        let o = scaletwin(&["lint", file]);
        let t = text(&o);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{file}: {t}");
        assert!(
            t.contains(objects) && t.contains("0 error(s)"),
            "{file}: {t}"
        );
    }
    // Comment-only and null documents between objects are skipped too.
    let mut set = scaletwin::manifest::ManifestSet::default();
    scaletwin::manifest::load_str(
        Path::new("x.yaml"),
        "---\n# only a comment\n---\n~\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n",
        &mut set,
    )
    .unwrap();
    assert_eq!(set.skipped.len(), 1, "{set:?}");
}

/// `trace info --json` of a file in tests/data/repro, with its exit code and messages.
fn trace_info(args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let mut all = vec!["trace", "info", "--json"];
    all.extend_from_slice(args);
    let o = scaletwin(&all);
    let json = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o.status.code(), json, text(&o))
}

#[test]
fn traces_are_summarised_as_their_rows_say() {
    // (arguments, requests, span in s, mean req/s)
    let cases: [(&[&str], f64, f64, f64); 6] = [
        // A count column named on the command line is read as counts.
        (
            &[
                "trace_countcol_ignored.csv",
                "--time-col",
                "ts",
                "--count-col",
                "hits",
            ],
            15.0,
            3.0,
            5.0,
        ),
        // A quoted header is the same header.
        (&["trace_quoted_header.csv"], 15.0, 3.0, 5.0),
        // Prometheus samples out of order: sorted, each a rate over its 15 s step.
        (&["trace_prom_unsorted.json"], 90.0, 45.0, 2.0),
        // Three requests stamped within one second arrived within that second.
        (&["trace_clf_same_second.log"], 3.0, 1.0, 3.0),
        // A row whose count is bad is a missing bin, not evidence of a 2 s bin.
        (
            &["trace_binned_bad_row_changes_bin.csv"],
            8.0,
            3.0,
            8.0 / 3.0,
        ),
        // A ragged row is skipped and counted, the rest read.
        (&["trace_ragged_row_kills_read.csv"], 15.0, 3.0, 5.0),
    ];
    for (args, requests, span, mean) in cases {
        let (code, j, t) = trace_info(args);
        assert_eq!(code, Some(0), "{args:?}: {t}");
        assert_eq!(j["requests"], requests, "{args:?}: {t}");
        assert_eq!(j["span_s"], span, "{args:?}: {t}");
        let m = j["mean_rps"].as_f64().unwrap();
        assert!((m - mean).abs() < 1e-9, "{args:?}: mean {m}, not {mean}");
    }
    let (_, j, _) = trace_info(&["trace_binned_bad_row_changes_bin.csv"]);
    assert_eq!(j["missing_bins"], 1);
    assert_eq!(j["bad_lines"], 1);
    let (_, j, t) = trace_info(&["trace_ragged_row_kills_read.csv"]);
    assert_eq!(j["bad_lines"], 2);
    assert!(
        t.contains("trace_ragged_row_kills_read.csv:3: ")
            && t.contains("trace_ragged_row_kills_read.csv:5: 3 fields where the header has 2"),
        "{t}"
    );
}

#[test]
fn a_trace_shorter_than_a_window_has_no_peak_over_that_window() {
    // 45 s of 15 s samples (1, 2 and 3 req/s): there is no 1-minute peak, and the peak at
    // the trace's own resolution (3 req/s) is above its mean (2 req/s).
    let (code, j, t) = trace_info(&["trace_prom_short_peak_below_mean.json"]);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(j["peak_rps_1min"], serde_json::Value::Null, "{t}");
    assert_eq!(j["peak_to_mean"], 1.5, "{t}");
    let o = scaletwin(&["trace", "info", "trace_prom_short_peak_below_mean.json"]);
    assert!(text(&o).contains("peak 1 min     n/a (the trace is shorter)"));
}

#[test]
fn values_that_are_not_rates_dates_or_columns_are_refused() {
    let (code, _, t) = trace_info(&["trace_prom_negative.json"]);
    assert_eq!(code, Some(2), "{t}");
    for says in [
        "`NaN` is not a rate",
        "`+Inf` is not a rate",
        "`-1` is not a rate",
    ] {
        assert!(t.contains(says), "no `{says}` in {t}");
    }
    // 30 February is a bad line, not 2 March.
    let (code, j, t) = trace_info(&["trace_feb30.csv"]);
    assert_eq!(code, Some(0), "{t}");
    assert!(
        t.contains("trace_feb30.csv:2: time: 2023-02 has 28 days, not 30"),
        "{t}"
    );
    assert_eq!(
        (j["requests"].clone(), j["bad_lines"].clone()),
        (7.0.into(), 1.into())
    );
    // A count column that does not exist.
    let (code, _, t) = trace_info(&[
        "trace_countcol_ignored.csv",
        "--time-col",
        "ts",
        "--count-col",
        "nope",
    ]);
    assert_eq!(code, Some(2), "{t}");
    assert!(t.contains("no column `nope` (columns: ts, hits)"), "{t}");
}

#[test]
fn a_stray_timestamp_in_a_binned_trace_is_refused_naming_its_line() {
    for (cmd, file, says) in [
        (
            "info",
            "trace_import_0253.csv",
            "between line 300 (time 1700158921) and line 41",
        ),
        (
            "import",
            "trace_import_0253.csv",
            "between line 300 (time 1700158921) and line 41",
        ),
        (
            "import",
            "trace_import_0118.csv",
            "between line 26 (time -683863560) and line 204",
        ),
    ] {
        let out = out_dir(file).with_extension("parquet");
        let o = if cmd == "info" {
            scaletwin(&["trace", "info", file])
        } else {
            scaletwin(&["trace", "import", file, "-o", out.to_str().unwrap()])
        };
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd} {file}: {t}");
        assert!(
            t.contains(says) && t.contains("almost all of them missing"),
            "{t}"
        );
        assert!(!out.exists());
    }
    // Per-request rows far apart cost memory by the rows, not the span (was 27 GB).
    let (code, j, t) = trace_info(&["trace_info_0051.csv"]);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(j["requests"], 200.0);
}

#[test]
fn a_small_gzip_of_blank_lines_ends_at_once() {
    // 1 MB of gzip, 1 GB of newlines: skipped a buffer at a time (was 28 s, a pass per line).
    let started = std::time::Instant::now();
    let o = scaletwin(&["trace", "info", "trace_gzip_1GB_blank_lines.log.gz"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(t.contains("no data rows"), "{t}");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_run_beyond_what_a_machine_can_do_is_refused_with_the_figure_it_would_need() {
    let dir = out_dir("workloads");
    std::fs::create_dir_all(&dir).unwrap();
    let users = dir.join("users.yaml");
    std::fs::write(&users, "loop: closed\nusers: 100000000\nthink_s: 1\n").unwrap();
    let stress = dir.join("stress.yaml");
    std::fs::write(
        &stress,
        "pattern: stress\nstart: 1\nincrease_per_min: 1e9\n",
    )
    .unwrap();
    let out = dir.join("out");
    let (o, u, s) = (
        out.to_str().unwrap(),
        users.to_str().unwrap(),
        stress.to_str().unwrap(),
    );
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "simulate",
                "--model",
                "demo",
                "--rate",
                "1e9",
                "--duration",
                "10",
                "-o",
                o,
            ],
            "up to 1.000e10 requests in 10 s",
        ),
        (
            &[
                "simulate",
                "--model",
                "model_replicas_1e8",
                "--duration",
                "600",
                "-o",
                o,
            ],
            "model_replicas_1e8/service.yaml: deployments.api.replicas: 100000000 replicas is above 150000",
        ),
        (
            &[
                "simulate",
                "--model",
                "model_sync_1e-6",
                "--duration",
                "600",
                "-o",
                o,
            ],
            "controller.sync_period_s of 0.000001 s ticks 600000000 times",
        ),
        (
            &[
                "simulate",
                "--model",
                "demo",
                "--workload",
                u,
                "--duration",
                "600",
                "-o",
                o,
            ],
            "100000000 users in a closed loop is above the 1000000",
        ),
        (
            &["simulate", "--model", "demo", "--workload", s, "-o", o],
            "the workload asks for up to",
        ),
    ];
    for (args, says) in cases {
        assert_refused(args, says);
        assert!(!out.join("outcome.json").exists(), "{args:?} ran");
    }
    // A maximum beyond any cluster, through --set.
    assert_refused(
        &[
            "simulate",
            "--model",
            "demo",
            "--set",
            "manifest.api.spec.maxReplicaCount=100000000",
            "-o",
            o,
        ],
        "spec.maxReplicaCount: maxReplicaCount (100000000) is above 150000",
    );
}

#[test]
fn a_sweep_that_cannot_run_is_refused_before_its_first_evaluation() {
    let dir = out_dir("seeds");
    std::fs::create_dir_all(&dir).unwrap();
    // 100,000 seeds: the configurations are few, the evaluations are not.
    let seeds: Vec<String> = (1..=100_000).map(|s| s.to_string()).collect();
    let seeds = format!("seeds: [{}]", seeds.join(", "));
    let many = experiment(&dir, "many_seeds.yaml", &[("seeds: [1, 2]", &seeds)]);
    let many = many.to_str().unwrap().to_string();
    for (file, field, says) in [
        (
            "tune_duration_1e12.yaml",
            "workloads[0] (base): ",
            "a duration of 1000000000000 s (11574074 days) is beyond the 400 days",
        ),
        (
            "tune_value_bad.yaml",
            "axes[0]: ",
            "threshold = `abc`: demo/api.yaml:48: spec.triggers[0].metadata.threshold: expected a number",
        ),
        (
            "tune_deployments_bad.yaml",
            "deployments: ",
            "deployment nope is not in the model (deployments: api)",
        ),
        (
            many.as_str(),
            "seeds: ",
            "12 configurations x 1 workloads x 100000 seeds = 1200000 evaluations, over max_evaluations 100000",
        ),
    ] {
        let out = out_dir(&format!("refused-{}", field.len()));
        let o = scaletwin(&["tune", file, "-o", out.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(t.contains(field) && t.contains(says), "{file}: {t}");
        assert!(
            !out.join("checkpoint.jsonl").exists(),
            "{file}: evaluations ran"
        );
    }
}

#[test]
fn foreign_checkpoint_lines_are_dropped_and_a_missing_timeline_is_left_out() {
    let dir = out_dir("ckpt");
    std::fs::create_dir_all(&dir).unwrap();
    let x = experiment(&dir, "x.yaml", &[("duration_s: 1800", "duration_s: 300")]);
    let out = dir.join("out");
    let (x, o) = (x.to_str().unwrap(), out.to_str().unwrap());
    let r = scaletwin(&["tune", x, "-o", o]);
    assert!(matches!(r.status.code(), Some(0 | 1)), "{}", text(&r));
    // A line naming configuration 999 and one naming seed 77, as a hand edit or another
    // experiment's run would leave them.
    let ck = out.join("checkpoint.jsonl");
    let text_ck = std::fs::read_to_string(&ck).unwrap();
    let line = text_ck.lines().nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    let mut bad_config = v.clone();
    bad_config["config"] = 999.into();
    bad_config["baseline"] = false.into();
    let mut bad_seed = v.clone();
    bad_seed["seed"] = 77.into();
    std::fs::write(&ck, format!("{text_ck}{bad_config}\n{bad_seed}\n")).unwrap();
    let r = scaletwin(&["tune", x, "-o", o]);
    let t = text(&r);
    assert!(matches!(r.status.code(), Some(0 | 1)), "{t}");
    assert!(
        t.contains("2 lines name a configuration, seed or workload this experiment does not have"),
        "{t}"
    );
    assert!(
        !std::fs::read_to_string(&ck)
            .unwrap()
            .contains("\"seed\":77")
    );
    // The report of a sweep whose baseline timeline lost its time series.
    std::fs::remove_file(out.join("timelines/baseline/timeseries.csv")).unwrap();
    let r = scaletwin(&["report", o]);
    let t = text(&r);
    assert_eq!(r.status.code(), Some(0), "{t}");
    assert!(
        t.contains("the current settings timeline is left out"),
        "{t}"
    );
}

#[test]
fn duplicate_keys_and_unquoted_trigger_metadata_are_findings() {
    // The last minReplicaCount (1) counts, as in Kubernetes: no min-above-max.
    let o = scaletwin(&["lint", "manifest_duplicate_keys.yaml"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(
        t.contains("manifest_duplicate_keys.yaml:9: warning[ST011 duplicate-key] duplicate key spec.minReplicaCount (first at line 7)"),
        "{t}"
    );
    assert!(!t.contains("ST007"), "{t}");
    let o = scaletwin(&["lint", "manifest_unquoted_metadata_number.yaml"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("manifest_unquoted_metadata_number.yaml:12: error[ST012 unquoted-trigger-metadata] spec.triggers[0].metadata.threshold: `40` is not a string")
            && t.contains("quote it (threshold: \"40\")"),
        "{t}"
    );
}

#[test]
fn a_value_reached_through_an_alias_is_not_patched_and_an_anchor_survives_a_patch() {
    assert_refused(
        &[
            "patch",
            "manifest_alias_patch.yaml",
            "--set",
            "spec.cooldownPeriod=30",
            "-o",
            "-",
        ],
        "manifest_alias_patch.yaml:9: spec.cooldownPeriod: the value here is an alias of the one anchored at line 7",
    );
    let o = scaletwin(&[
        "patch",
        "manifest_alias_patch.yaml",
        "--set",
        "spec.minReplicaCount=3",
        "-o",
        "-",
    ]);
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        t.contains("  minReplicaCount: &m 3\n") && t.contains("  cooldownPeriod: *m\n"),
        "{t}"
    );
}

#[test]
fn a_setting_on_a_name_two_objects_share_reaches_the_one_it_names_or_is_refused() {
    // The demo model with its Deployment and ScaledObject `api` in two files, the Deployment
    // first (it was the one patched, and its unknown fields were accepted: a sweep of
    // `manifest.api.spec.maxReplicaCount` varied nothing).
    let dir = out_dir("split");
    std::fs::create_dir_all(&dir).unwrap();
    let api = std::fs::read_to_string(data().join("demo/api.yaml")).unwrap();
    let (deployment, scaled_object) = api.split_once("\n---\n").unwrap();
    std::fs::write(dir.join("a-deployment.yaml"), deployment).unwrap();
    std::fs::write(dir.join("b-scaledobject.yaml"), scaled_object).unwrap();
    std::fs::copy(data().join("demo/service.yaml"), dir.join("service.yaml")).unwrap();
    let model = dir.to_str().unwrap();
    let out = dir.join("out");
    let o = out.to_str().unwrap();
    let simulate = |set: &str| {
        scaletwin(&[
            "simulate",
            "--model",
            model,
            "--duration",
            "600",
            "--set",
            set,
            "-o",
            o,
        ])
    };
    let max_replicas = |set: &str| {
        let r = simulate(set);
        assert_eq!(r.status.code(), Some(0), "{set}: {}", text(&r));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        v.to_string()
    };
    // The ScaledObject's field reaches the ScaledObject: capping at its minimum, 2, changes the run.
    assert_ne!(
        max_replicas("manifest.api.spec.maxReplicaCount=2"),
        max_replicas("manifest.api.spec.maxReplicaCount=20")
    );
    assert_eq!(
        max_replicas("manifest.scaledobject/api.spec.maxReplicaCount=2"),
        max_replicas("manifest.api.spec.maxReplicaCount=2")
    );
    let t = text(&simulate("manifest.api.metadata.labels.team=x"));
    assert!(
        t.contains("2 objects are named api; name the one you mean: manifest.deployment/api.metadata.labels.team")
            && t.contains("manifest.scaledobject/api.metadata.labels.team"),
        "{t}"
    );
    assert_refused(
        &[
            "simulate",
            "--model",
            model,
            "--set",
            "manifest.deployment/api.spec.maxReplicaCount=1",
            "-o",
            o,
        ],
        "spec.maxReplicaCount: unknown field",
    );
    assert_refused(
        &[
            "simulate",
            "--model",
            model,
            "--set",
            "manifest.pod/api.spec.x=1",
            "-o",
            o,
        ],
        "unknown kind `pod`",
    );
}

#[test]
fn trace_windows_take_datetimes_and_info_names_the_busiest_day() {
    // Three days of hourly counts from 2023-03-01 00:00 UTC, the second day the busiest.
    let dir = out_dir("days");
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("unix_s,requests\n");
    for h in 0..72u64 {
        let n = if (24..48).contains(&h) { 20 } else { 10 };
        csv.push_str(&format!("{},{n}\n", 1_677_628_800 + h * 3600));
    }
    let f = dir.join("days.csv");
    std::fs::write(&f, csv).unwrap();
    let f = f.to_str().unwrap();
    let (code, j, t) = trace_info(&[f]);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(
        (
            j["busiest_day_start_s"].clone(),
            j["busiest_day_requests"].clone()
        ),
        (86_400.0.into(), 480.0.into())
    );
    let shown = text(&scaletwin(&["trace", "info", f]));
    assert!(
        shown.contains("busiest day    from +86400 s: 480 requests"),
        "{shown}"
    );
    // The same window by datetime (UTC, or with its own zone) and by offset.
    for (from, to) in [
        ("2023-03-02 00:00:00", "2023-03-03 00:00:00"),
        ("2023-03-01T19:00:00-05:00", "172800"),
        ("86400", "172800"),
    ] {
        let (code, j, t) = trace_info(&[f, "--trace-from", from, "--trace-to", to]);
        assert_eq!(code, Some(0), "{from}: {t}");
        assert_eq!(
            (j["requests"].clone(), j["start_unix_s"].clone()),
            (480.0.into(), 1_677_715_200.0.into()),
            "{from}"
        );
    }
    let (code, _, t) = trace_info(&[f, "--trace-from", "2023-02-30 00:00:00"]);
    assert_eq!(code, Some(2), "{t}");
    assert!(
        t.contains("--trace-from 2023-02 has 28 days, not 30"),
        "{t}"
    );
}

#[test]
fn a_corrupt_parquet_trace_is_an_error_not_a_panic() {
    // Found by the mutation harness: the parquet crate panics on this file.
    let t = assert_refused(
        &["trace", "info", "trace_parquet_corrupt_dict.parquet"],
        "trace_parquet_corrupt_dict.parquet: the Parquet file is corrupt",
    );
    assert!(!t.contains("panicked"), "{t}");
}

#[test]
fn two_requests_a_billion_years_apart_are_summarised_at_once() {
    // Found by the mutation harness: the per-minute dispersion walked every empty minute
    // (1.7e13 of them) and never ended.
    let started = std::time::Instant::now();
    let (code, j, t) = trace_info(&["trace_req_span_1e15.csv"]);
    assert_eq!(code, Some(0), "{t}");
    assert_eq!(j["requests"], 2.0);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}
