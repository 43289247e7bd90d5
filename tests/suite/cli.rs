//! End-to-end tests of the `scaletwin` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common;

fn scaletwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lint_amas_reports_the_cooldown_and_average_value_pitfalls() {
    for args in [vec!["lint"], vec!["lint", "models/amas/"]] {
        let o = scaletwin(&args);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "warnings only: {args:?}: {out}{err}"
        );
        let strict: Vec<&str> = args.iter().copied().chain(["--strict"]).collect();
        assert_eq!(
            scaletwin(&strict).status.code(),
            Some(1),
            "--strict fails on warnings"
        );
        let cooldown = out
            .lines()
            .find(|l| l.contains("ST001") && l.contains("orchestrator.yaml"))
            .expect("cooldown finding");
        assert!(
            cooldown.contains("cooldownPeriod 180s has no effect"),
            "{cooldown}"
        );
        let avg = out
            .lines()
            .find(|l| l.contains("ST002"))
            .expect("AverageValue finding");
        assert!(
            avg.contains("orchestrator.yaml") && avg.contains("p95_latency"),
            "{avg}"
        );
        assert!(out.contains("ScaledObject amas-prod/amas-orchestrator"));
        assert!(
            out.contains("3 ScaledObject(s), 0 HPA(s), 3 Deployment(s)"),
            "{out}"
        );
    }
}

#[test]
fn lint_exit_codes_follow_severity() {
    let d = tmp("exit");
    let clean = d.join("clean.yaml");
    std::fs::write(
        &clean,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  maxReplicaCount: 5\n  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n",
    )
    .unwrap();
    let o = scaletwin(&["lint", clean.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    // Only a warning: passes by default, fails with --strict.
    let warn = d.join("warn.yaml");
    std::fs::write(
        &warn,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  minReplicaCount: 1\n  maxReplicaCount: 5\n  cooldownPeriod: 60\n  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n",
    )
    .unwrap();
    assert_eq!(
        scaletwin(&["lint", warn.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        scaletwin(&["lint", "--strict", warn.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // Unreadable input: exit 2 with the file and line named.
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  cooldownPeriod: -5\n  triggers: []\n").unwrap();
    let o = scaletwin(&["lint", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("bad.yaml:8: spec.cooldownPeriod: must be >= 0 (found `-5`)"),
        "{err}"
    );
    let o = scaletwin(&["lint", d.join("missing.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read"));
}

#[test]
fn lint_json_and_rule_list() {
    let o = scaletwin(&["lint", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"ST001") && ids.contains(&"ST002"), "{ids:?}");
    let o = scaletwin(&["lint", "--list"]);
    assert_eq!(o.status.code(), Some(0));
    // Ten rules on manifests, four on a run (`--with-run`).
    let list = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(list.lines().count(), 14, "{list}");
    assert!(
        list.contains("RN001  trigger-on-unconsumed-queue"),
        "{list}"
    );
}

#[test]
fn patch_prints_a_diff_and_writes_atomically() {
    let d = tmp("patch");
    let file = d.join("worker.yaml");
    std::fs::copy("models/amas/worker.yaml", &file).unwrap();
    let out = d.join("patched.yaml");
    let o = scaletwin(&[
        "patch",
        file.to_str().unwrap(),
        "--set",
        "spec.triggers[name=worker_jobs].metadata.listLength=10",
        "--set",
        "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds=120",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        stdout.contains("-        listLength: \"8\"\n+        listLength: \"10\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+          stabilizationWindowSeconds: 120"),
        "{stdout}"
    );
    let patched = std::fs::read_to_string(&out).unwrap();
    assert!(patched.contains("listLength: \"10\""));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        include_str!("../../models/amas/worker.yaml"),
        "the input is untouched without --in-place"
    );
    // A patch that would make the object invalid is refused and nothing is written.
    let o = scaletwin(&[
        "patch",
        file.to_str().unwrap(),
        "--set",
        "spec.pollingInterval=-1",
        "--in-place",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("spec.pollingInterval"),
        "{:?}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        include_str!("../../models/amas/worker.yaml")
    );
    let o = scaletwin(&["patch", file.to_str().unwrap(), "--set", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn simulate_writes_its_results_and_summary() {
    let out = tmp("simulate");
    let o = scaletwin(&[
        "simulate",
        "--duration",
        "2h",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    for needle in [
        "amas-orchestrator",
        "amas-worker",
        "amas-research-agent",
        "p95",
        "pod-hours",
        "SLO (amas-orchestrator)",
        "PASS",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from:\n{stdout}"
        );
    }
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("outcome.json")).unwrap()).unwrap();
    assert_eq!(outcome["format_version"], 1);
    assert_eq!(outcome["seed"], 3);
    assert_eq!(outcome["deployments"].as_array().unwrap().len(), 3);
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert!(csv.starts_with("t_s,deployment,offered_rps,desired_replicas"));
    assert_eq!(csv.lines().count(), 1 + 3 * 120);
    let decisions = std::fs::read_to_string(out.join("decisions.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(decisions.lines().next().unwrap()).unwrap();
    assert!(first["reason"].as_str().unwrap().starts_with("t="));
    // No temporary files are left behind.
    assert!(
        std::fs::read_dir(&out).unwrap().all(|e| !e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.'))
    );
    // Same seed, same bytes.
    let out2 = tmp("simulate2");
    scaletwin(&[
        "simulate",
        "--duration",
        "2h",
        "--seed",
        "3",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(out.join("outcome.json")).unwrap(),
        std::fs::read(out2.join("outcome.json")).unwrap()
    );
}

#[test]
fn simulate_rejects_bad_options_with_exit_2() {
    for (args, want) in [
        (vec!["simulate", "--duration=-5m"], "not a duration"),
        (vec!["simulate", "--duration", "soon"], "not a duration"),
        (
            vec![
                "simulate",
                "--set",
                "model.deployments.amas-worker.serving.concurency=4",
            ],
            "unknown field `concurency`",
        ),
        (vec!["simulate", "--set", "nonsense"], "expected PATH=VALUE"),
        (vec!["simulate", "--model", "models/nope"], "service.yaml"),
        (
            vec!["simulate", "--deployment", "amas-worker"],
            "entry deployment amas-orchestrator must be among",
        ),
    ] {
        let o = scaletwin(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: `{want}` not in {err}");
    }
}

#[test]
fn simulate_runs_an_oracle_model_folder() {
    let out = tmp("oracle");
    let o = scaletwin(&[
        "simulate",
        "--model",
        "models/oracles/mmc-4",
        "--duration",
        "20000",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let outcome: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("outcome.json")).unwrap()).unwrap();
    let w = outcome["deployments"][0]["latency_ms"]["mean"]
        .as_f64()
        .unwrap()
        / 1000.0;
    assert!(
        (w - 1.7455).abs() / 1.7455 < 0.1,
        "M/M/4 mean time in system {w}"
    );
}

#[test]
fn trace_commands_summarise_import_and_reject_bad_files() {
    let d = tmp("trace");
    let counts = d.join("counts.txt");
    std::fs::write(&counts, "1 2 3 4\n5 0 0 6\n").unwrap();
    let o = scaletwin(&["trace", "info", counts.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("requests       21") && out.contains("peak 1 s       6.00 req/s"),
        "{out}"
    );
    let json = scaletwin(&["trace", "info", counts.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["requests"], 21.0);
    let pq = d.join("counts.parquet");
    let o = scaletwin(&[
        "trace",
        "import",
        counts.to_str().unwrap(),
        "-o",
        pq.to_str().unwrap(),
        "--trace-scale",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    let o = scaletwin(&["trace", "info", pq.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["requests"], 42.0);
    let o = scaletwin(&[
        "simulate",
        "--trace",
        counts.to_str().unwrap(),
        "--trace-compress",
        "0.01",
        "--out",
        d.join("sim").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(
        text(&o).0.contains("0.2 h simulated"),
        "the replay lasts as long as the (stretched) trace: {}",
        text(&o).0
    );
    // Bad input: exit 2 and a message naming the file and the problem.
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "unix_s,requests\n0,1\n1,x\n2,y\n3,z\n").unwrap();
    for (args, want) in [
        (
            vec![
                "trace",
                "info",
                bad.to_str().unwrap(),
                "--max-bad-lines",
                "2",
            ],
            "more than 2 malformed lines",
        ),
        (
            vec!["trace", "info", d.join("none.csv").to_str().unwrap()],
            "cannot read",
        ),
        (
            vec![
                "trace",
                "info",
                bad.to_str().unwrap(),
                "--count-col",
                "hits",
            ],
            "no column `hits`",
        ),
        (
            vec!["trace", "info", bad.to_str().unwrap(), "--tz", "Mars"],
            "--tz",
        ),
        (
            vec![
                "simulate",
                "--trace",
                bad.to_str().unwrap(),
                "--trace-peak=-3",
            ],
            "--trace-peak -3: must be > 0",
        ),
    ] {
        let o = scaletwin(&args);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: `{want}` not in {err}");
    }
    let o = scaletwin(&["trace", "info", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        text(&o)
            .1
            .contains("bad.csv:3: requests: `x` is not a count"),
        "{}",
        text(&o).1
    );
}

/// A small M/M/c model and an experiment over its replica count.
fn tune_fixture(name: &str) -> (PathBuf, PathBuf) {
    let d = tmp(name);
    common::write_mmc_model(&d.join("model"), 20_000);
    let x = d.join("exp.yaml");
    std::fs::write(
        &x,
        "format_version: 1\nname: cli-sweep\nmodel: model\nseeds: [1, 2, 3]\nload_margin: 0.1\nspike_check: false\naxes:\n  - path: manifest.deployment/server.spec.replicas\n    range: {from: '4', to: '8', step: '1'}\nconstraints: {p95_ms: 3300, success_rate: 0.99}\n",
    )
    .unwrap();
    (d, x)
}

#[test]
fn an_experiment_with_no_workload_that_must_hold_gets_the_spike_check() {
    let (d, x) = tune_fixture("tune-spike");
    let text_x = std::fs::read_to_string(&x)
        .unwrap()
        .replace("spike_check: false\n", "seeds: [1]\n")
        .replace("seeds: [1, 2, 3]\n", "")
        .replace("from: '4', to: '8'", "from: '5', to: '9'");
    std::fs::write(&x, text_x).unwrap();
    let out = d.join("out");
    let o = scaletwin(&["tune", x.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{stdout}{stderr}");
    let evals = std::fs::read_to_string(out.join("evaluations.csv")).unwrap();
    let spike = evals
        .lines()
        .filter(|l| l.contains(",spike-check,"))
        .count();
    let scenario = evals.lines().filter(|l| l.contains(",scenario,")).count();
    assert!(spike > 0 && spike == scenario, "{evals}");
    // The x3 spikes of 2.5 req/s need more servers than the steady load: the check binds.
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    let bindings: Vec<String> = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["binding"].as_str().map(str::to_string))
        .collect();
    assert!(
        bindings.iter().any(|b| b.contains("under spike-check")),
        "{bindings:?}"
    );
}

// Exit codes by kind of failure: a results folder that cannot be written is a failure at
// run time (3), a folder with nothing to report on is bad input (2).
#[test]
fn a_results_folder_that_cannot_be_written_exits_3_and_bad_input_exits_2() {
    let (d, x) = tune_fixture("tune-io");
    let blocked = d.join("a-file");
    std::fs::write(&blocked, "not a folder").unwrap();
    let out = blocked.join("out");
    let o = scaletwin(&["tune", x.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains(&out.display().to_string()), "{stderr}");
    let o = scaletwin(&["report", d.join("nothing-here").to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("not a folder"), "{stderr}");
}

#[test]
fn tune_exits_1_when_no_configuration_meets_the_constraints() {
    // One or two servers for 2.5 req/s of 1-s work: overloaded whatever the setting.
    let (d, x) = tune_fixture("tune-none");
    let text_x = std::fs::read_to_string(&x)
        .unwrap()
        .replace("from: '4', to: '8'", "from: '1', to: '2'");
    std::fs::write(&x, text_x).unwrap();
    let out = d.join("out");
    let o = scaletwin(&["tune", x.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("closest: configuration"), "{stdout}");
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert!(a["recommendation"].is_null(), "{a}");
}

#[test]
fn tune_recommends_writes_results_and_resumes() {
    let (d, x) = tune_fixture("tune");
    let out = d.join("out");
    let args = ["tune", x.to_str().unwrap(), "-o", out.to_str().unwrap()];
    let o = scaletwin(&args);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("Recommended: configuration"), "{stdout}");
    assert!(stdout.contains("against the current settings"), "{stdout}");
    for f in [
        "checkpoint.jsonl",
        "evaluations.csv",
        "configs.csv",
        "analysis.json",
        "recommended.diff",
        "manifests/server.yaml",
        "summary.md",
        "summary.json",
    ] {
        assert!(out.join(f).exists(), "{f}: {stdout}");
    }
    let a: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert_eq!(a["format_version"], 1);
    assert!(a["recommendation"]["feasible"].as_bool().unwrap());
    // `report` regenerates the summary from the folder alone; an empty folder is refused.
    std::fs::remove_file(out.join("summary.md")).unwrap();
    let o = scaletwin(&["report", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    assert!(out.join("summary.md").exists());
    let o = scaletwin(&["report", d.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("missing analysis.json"), "{err}");
    // Run again: everything comes from the checkpoint.
    let o = scaletwin(&args);
    let (stdout, stderr) = text(&o);
    assert!(
        stderr.contains("resuming:") && stdout.contains("(0 run now)"),
        "{stdout}{stderr}"
    );
    // --resume without a checkpoint, a bad shard, a missing experiment: usage errors.
    let none = d.join("none");
    for bad in [
        vec![
            "tune",
            x.to_str().unwrap(),
            "-o",
            none.to_str().unwrap(),
            "--resume",
        ],
        vec!["tune", x.to_str().unwrap(), "--shard", "3/3"],
        vec!["tune", "no/such/experiment.yaml"],
    ] {
        let o = scaletwin(&bad);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

#[test]
fn tune_shards_merge_into_the_whole_and_print_an_indexed_job() {
    let (d, x) = tune_fixture("shards");
    let xs = x.to_str().unwrap();
    let whole = d.join("whole");
    assert_eq!(
        scaletwin(&["tune", xs, "-o", whole.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let mut shards = Vec::new();
    for i in 0..2 {
        let s = d.join(format!("s{i}"));
        let o = scaletwin(&[
            "tune",
            xs,
            "--shard",
            &format!("{i}/2"),
            "-o",
            s.to_str().unwrap(),
        ]);
        let (stdout, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
        assert!(stdout.contains(&format!("shard {i}/2")), "{stdout}");
        shards.push(s.to_str().unwrap().to_string());
    }
    let merged = d.join("merged");
    let mut args = vec!["merge", xs];
    args.extend(shards.iter().map(|s| s.as_str()));
    args.extend(["-o", merged.to_str().unwrap()]);
    let o = scaletwin(&args);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{stdout}{stderr}");
    for f in ["configs.csv", "evaluations.csv", "analysis.json"] {
        assert_eq!(
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
            "{f}: sharded + merged == whole"
        );
    }
    let o = scaletwin(&["tune", xs, "--k8s-job", "4"]);
    let (job, _) = text(&o);
    assert_eq!(o.status.code(), Some(0));
    for want in [
        "kind: Job",
        "completionMode: Indexed",
        "completions: 4",
        "--shard \"${JOB_COMPLETION_INDEX}/4\"",
        "claimName: scaletwin-results",
    ] {
        assert!(job.contains(want), "{want}: {job}");
    }
    let mut set = scaletwin::manifest::ManifestSet::default();
    scaletwin::manifest::load_str(std::path::Path::new("job.yaml"), &job, &mut set)
        .expect("the Job is valid YAML");
}

#[test]
fn a_prometheus_that_does_not_answer_exits_3_and_a_bad_time_exits_2() {
    // A loopback port nobody listens on any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = tmp("trace-unreachable").join("t.csv");
    let args = |start: &'static str| {
        vec![
            "trace".to_string(),
            "import".into(),
            "--prometheus".into(),
            url.clone(),
            "--query".into(),
            "sum(rate(http_requests_total[1m]))".into(),
            "--start".into(),
            start.into(),
            "--end".into(),
            "1700003600".into(),
            "-o".into(),
            out.display().to_string(),
        ]
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        scaletwin(&a)
    };
    let o = run(args("1700000000"));
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
    assert!(!out.exists());
    let o = run(args("yesterday-ish"));
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("--start"), "{stderr}");
}

#[test]
fn loadtest_help_shows_the_open_loops_connection_limit() {
    for cmd in ["loadtest", "validate"] {
        let out = scaletwin(&[cmd, "--help"]);
        let (text, _) = text(&out);
        let limit = scaletwin::loadtest::DEFAULT_MAX_CONNECTIONS.to_string();
        let line = text
            .split("--max-connections")
            .nth(1)
            .unwrap_or_else(|| panic!("{cmd} --help has no --max-connections:\n{text}"));
        assert!(
            line[..line.find("\n      --").unwrap_or(line.len())]
                .contains(&format!("default {limit}")),
            "{cmd} --help must show the default limit {limit}:\n{text}"
        );
        assert!(text.contains("--time-scale"), "{text}");
    }
}
